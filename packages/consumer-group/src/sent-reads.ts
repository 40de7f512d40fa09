import { noReplyError } from './blocking-reader.js';

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
  /** When the watchdog fails it (`Date.now()` time). */
  readonly deadline: number;
  readonly timeoutMs: number;
  /** Rejects `reply`. */
  readonly fail: (error: Error) => void;
}

/**
 * The reads a worker has sent on its reader, oldest first: one socket answers them in order.
 *
 * Reads go out without node-redis's per-command timeout: node-redis 6 drops that timer once a
 * command is written, so it cannot catch a server that stops answering (a BLOCK read stayed
 * unanswered for good on a frozen server), and each one still arms an `AbortSignal.timeout`
 * (about 15 µs of CPU, and garbage that outlives the read). A watchdog looks at the oldest read
 * once a second instead, and fails every read still waiting once the oldest is past its
 * deadline, so a silent connection cannot hang the worker. The read loop then resyncs from
 * the pending list, and again once a later read is answered: by then any reply that arrived
 * after all has been applied, and the entries it delivered are found there.
 */
export class SentReads {
  private readonly queue: Tracked[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** @param timeoutMs - how long a read may go unanswered, unless {@link SentReads.add} says otherwise */
  constructor(private readonly timeoutMs: number) {}

  get length(): number {
    return this.queue.length;
  }

  /**
   * Records a read, to be failed if unanswered after `timeoutMs` (a BLOCK read: its BLOCK plus
   * a margin). A rejection is never unhandled: the read loop awaits the reply in its turn.
   */
  add(sent: Promise<unknown>, read: Omit<SentRead, 'reply'>, timeoutMs = this.timeoutMs): void {
    let fail!: (error: Error) => void;
    const reply = new Promise<unknown>((resolve, reject) => {
      fail = reject;
      sent.then(resolve, reject);
    });
    reply.catch(() => undefined);
    this.queue.push({ ...read, reply, deadline: Date.now() + timeoutMs, timeoutMs, fail });
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

  /** Fails every read still waiting (stop gives up on a connection that does not answer). */
  failAll(error: Error): void {
    for (const read of this.queue) read.fail(error);
  }

  private check(): void {
    // Replies come in order: while the oldest is within its deadline, the connection is not
    // known to be silent (a read ahead behind a long BLOCK waits for it, by design).
    const oldest = this.queue[0];
    if (oldest === undefined || Date.now() < oldest.deadline) return;
    this.failAll(noReplyError('XREADGROUP', oldest.timeoutMs));
  }
}
