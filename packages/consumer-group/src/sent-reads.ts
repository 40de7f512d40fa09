import { TimeoutError } from '@tributary/core';

/** How often the watchdog looks at the oldest read without its own timer. */
const WATCHDOG_INTERVAL_MS = 1000;

/** An XREADGROUP sent on the reader and not handled yet. */
interface SentRead {
  /** The COUNT it asked for. */
  readonly count: number;
  /** Slots it holds until answered (see Worker.sendReads). */
  readonly holds: number;
  /** The read loop's group epoch when sent (see Worker.readLoop). */
  readonly epoch: number;
  readonly reply: Promise<unknown>;
}

interface Tracked extends SentRead {
  readonly sentAt: number;
  /** Rejects `reply` (watched reads only). */
  readonly fail: ((error: Error) => void) | undefined;
}

/**
 * The reads a worker has sent on its reader, oldest first: one socket answers them in order.
 *
 * Reads without BLOCK go out without a per-command timeout, because node-redis arms a timer and
 * an AbortSignal for each such command, about 15 µs of CPU: more than the rest of a read of a
 * few messages, and once per message at concurrency 1. A watchdog looks at the oldest once a
 * second instead, and fails the watched reads still unanswered after `timeoutMs`, so a silent
 * connection cannot hang the worker. The read loop then resyncs from the pending list, which
 * also picks up entries from a reply that arrives after all.
 */
export class SentReads {
  private readonly queue: Tracked[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  get length(): number {
    return this.queue.length;
  }

  /**
   * Records a read. `watched`: the watchdog may fail it (a read sent without its own timeout).
   * A rejection is never unhandled: the read loop awaits the reply in its turn.
   */
  add(sent: Promise<unknown>, read: Omit<SentRead, 'reply'>, watched: boolean): void {
    let fail: ((error: Error) => void) | undefined;
    const reply = watched
      ? new Promise<unknown>((resolve, reject) => {
          fail = reject;
          sent.then(resolve, reject);
        })
      : sent;
    reply.catch(() => undefined);
    this.queue.push({ ...read, reply, sentAt: Date.now(), fail });
  }

  /** The oldest read. It stays watched until {@link SentReads.done} removes it. */
  oldest(): SentRead | undefined {
    return this.queue[0];
  }

  /** Removes the oldest read, once its reply has been taken. */
  done(): void {
    this.queue.shift();
  }

  /** Starts the watchdog (unref'd: it never keeps the process alive). */
  watch(): void {
    this.timer ??= setInterval(() => this.check(), WATCHDOG_INTERVAL_MS).unref();
  }

  /** Stops the watchdog. */
  unwatch(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Fails every watched read still waiting (stop gives up on a connection that does not answer). */
  failAll(error: Error): void {
    for (const read of this.queue) read.fail?.(error);
  }

  private check(): void {
    const oldest = this.queue[0];
    if (!oldest?.fail || Date.now() - oldest.sentAt < this.timeoutMs) return;
    this.failAll(new TimeoutError(`no reply to XREADGROUP within ${this.timeoutMs} ms`, { data: { timeoutMs: this.timeoutMs } }));
  }
}
