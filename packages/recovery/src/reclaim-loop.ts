import { compareStreamIds, type Commander, pairsToObject } from '@tributary/core';
import type { ClaimedEntry, WorkerHandle } from '@tributary/consumer-group';
import { DeadLetterReason } from './dead-letter-field.js';
import type { DeadLetter } from './dead-letter-entry.js';
import type { MoveRequest } from './dead-letter-script.js';
import { pruneFailureTimes } from './failure-times.js';
import { autoClaimIds, claimOwned, recordLost, releaseClaims } from './reclaim.js';
import { streamFacts, undeliveredDeleted } from './trim-safety.js';
import type { ResolvedRecoveryOptions } from './recovery-options.js';
import { emitRecoveryEvent } from './recovery-events.js';

/** XAUTOCLAIM calls per tick at most, so one tick never monopolises the connection. */
const MAX_CLAIM_CALLS_PER_TICK = 1000;
/** Failure-time fields examined per tick by the pruning step. */
const PRUNE_COUNT = 100;
/** Extra wait after a retry's due time, so the server sees it idle long enough. */
const WAKE_MARGIN_MS = 20;
/** The trim watch (two XINFO calls) runs at most this often, however short the period. */
const TRIM_WATCH_MIN_INTERVAL_MS = 1000;

/** What a reclaim loop needs from its recovery. */
export interface LoopHost {
  readonly commander: Commander;
  readonly options: ResolvedRecoveryOptions;
  /** Dead-letters one entry and notifies (event + hook); `undefined` when it was not moved. */
  deadLetter(request: Omit<MoveRequest, 'retention'>, worker: WorkerHandle | undefined): Promise<DeadLetter | undefined>;
}

/**
 * The background work recovery does for one worker: every tick it walks the group's pending
 * list with XAUTOCLAIM (following the cursor across calls and ticks), hands what it claimed
 * to the worker, dead-letters entries delivered too often, records lost ones, prunes stale
 * failure times, and watches for trimming past the group's read position.
 */
export class ReclaimLoop {
  private cursor = '0-0';
  private pruneCursor = '0';
  private timer: NodeJS.Timeout | undefined;
  private nextTickAt = Number.POSITIVE_INFINITY;
  private current: Promise<void> | undefined;
  private stopped = false;
  /** Due times (epoch ms) of retries not yet served by a tick. */
  private wakes: number[] = [];
  private lastTrimMarker: string | undefined;
  private lastTrimWatch = 0;
  private readonly periodMs: number;

  constructor(
    private readonly host: LoopHost,
    readonly worker: WorkerHandle,
  ) {
    const { reclaimIntervalMs, claimIdleMs } = host.options;
    this.periodMs = Math.max(1, Math.min(reclaimIntervalMs, Math.floor(claimIdleMs / 2)));
  }

  start(): void {
    this.schedule(this.periodMs);
  }

  /**
   * Asks for a tick at `at` (epoch ms), when a retry falls due, so retries follow the backoff
   * rather than the reclaim period. Only timing: correctness never depends on it.
   */
  wake(at: number): void {
    if (this.stopped) return;
    const when = at + WAKE_MARGIN_MS;
    this.wakes.push(when);
    if (!this.current && when < this.nextTickAt) this.schedule(Math.max(0, when - Date.now()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.nextTickAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.nextTickAt = Number.POSITIVE_INFINITY;
      const startedAt = Date.now();
      this.wakes = this.wakes.filter((t) => t > startedAt);
      this.current = this.tick().finally(() => {
        this.current = undefined;
        const next = this.wakes.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
        this.schedule(Math.max(0, Math.min(this.periodMs, next - Date.now())));
      });
    }, delayMs);
    this.timer.unref();
  }

