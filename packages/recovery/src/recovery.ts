import { asCommander, type Commander, type RedisClientLike } from '@tributary/core';
import {
  type FailedDelivery,
  type FailureHandler,
  FailureKind,
  type FailureOutcome,
  type WorkerHandle,
} from '@tributary/consumer-group';
import { backoffDelay } from './backoff.js';
import { type DeadLetter, letterFromMove } from './dead-letter-entry.js';
import { DeadLetterReason, type DeadLetterReasonValue } from './dead-letter-field.js';
import { moveToDeadLetter, type MoveRequest } from './dead-letter-script.js';
import { describeError } from './describe-error.js';
import { type LoopHost, ReclaimLoop } from './reclaim-loop.js';
import { emitRecoveryEvent } from './recovery-events.js';
import { type RecoveryOptions, type ResolvedRecoveryOptions, resolveRecoveryOptions } from './recovery-options.js';
import { scheduleRetry } from './retry-script.js';

/**
 * Recovery for consumer-group workers: pass it as a worker's `failureHandler`. It implements
 * the worker's {@link FailureHandler} interface and nothing else of the worker.
 */
export interface Recovery extends FailureHandler {
  /** The options in force, defaults applied. */
  readonly options: ResolvedRecoveryOptions;
  /** The delay before the next attempt after `deliveries` deliveries (jittered; capped at `claimIdleMs`). */
  backoffFor(deliveries: number): number;
  /**
   * Decides what happens to a failed delivery: dead-letter it (malformed, explicit, or
   * `maxDeliveries` reached) or leave it pending and make it due for reclaim after its backoff.
   */
  onFailure(delivery: FailedDelivery): Promise<FailureOutcome>;
  /** Starts the reclaim loop for a worker; the returned function stops it. */
  attach(worker: WorkerHandle): () => Promise<void>;
}

const MALFORMED_REASON: Partial<Record<string, DeadLetterReasonValue>> = {
  [FailureKind.Decode]: DeadLetterReason.Decode,
  [FailureKind.Validation]: DeadLetterReason.Validation,
  [FailureKind.UnhandledType]: DeadLetterReason.UnhandledType,
};

function workerKey(topic: string, group: string, consumer: string): string {
  return `${topic}\u0000${group}\u0000${consumer}`;
}

class RecoveryHandler implements Recovery, LoopHost {
  private readonly loops = new Map<string, ReclaimLoop>();

  constructor(
    readonly commander: Commander,
    readonly options: ResolvedRecoveryOptions,
  ) {}

  backoffFor(deliveries: number): number {
    return Math.min(backoffDelay(this.options.backoff, deliveries), this.options.claimIdleMs);
  }

  attach(worker: WorkerHandle): () => Promise<void> {
    const key = workerKey(worker.topic.name, worker.group, worker.consumer);
    const loop = new ReclaimLoop(this, worker);
    this.loops.set(key, loop);
    loop.start();
    return async () => {
      await loop.stop();
      if (this.loops.get(key) === loop) this.loops.delete(key);
    };
  }

  async onFailure(d: FailedDelivery): Promise<FailureOutcome> {
    const worker = this.loops.get(workerKey(d.topic.name, d.group, d.consumer))?.worker;
    const malformed = MALFORMED_REASON[d.kind];
    if (d.kind === FailureKind.Deleted) {
      const recorded: string[] = [];
      try {
        return await this.moveFailed(d, DeadLetterReason.Deleted, worker, undefined, recorded);
      } finally {
        // Loud even if the record could not be written (that error reaches the worker too).
        if (worker) emitRecoveryEvent(worker, 'lost', { group: d.group, consumer: d.consumer, streamIds: [d.streamId], reason: DeadLetterReason.Deleted, deadLetterIds: recorded });
      }
    }
    if (malformed && this.options.malformed === 'dead-letter') return this.moveFailed(d, malformed, worker);
    if (d.kind === FailureKind.DeadLetterRequested) {
      return this.moveFailed(d, DeadLetterReason.Explicit, worker, { name: 'DeadLetterRequested', message: d.reason ?? '' });
    }
    if (d.deliveries >= this.options.maxDeliveries) {
      const error = d.kind === FailureKind.RetryRequested
        ? { name: 'RetryRequested', message: `retry requested on delivery ${d.deliveries} of at most ${this.options.maxDeliveries}` }
        : undefined;
      return this.moveFailed(d, DeadLetterReason.MaxDeliveries, worker, error);
    }
    const delayMs = d.kind === FailureKind.RetryRequested
      ? Math.min(Math.max(0, d.delayMs ?? 0), this.options.claimIdleMs)
      : this.backoffFor(d.deliveries);
    const scheduled = await scheduleRetry(this.commander, {
      topic: d.topic, group: d.group, consumer: d.consumer, streamId: d.streamId, delayMs, claimIdleMs: this.options.claimIdleMs,
    });
    if (scheduled) this.loops.get(workerKey(d.topic.name, d.group, d.consumer))?.wake(Date.now() + delayMs);
    return 'pending';
  }

