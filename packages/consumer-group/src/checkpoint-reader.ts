import { EventEmitter } from 'node:events';
import {
  asCommander,
  ClosedError,
  type Commander,
  DecodeError,
  DecodeFailure,
  fieldsToRecord,
  InvalidArgumentError,
  type MessageOf,
  parseOptions,
  parseReadReply,
  reconnectDelay,
  type RedisClientLike,
  settlesWithin,
  type StreamEntry,
  TimeoutError,
  type Topic,
  type TopicTypes,
  toTributaryError,
  validateName,
} from '@tributary/core';
import {
  type CheckpointContext,
  type CheckpointDefaultHandler,
  type CheckpointHandlers,
  type CheckpointReaderEvents,
  type CheckpointReaderOptions,
  checkpointReaderOptionsSchema,
  type CheckpointReaderStats,
  type CheckpointStopReason,
} from './checkpoint-reader-options.js';
import { BLOCK_TIMEOUT_MARGIN_MS, type BlockingReader, openBlockingReader, replaceConnection, replyWithin } from './blocking-reader.js';
import { decodeEntry, type MalformedEntry } from './decode-entry.js';

/** A complete stream ID, the only thing a checkpoint key may hold. */
const FULL_STREAM_ID = /^\d{1,20}-\d{1,20}$/;

type AnyHandler = (message: MessageOf<TopicTypes>, context: CheckpointContext) => unknown;

/**
 * A group-less reader that remembers its position: the "rank tracker" pattern. It reads the
 * topic with XREAD (no consumer group, so nothing is pending or acked) on its own dedicated
 * connection, hands messages to their handlers one at a time in stream order, and stores the
 * ID of the last handled message in the string key `topic.keys.checkpoint(name)`.
 *
 * Delivery is **at-least-once**: the checkpoint is written (SET, awaited) after each message
 * whose handler resolved, and never past a message whose handler failed, so after a crash the
 * message in progress (and at most that one) is handled again. A handler that throws is retried
 * with a doubling pause (`retryDelayMs` … `maxRetryDelayMs`) until it succeeds or the reader
 * stops; later messages wait, so order is kept. Make handlers idempotent, or dedupe on
 * `message.id`.
 *
 * Use it for projections, audit logs or caches that each need every message once in order; use
 * a consumer-group worker to share work between processes. Redis ≥ 6.2.
 *
 * Create with {@link createCheckpointReader}; call {@link CheckpointReader.start}.
 */
export class CheckpointReader<T extends TopicTypes = TopicTypes> extends EventEmitter<CheckpointReaderEvents<T>> {
  /** The topic read. */
  readonly topic: Topic<T>;
  /** The reader's name. */
  readonly name: string;
  /** The key holding the position: `topic.keys.checkpoint(name)`. */
  readonly checkpointKey: string;

  private readonly commander: Commander;
  private readonly options: ReturnType<typeof checkpointReaderOptionsSchema.parse>;
  private readonly handlers: CheckpointHandlers<T>;
  private readonly defaultHandler: CheckpointDefaultHandler<T> | undefined;
  private readonly streamKey: string;
  private reader: BlockingReader | undefined;
  private readonly readAbort = new AbortController();
  private loop: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** True while an XREAD is on the wire (stop() then unblocks it on the server). */
  private reading = false;
  /** Aborts the running handler's `context.signal`. */
  private current: AbortController | undefined;
  /** Last message handled or skipped, in memory. */
  private processed: string | undefined;
  /** Last position written to Redis. */
  private stored: string | undefined;
  /** stop() gave up on a running handler: nothing more may be stored. */
  private abandoned = false;
  private stopReason: CheckpointStopReason = 'requested';
  private counters = { handled: 0, failedAttempts: 0, malformed: 0 };