  private report(error: unknown): void {
    this.worker.emit('worker-error', { stage: 'failure-handler', error });
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.worker.isStopping()) return;
    await this.reclaim().catch((error: unknown) => this.report(error));
    if (this.stopped) return;
    await this.prune().catch((error: unknown) => this.report(error));
    if (Date.now() - this.lastTrimWatch >= TRIM_WATCH_MIN_INTERVAL_MS) {
      this.lastTrimWatch = Date.now();
      await this.watchTrim().catch((error: unknown) => this.report(error));
    }
  }

  /**
   * One pass over the whole pending list at most: from the carried cursor to the end, then
   * from the start up to where this pass began. Stops early when the worker has no free slot
   * (the cursor is kept, so the next tick goes on from there: nothing is skipped).
   */
  private async reclaim(): Promise<void> {
    const { worker, host } = this;
    const { topic, group, consumer } = worker;
    const startedAt = this.cursor;
    let wrapped = startedAt === '0-0';
    for (let calls = 0; calls < MAX_CLAIM_CALLS_PER_TICK; calls++) {
      if (this.stopped || worker.isStopping()) return;
      const slots = worker.freeSlots();
      if (slots <= 0) return;
      const step = await autoClaimIds(host.commander, {
        topic, group, consumer,
        minIdleMs: host.options.claimIdleMs,
        cursor: this.cursor,
        count: Math.min(slots, host.options.reclaimCount),
      });
      this.cursor = step.cursor;
      if (step.deleted.length > 0) await this.lost(step.deleted);
      // The worker's own in-flight messages stay as they are (the JUSTID claim only renewed
      // their lease). The rest is bumped (a delivery) only as far as there is room right now.
      const candidates = step.ids.filter((id) => !worker.isInFlight(id));
      const room = this.stopped || worker.isStopping() ? 0 : Math.max(0, worker.freeSlots());
      await this.release(candidates.slice(room).map((id) => ({ id })));
      const owned = await claimOwned(host.commander, topic, group, consumer, candidates.slice(0, room));
      if (owned.vanished.length > 0) await this.lost(owned.vanished);
      if (owned.claimed.length > 0) await this.handOver(owned.claimed);
      if (step.cursor === '0-0') {
        if (wrapped) return;
        wrapped = true;
      } else if (wrapped && startedAt !== '0-0' && compareStreamIds(step.cursor, startedAt) > 0) {
        return;
      }
    }
  }

  /** Gives entries back at once (due again for any worker), counters restored when given. */
  private async release(entries: { id: string; deliveries?: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const { worker, host } = this;
    await releaseClaims(host.commander, {
      topic: worker.topic, group: worker.group, consumer: worker.consumer, idleMs: host.options.claimIdleMs, entries,
    });
  }

  private async lost(ids: string[]): Promise<void> {
    const { worker, host } = this;
    let deadLetterIds: string[] = [];
    try {
      deadLetterIds = await recordLost(host.commander, {
        topic: worker.topic, group: worker.group, consumer: worker.consumer, ids, retention: host.options.deadLetterRetention,
      });
    } finally {
      // Emitted even if writing the records failed (that error is reported too): a loss is never quiet.
      emitRecoveryEvent(worker, 'lost', { group: worker.group, consumer: worker.consumer, streamIds: ids, reason: DeadLetterReason.Trimmed, deadLetterIds });
    }
  }

  /** Dead-letters entries whose consumers kept dying on them; dispatches the rest. */
  private async handOver(claimed: ClaimedEntry[]): Promise<void> {
    const { worker, host } = this;
    const max = host.options.maxDeliveries;
    const run: ClaimedEntry[] = [];
    for (const entry of claimed) {
      if (entry.deliveries <= max) {
        run.push(entry);
        continue;
      }
      await host.deadLetter({
        topic: worker.topic,
        group: worker.group,
        consumer: worker.consumer,
        streamId: entry.id,
        reason: DeadLetterReason.MaxDeliveries,
        deliveries: entry.deliveries,
        errorName: 'MaxDeliveriesExceeded',
        errorMessage: `delivered ${entry.deliveries} times (maxDeliveries ${max}) without an outcome: its consumers crashed or stalled`,
        fallbackFields: entry.fields ?? undefined,
        requireOwner: true,
      }, worker);
    }
    if (run.length === 0) return;
    // Measured and dispatched in the same turn of the event loop: dispatch() runs its loop
    // synchronously, so exactly the first `fits` entries start (reads may have taken slots
    // while we claimed). The others are given back with their counters restored.
    const fits = this.stopped || worker.isStopping() ? 0 : Math.max(0, worker.freeSlots());
    const started = run.slice(0, fits);
    const dispatched = started.length > 0 ? worker.dispatch(started) : Promise.resolve();
    if (started.length > 0) {
      emitRecoveryEvent(worker, 'reclaimed', { streamIds: started.map((e) => e.id), count: started.length, consumer: worker.consumer });
    }
    await dispatched;
    await this.release(run.slice(fits).map((e) => ({ id: e.id, deliveries: e.deliveries - 1 })));
  }

  private async prune(): Promise<void> {
    const step = await pruneFailureTimes(this.host.commander, this.worker.topic, this.worker.group, this.pruneCursor, PRUNE_COUNT);
    this.pruneCursor = step.cursor;
  }

  /**
   * Redis ≥ 7: reports (event `undelivered-trimmed`) when trimming or XDEL removed entries this
   * group had not received (see `undeliveredDeleted`), once per new first entry / max deleted ID.
   */
  private async watchTrim(): Promise<void> {
    const { commander } = this.host;
    const key = this.worker.topic.keys.stream;
    const [stream, groups] = await Promise.all([
      commander.send<unknown[]>(key, ['XINFO', 'STREAM', key]),
      commander.send<unknown[]>(key, ['XINFO', 'GROUPS', key]),
    ]);
    const facts = streamFacts(stream);
    if (facts.entriesAdded === undefined) return; // Redis 6.2: not detectable
    const group = (groups ?? []).map(pairsToObject).find((g) => String(g['name']) === this.worker.group);
    if (!group || !undeliveredDeleted(facts, group)) return;
    const marker = `${facts.firstEntryId ?? ''}|${facts.maxDeletedEntryId ?? ''}`;
    if (marker === this.lastTrimMarker) return;
    this.lastTrimMarker = marker;
    emitRecoveryEvent(this.worker, 'undelivered-trimmed', {
      group: this.worker.group,
      lastDeliveredId: String(group['last-delivered-id']),
      firstEntryId: facts.firstEntryId,
      maxDeletedEntryId: facts.maxDeletedEntryId,
    });
  }
}
