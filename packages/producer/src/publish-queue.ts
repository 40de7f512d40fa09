import type { AppendMode } from './append-mode.js';
import { appendBatch, appIdOf, type BatchOutcome, type BatchTarget, MAX_SCRIPT_FIELDS } from './batch-script.js';
import { batchFailureError } from './producer-errors.js';
import type { PublishResult } from './publish-result.js';

/**
 * Field text (UTF-16 units) after which a batch is sent at once, whatever its size: it bounds
 * one script call's argument (packed, at most 3 bytes per unit) and the time Redis spends in it
 * when messages are large.
 */
const MAX_BATCH_CHARS = 1 << 20;

/** Publishes of one tick with one append mode, waiting to be sent together. */
interface Batch {
  readonly mode: AppendMode;
  readonly entries: string[][];
  readonly resolves: ((result: PublishResult) => void)[];
  readonly rejects: ((error: unknown) => void)[];
  /** `now` of the newest publish: the MINID threshold of `maxAgeMs`, as its own XADD would trim. */
  now: number;
  chars: number;
}

/** Batches concurrent publishes (see {@link createPublishQueue}). */
interface PublishQueue {
  /** Sends an encoded entry as a plain XADD, or queues it into a batch. */
  publish(mode: AppendMode, fields: string[], now: number): Promise<PublishResult>;
  /** Sends what is queued now, so that a command sent next lands after it. */
  flush(): void;
}

/** What a {@link PublishQueue} needs from its producer. */
interface PublishQueueOptions {
  readonly target: BatchTarget;
  /** Most entries per script call; a full batch is sent at once. */
  readonly maxBatchSize: number;
  /** Fewest entries per script call: a smaller queue goes out as plain XADDs. */
  readonly minBatchSize: number;
  /** Messages in flight from which publishes are queued rather than sent at once. */
  readonly queueFrom: number;
  /** Sends one entry as a plain XADD, counting it in flight itself (the unbatched publish path). */
  readonly sendOne: (head: readonly string[], fields: string[]) => Promise<PublishResult>;
  /** Counts queued entries in flight, so that `close()` waits for them. */
  readonly acquire: (count: number) => void;
  readonly release: (count: number) => void;
  /** Messages sent or queued and not settled yet (what `acquire` and the XADD path counted). */
  readonly inFlight: () => number;
}

/**
 * Coalesces concurrent publishes, once there are many. While fewer than `queueFrom` messages
 * of this producer are in flight, a publish goes out at once as a plain XADD, exactly as
 * without batching. From there on, publishes are queued, and the queue is sent as one call of
 * the batch script that `publishMany` uses when it is full, or at the end of the tick
 * (`process.nextTick`: after the calling code and the promise callbacks it set off, before any
 * I/O; node-redis itself writes commands only on `setImmediate`, so waiting for it delays
 * nothing). A queue smaller than `minBatchSize` is sent as plain XADDs.
 *
 * Why in-flight and not just "many in one tick": a script call is all or nothing (Redis reads
 * the whole call, runs it, then replies), while Redis answers a pipeline of XADDs as it reads
 * it, so the client already works on replies while Redis still appends. A batch pays only when
 * enough other work is in flight to keep both sides busy meanwhile; with few in flight, plain
 * XADDs are as fast or faster (bench/src/tools/publish-batching.ts).
 *
 * Order: queued entries are sent before any later command (a plain XADD, a publish of another
 * append mode, an idempotent publish, a batch of `publishMany`), so entries land in call order.
 */
export function createPublishQueue(options: PublishQueueOptions): PublishQueue {
  const { target, maxBatchSize, minBatchSize, queueFrom, sendOne, acquire, release, inFlight } = options;
  let pending: Batch | undefined;
  let scheduled = false;

  // Gets what the results need, not the batch: its entries are packed when the call is made and
  // can be collected while Redis works (see appendBatch).
  const settle = (
    resolves: Batch['resolves'],
    rejects: Batch['rejects'],
    appIds: readonly string[],
    { ids, failure }: BatchOutcome,
  ): void => {
    const n = appIds.length;
    release(n);
    for (let k = 0; k < ids.length; k++) resolves[k]!({ streamId: ids[k]!, id: appIds[k]!, duplicate: false });
    if (failure === undefined) return;
    const context = failure !== 'stream-missing' && failure.inScript
      ? `XADD ${target.stream} (publish ${ids.length + 1} of ${n} batched in one script call failed; it and the ${n - ids.length - 1} after it were not written)`
      : `XADD ${target.stream} (${n} publishes batched in one script call)`;
    const error = batchFailureError(failure, target.stream, context);
    for (let k = ids.length; k < n; k++) rejects[k]!(error);
  };

  const flush = (): void => {
    const batch = pending;
    if (batch === undefined) return;
    pending = undefined;
    const { mode, entries, resolves, rejects, now } = batch;
    if (entries.length >= minBatchSize) {
      const appIds = entries.map(appIdOf);
      void appendBatch(target, mode.scriptHead(now), entries).then((outcome) => settle(resolves, rejects, appIds, outcome));
      return;
    }
    const head = mode.xaddHead(now);
    for (let k = 0; k < entries.length; k++) {
      let sent: Promise<PublishResult>;
      try {
        sent = sendOne(head, entries[k]!);
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(resolves[k], rejects[k]);
    }
    // sendOne counts each XADD itself.
    release(entries.length);
  };

  const onTick = (): void => {
    scheduled = false;
    flush();
  };

  return {
    flush,
    publish(mode, fields, now) {
      if (fields.length > MAX_SCRIPT_FIELDS || (pending === undefined && inFlight() < queueFrom)) {
        // Few in flight (or too many headers for a script): a plain XADD, now, after whatever
        // was queued before it.
        flush();
        return sendOne(mode.xaddHead(now), fields);
      }
      let batch = pending;
      if (batch !== undefined && batch.mode !== mode && batch.mode.key !== mode.key) {
        flush();
        batch = undefined;
      }
      if (batch === undefined) {
        batch = pending = { mode, entries: [], resolves: [], rejects: [], now, chars: 0 };
        if (!scheduled) {
          scheduled = true;
          process.nextTick(onTick);
        }
      }
      const queued = batch;
      acquire(1);
      queued.entries.push(fields);
      queued.now = now;
      let chars = queued.chars;
      for (let k = 0; k < fields.length; k++) chars += fields[k]!.length;
      queued.chars = chars;
      const result = new Promise<PublishResult>((resolve, reject) => {
        queued.resolves.push(resolve);
        queued.rejects.push(reject);
      });
      if (queued.entries.length >= maxBatchSize || chars >= MAX_BATCH_CHARS) flush();
      return result;
    },
  };
}
