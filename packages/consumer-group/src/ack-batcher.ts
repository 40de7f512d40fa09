import { type Commander, isNoGroupReply, settlesWithin, toTributaryError, type TributaryError } from '@tributary/core';

/** Longest an ack held for the read loop waits before it is sent on the shared connection. */
const HOLD_FOR_READER_MS = 20;

/**
 * Collects stream IDs to acknowledge and sends them in few XACK calls: everything acked in
 * one turn of the event loop goes out together (sooner when `maxBatch` is reached). XACKs are
 * pipelined, not serialised. A failed XACK re-queues its IDs and retries, so an ack is never
 * dropped while the worker runs.
 */
export class AckBatcher {
  /**
   * Set by the worker while its read loop is between reads (its reader idle): acks then wait for
   * the loop, which sends them on the reader right before its next read, in the same write. Sent
   * on the shared connection instead, the next read would first wait for their reply (see
   * {@link AckBatcher.settled}): one more round trip per batch. While the loop waits for
   * something other than that read (free slots, a pause: see {@link AckBatcher.readerWaiting}),
   * held acks go out on the shared connection after {@link HOLD_FOR_READER_MS} at the latest.
   */
  holdForReader = false;
  /** The read loop waits for free slots or a pause (see {@link AckBatcher.readerWaiting}). */
  private waiting = false;
  private queue: string[] = [];
  private scheduled = false;
  private holdTimer: NodeJS.Timeout | undefined;
  /**
   * XACK calls sent and not answered yet, all and those on the shared connection. Counters, not
   * a Set of promises: no allocation per call, and no hash table churned once per batch, the
   * pattern that made the worker's in-flight Map promote per-message objects (in-flight.ts).
   */
  private sending = 0;
  private sendingShared = 0;
  /** Woken each time an XACK call is answered. */
  private answerWaiters: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly commander: Commander,
    private readonly key: string,
    private readonly group: string,
    private readonly maxBatch: number,
    /** Called on a failed XACK; `dropped` is true when the IDs were given up (group gone). */
    private readonly onError: (error: TributaryError, ids: readonly string[], dropped: boolean) => void,
  ) {}

  /** Queues one ID; it is sent at the end of this turn of the event loop. */
  add(id: string): void {
    this.queue.push(id);
    if (this.holdForReader) {
      if (this.waiting) this.armHold();
      return;
    }
    if (this.queue.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Tells whether the read loop is waiting for something other than its next read (free slots,
   * a pause after an error), which may take long. While it is, held acks go out within
   * {@link HOLD_FOR_READER_MS}. While it is not, they wait for the read with no timer: the loop
   * sends it as soon as the batch in hand is started (a timer armed and cleared on every read
   * was a good part of the worker's CPU per message at low rates, where each read brings a few:
   * see Worker.sendReads).
   */
  readerWaiting(waiting: boolean): void {
    this.waiting = waiting;
    if (waiting && this.holdForReader && this.queue.length > 0) this.armHold();
  }

  private armHold(): void {
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = undefined;
      this.flush();
    }, HOLD_FOR_READER_MS);
  }

  /**
   * Sends every queued ID now, in chunks of `maxBatch`, on `via` (default: the shared
   * connection). The worker passes its reader right before a read, so the server applies the
   * XACK before the XREADGROUP that refills the freed slots (one socket keeps the order).
   */
  flush(via: Commander = this.commander): void {
    this.scheduled = false;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    while (this.queue.length > 0) {
      const ids = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
      // Only XACKs on the shared connection can reach the server after a read sent on the
      // reader: see settled().
      const shared = via === this.commander;
      this.sending++;
      if (shared) this.sendingShared++;
      via.send(this.key, ['XACK', this.key, this.group, ...ids]).then(
        () => this.answered(shared),
        (error: unknown) => {
          this.failed(error, ids);
          this.answered(shared);
        },
      );
    }
  }

  private answered(shared: boolean): void {
    this.sending--;
    if (shared) this.sendingShared--;
    const waiters = this.answerWaiters;
    if (waiters.length === 0) return;
    this.answerWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when every XACK call sent so far is answered. */
  private async allAnswered(): Promise<void> {
    while (this.sending > 0) await this.nextAnswer();
  }

  /** Resolves when the next XACK call is answered. */
  private nextAnswer(): Promise<void> {
    return new Promise((resolve) => this.answerWaiters.push(resolve));
  }

  private failed(error: unknown, ids: string[]): void {
    const typed = toTributaryError(error, `XACK ${this.key}`);
    if (isNoGroupReply(error)) {
      // The group is gone (stream deleted or flushed): there is nothing left to ack.
      this.onError(typed, ids, true);
      return;
    }
    this.queue = ids.concat(this.queue);
    this.onError(typed, ids, false);
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, 200);
  }

  /** True while an XACK sent on the shared connection awaits its reply (see {@link AckBatcher.settled}). */
  get sendingOnShared(): boolean {
    return this.sendingShared > 0;
  }

  /**
   * Resolves when no XACK sent on the shared connection is still awaiting its reply (or when
   * `signal` aborts). Those may reach the server after a read sent on the reader; the worker
   * waits for them before a read so its pending list never exceeds `concurrency`. XACKs sent on
   * the reader itself need no wait: one socket keeps the order. Usually nothing is in flight.
   */
  async settled(signal: AbortSignal): Promise<void> {
    while (this.sendingShared > 0 && !signal.aborted) {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<void>((resolve) => {
        onAbort = resolve;
        signal.addEventListener('abort', onAbort, { once: true });
      });
      await Promise.race([this.nextAnswer(), aborted]);
      signal.removeEventListener('abort', onAbort!);
    }
  }

  /**
   * Flushes until nothing is queued or in flight, or `deadline` (epoch ms) passes. stop()
   * uses it: acks of finished handlers must reach Redis before the worker reports stopped.
   * @returns IDs that could not be acked; they stay pending and will be redelivered
   */
  async drain(deadline: number): Promise<string[]> {
    for (;;) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.flush();
      // Bounded: a server that stops answering must not hold stop() forever. Unconfirmed acks
      // leave their messages pending: redelivered later, never lost.
      if (!(await settlesWithin(this.allAnswered(), Math.max(0, deadline - Date.now())))) break;
      if (this.queue.length === 0 || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const left = this.queue;
    this.queue = [];
    return left;
  }
}