  private async moveFailed(
    d: FailedDelivery,
    reason: DeadLetterReasonValue,
    worker: WorkerHandle | undefined,
    error?: { name: string; message: string },
    recorded?: string[],
  ): Promise<FailureOutcome> {
    const described = error ?? (d.error === undefined ? undefined : describeError(d.error, this.options.maxErrorLength));
    const letter = await this.deadLetter({
      topic: d.topic,
      group: d.group,
      consumer: d.consumer,
      streamId: d.streamId,
      reason,
      deliveries: d.deliveries,
      errorName: described?.name,
      errorMessage: described ? described.message.slice(0, this.options.maxErrorLength) : undefined,
      fallbackFields: d.fields ?? undefined,
      // A worker only moves what it still owns: a peer may have reclaimed it meanwhile.
      requireOwner: true,
    }, worker);
    if (letter) recorded?.push(letter.deadLetterId);
    return letter ? 'dead-lettered' : 'pending';
  }

  async deadLetter(request: Omit<MoveRequest, 'retention'>, worker: WorkerHandle | undefined): Promise<DeadLetter | undefined> {
    const moved = await moveToDeadLetter(this.commander, { ...request, retention: this.options.deadLetterRetention });
    if (!moved) return undefined;
    const letter = letterFromMove(request.topic, moved, request);
    if (worker) emitRecoveryEvent(worker, 'dead-lettered', letter);
    const hook = this.options.onDeadLetter;
    if (hook) {
      try {
        await hook(letter);
      } catch (error) {
        // The message is already safe in the dead-letter stream; the hook's failure is only reported.
        if (worker) worker.emit('worker-error', { stage: 'failure-handler', error, streamIds: [request.streamId] });
        else process.emitWarning(`@tributary/recovery: onDeadLetter hook failed for ${request.streamId}: ${String(error)}`);
      }
    }
    return letter;
  }
}

/**
 * Creates the recovery failure handler. Plug it into workers (`failureHandler: recovery`); one
 * instance can serve many workers and topics.
 *
 * - A failed handler (throw, timeout, `ctx.retry()`) leaves the message pending and makes it
 *   due for reclaim after `backoff(deliveries)`; a live worker's reclaim loop takes it then
 *   (XAUTOCLAIM, Redis ≥ 6.2) and runs it again. No in-process retry state: a crash loses none.
 * - On delivery `maxDeliveries` (the server's counter) a failure moves it to `{topic}:dlq`
 *   atomically; so do decode, validation and unhandled-type failures at once (policy
 *   `malformed`), and `ctx.deadLetter(reason)`.
 * - The reclaim loop also takes over messages of crashed or stalled consumers (idle ≥
 *   `claimIdleMs`), and records entries trimmed while pending as lost (event `lost` + a
 *   `trimmed` dead-letter record).
 *
 * Worker events it adds (payloads: `RecoveryEvents`): `reclaimed`, `dead-lettered`,
 * `lost`, `undelivered-trimmed` (Redis ≥ 7); problems of its own are `worker-error` events with
 * stage `failure-handler`.
 *
 * @param connection - used for the retry and dead-letter scripts and the reclaim loop
 * @throws InvalidArgumentError naming the bad option
 */
export function createRecovery(connection: RedisClientLike | Commander, options?: RecoveryOptions): Recovery {
  return new RecoveryHandler(asCommander(connection), resolveRecoveryOptions(options));
}