  /** @internal use {@link createCheckpointReader} */
  constructor(connection: RedisClientLike | Commander, options: CheckpointReaderOptions<T>) {
    super();
    this.options = parseOptions(checkpointReaderOptionsSchema, options, 'CheckpointReaderOptions');
    this.topic = options.topic;
    this.name = validateName('CheckpointReaderOptions.name', options.name);
    this.checkpointKey = this.topic.keys.checkpoint(this.name);
    this.streamKey = this.topic.keys.stream;
    this.commander = asCommander(connection);
    this.handlers = options.handlers ?? {};
    this.defaultHandler = options.defaultHandler;
    if (!this.defaultHandler && Object.keys(this.handlers).length === 0) {
      throw new InvalidArgumentError('CheckpointReaderOptions.handlers', 'set handlers or defaultHandler');
    }
    if (options.signal?.aborted) void this.stop();
    else options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  /** Counters since start. */
  stats(): CheckpointReaderStats {
    return { ...this.counters };
  }

  /** True between start() and the beginning of stop(). */
  get running(): boolean {
    return this.loop !== undefined && this.stopping === undefined;
  }

  /**
   * The stored checkpoint (GET on the checkpoint key): the ID of the last message handled, or
   * `undefined` if this reader name has never started. Works whether or not the reader runs.
   */
  async position(): Promise<string | undefined> {
    try {
      const value = await this.commander.send<string | null>(this.checkpointKey, ['GET', this.checkpointKey]);
      return value ?? undefined;
    } catch (error) {
      throw toTributaryError(error, `GET ${this.checkpointKey}`);
    }
  }

  /**
   * Loads the checkpoint (or, on the very first start, resolves `startId` and stores it),
   * connects the dedicated reader (`duplicate()`), and starts reading. Resolves once reading
   * has started.
   * @throws ClosedError after stop()
   * @throws InvalidArgumentError when the checkpoint key holds something other than a stream ID
   */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new ClosedError(`checkpoint reader ${this.name} is stopped; create a new one`));
    this.starting ??= (async () => {
      const position = await this.initialPosition();
      this.processed = position;
      this.stored = position;
      this.reader = await openBlockingReader(this.commander);
      if (this.readAbort.signal.aborted) return; // stop() was called meanwhile
      this.loop = this.readLoop();
      this.emit('started', { name: this.name, position });
    })();
    return this.starting;
  }

  /**
   * Stops gracefully: interrupts the blocking read, lets the running handler finish (up to
   * `timeoutMs`, default `stopTimeoutMs`; past it the handler's `context.signal` aborts and its
   * message will be handled again on the next start), ends the retry loop of a failing message
   * without advancing, and closes the reader connection. Never closes the connection it was
   * given. Idempotent.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.timeoutMs ?? this.options.stopTimeoutMs);
    return this.stopping;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    // Rejects a read still queued at once (client side) and ends a retry pause; a read already
    // sent is ended by the UNBLOCK below.
    this.readAbort.abort();
    await this.starting?.catch(() => undefined);
    if (this.reading) await this.reader?.interrupt();
    if (this.loop && !(await settlesWithin(this.loop, timeoutMs))) {
      this.abandoned = true;
      this.current?.abort(new TimeoutError(`checkpoint reader ${this.name}: stop gave up on the running handler after ${timeoutMs} ms`));
    }
    if (!this.abandoned && this.processed !== undefined && this.processed !== this.stored) {
      await this.store(this.processed); // an earlier write failed: catch up once more
    }
    await this.reader?.close();
    this.emit('stopped', { name: this.name, position: this.stored, reason: this.stopReason, stats: this.stats() });
  }

  /** The stored checkpoint, or on the first start the resolved `startId`, stored with SET NX. */
  private async initialPosition(): Promise<string> {
    const stored = await this.position();
    if (stored !== undefined) return checkStoredId(this.checkpointKey, stored);
    let position = '0-0';
    try {
      if (this.options.startId === '$') {
        // A concrete ID instead of '$': '$' on every XREAD would skip entries added between reads.
        const last = await this.commander.send<unknown[]>(this.streamKey, ['XREVRANGE', this.streamKey, '+', '-', 'COUNT', '1']);
        const id = (last?.[0] as [string] | undefined)?.[0];
        if (id !== undefined) position = String(id);
      }
      const set = await this.commander.send(this.checkpointKey, ['SET', this.checkpointKey, position, 'NX']);
      if (set === null) return checkStoredId(this.checkpointKey, (await this.position()) ?? position);
    } catch (error) {
      throw toTributaryError(error, `initial position of ${this.checkpointKey}`);
    }
    return position;
  }

  private async readLoop(): Promise<void> {
    let failures = 0;
    /** A read went unanswered past its deadline: the reader connection is replaced first. */
    let silent = false;
    const signal = this.readAbort.signal;
    while (!signal.aborted) {
      if (silent) {
        silent = !(await replaceConnection(this.reader!, signal, (error) =>
          this.emit('reader-error', { stage: 'read', error: toTributaryError(error, `reader connection of ${this.name}`) })));
        if (silent && !signal.aborted) await this.pause(reconnectDelay(failures++, 2000));
        continue;
      }
      let entries: StreamEntry[];
      this.reading = true;
      try {
        // The signal rejects a read still queued (reader reconnecting) at stop; one already
        // sent ends with the UNBLOCK of stop(), or with the deadline if the server went silent.
        const reply = await replyWithin(
          this.reader!.commander.send(
            this.streamKey,
            ['XREAD', 'COUNT', String(this.options.batchSize), 'BLOCK', String(this.options.blockMs), 'STREAMS', this.streamKey, this.processed!],
            { signal },
          ),
          this.options.blockMs + BLOCK_TIMEOUT_MARGIN_MS,
          'XREAD',
        );
        this.reading = false;
        entries = parseReadReply(reply).values().next().value ?? [];
        failures = 0;
      } catch (error) {
        // Stopping: the server may still hold the BLOCK, so `reading` stays true for stop()
        // to unblock it.
        if (signal.aborted) break;
        this.reading = false;
        this.emit('reader-error', { stage: 'read', error: toTributaryError(error, `XREAD ${this.streamKey}`) });
        silent = error instanceof TimeoutError; // replyWithin's verdict
        await this.pause(reconnectDelay(failures++, 2000));
        continue;
      }
      for (const entry of entries) {
        if (signal.aborted || !(await this.handleEntry(entry))) break;
      }
    }
  }

  /** Handles one entry, retrying its handler until it succeeds. True when the position moved past it. */
  private async handleEntry(entry: StreamEntry): Promise<boolean> {
    const decoded = decodeEntry(this.topic, entry);
    let malformed = decoded.malformed;
    const message = decoded.message;
    const handler = message && ((this.handlers[message.type] ?? this.defaultHandler) as AnyHandler | undefined);
    if (message && !handler) {
      const error = new DecodeError(DecodeFailure.UnknownType, `no handler for type "${message.type}"`, { data: { streamId: entry.id, type: message.type } });
      malformed = { streamId: entry.id, fields: fieldsToRecord(entry.fields), error };
    }
    if (malformed || !message || !handler) return this.skipMalformed(malformed!);
    const signal = this.readAbort.signal;
    for (let attempt = 1; ; attempt++) {
      const controller = new AbortController();
      this.current = controller;
      try {
        await handler(message, { name: this.name, attempt, signal: controller.signal });
      } catch (error) {
        this.counters.failedAttempts++;
        if (this.abandoned) return false;
        const retryInMs = Math.min(this.options.maxRetryDelayMs, this.options.retryDelayMs * 2 ** Math.min(attempt - 1, 30));
        this.emit('message-error', { streamId: entry.id, message: message as MessageOf<T>, error, attempt, retryInMs });
        if (signal.aborted) return false; // stopping: the message stays ahead of the checkpoint
        await this.pause(retryInMs);
        if (signal.aborted) return false;
        continue;
      } finally {
        this.current = undefined;
      }
      // stop() already returned: store nothing behind the caller's back (it is handled again).
      if (this.abandoned) return false;
      this.counters.handled++;
      await this.advance(entry.id);
      return true;
    }
  }

  private async skipMalformed(malformed: MalformedEntry): Promise<boolean> {
    this.counters.malformed++;
    if (this.options.onMalformed === 'stop') {
      this.emit('malformed', { ...malformed, action: 'stopped' });
      this.stopReason = 'malformed';
      void this.stop();
      return false;
    }
    this.emit('malformed', { ...malformed, action: 'skipped' });
    await this.advance(malformed.streamId);
    return true;
  }

  private async advance(streamId: string): Promise<void> {
    this.processed = streamId;
    await this.store(streamId);
  }

  /** Writes the checkpoint. A failed write is reported; the next one (or stop()) catches up. */
  private async store(streamId: string): Promise<void> {
    try {
      await this.commander.send(this.checkpointKey, ['SET', this.checkpointKey, streamId]);
      this.stored = streamId;
      this.emit('checkpoint', { name: this.name, position: streamId });
    } catch (error) {
      this.emit('reader-error', { stage: 'checkpoint', error: toTributaryError(error, `SET ${this.checkpointKey}`) });
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.readAbort.signal;
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

function checkStoredId(key: string, value: string): string {
  if (FULL_STREAM_ID.test(value)) return value;
  throw new InvalidArgumentError(key, `checkpoint holds ${JSON.stringify(value.slice(0, 100))}, not a stream ID; delete or fix the key`);
}


/**
 * Creates a checkpointed reader (see {@link CheckpointReader}). Nothing connects until
 * `start()`.
 *
 * @example
 * const reader = createCheckpointReader(client, {
 *   topic: orders, name: 'search-indexer', startId: '0',
 *   handlers: { 'order.created': async (msg) => index(msg.data) },
 * });
 * reader.on('message-error', ({ streamId, error, attempt }) => log.warn({ streamId, attempt }, error));
 * await reader.start();
 * process.on('SIGTERM', () => void reader.stop());
 * @throws InvalidArgumentError naming the bad option (e.g. `CheckpointReaderOptions.blockMs`)
 */
export function createCheckpointReader<T extends TopicTypes>(
  connection: RedisClientLike | Commander,
  options: CheckpointReaderOptions<T>,
): CheckpointReader<T> {
  return new CheckpointReader(connection, options);
}
