import type { Writable } from 'node:stream';
import {
  encodeMessage,
  InvalidArgumentError,
  type OutgoingMessage,
  parseOptions,
  type RedisClientLike,
  type RedisCommandOptions,
  type Retention,
  toCommander,
  type Topic,
  type TopicTypes,
} from '@tributary/core';
import { producerClosedError, publishError, streamMissingError } from './producer-errors.js';
import {
  BATCH_FROM_IN_FLIGHT,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  MIN_BATCH_SIZE,
  type ProducerOptions,
  producerOptionsSchema,
  type ProducerWritableOptions,
  type PublishManyOptions,
  publishManyOptionsSchema,
  type PublishOptions,
  publishOptionsSchema,
  writableOptionsSchema,
} from './producer-options.js';
import { appendMode } from './append-mode.js';
import { appIdOf, MAX_SCRIPT_FIELDS, tooManyHeaders } from './batch-script.js';
import { ProducerWritable } from './producer-writable.js';
import { publishBatch } from './publish-many.js';
import { createPublishQueue } from './publish-queue.js';
import type { PublishManyResult, PublishResult } from './publish-result.js';
import { IDEMPOTENT_PUBLISH_SCRIPT, type IdempotentPublishReply, IdempotentStatus, idempotentPublishArgs } from './publish-script.js';

/** Publishes typed messages to one topic's stream. Create it with {@link createProducer}. */
export interface Producer<T extends TopicTypes = TopicTypes> {
  /** The topic this producer writes to. */
  readonly topic: Topic<T>;
  /**
   * Appends one message (`XADD {topic} [NOMKSTREAM] [MAXLEN|MINID …] * type … data … id … ts …
   * h:<name> …`). The payload is checked against its type's schema first, synchronously: an
   * invalid message rejects and writes nothing, whatever else is published around it.
   *
   * Calls made without awaiting each other land in call order. While fewer than 128 of this
   * producer's messages are in flight, a publish is sent at once as a plain XADD; beyond that,
   * publishes with the same effective options (retention, NOMKSTREAM) are batched into calls
   * of the `publishMany` script (see {@link ProducerOptions.maxBatchSize}). Each call still
   * resolves with its own entry, or rejects with its own typed error: if the script stops
   * part-way (e.g. a server error on one XADD), the entries before are resolved and the rest
   * rejected with `data.written: false`.
   *
   * With `options.idempotencyKey`, one Lua script checks and sets the marker
   * `{topic}:idem:<key>` atomically with the XADD; a key seen within `idempotencyTtlMs`
   * writes nothing and resolves with the earlier entry and `duplicate: true`.
   *
   * @returns the new entry's stream ID and the message's application ID
   * @throws ValidationError (`ERR_VALIDATION`) when the payload fails its schema
   * @throws InvalidArgumentError (`ERR_INVALID_ARGUMENT`) for an undeclared type, a bad header,
   *   `id` or `ts`, or bad options (`error.field` names it, e.g. `PublishOptions.retention`)
   * @throws TributaryError `ERR_REDIS` with `data.reason: 'stream-missing'` when NOMKSTREAM is
   *   set and the stream does not exist (nothing written); other server errors typed by code
   * @throws ClosedError (`ERR_CLOSED`) after {@link Producer.close}
   */
  publish(message: OutgoingMessage<T>, options?: PublishOptions): Promise<PublishResult>;
  /**
   * Appends many messages, one Lua script call (one round trip) per `chunkSize` messages
   * (default 500). Never rejects for a message: the result array has one entry per input, in
   * input order, saying what happened to it.
   *
   * - Invalid messages get `{ ok: false, error, index }` and are skipped; the valid ones are
   *   still written, in input order.
   * - Each chunk is atomic on the server, but a batch is not: chunks go one after the other,
   *   and at the first failure the batch stops. Earlier chunks stay written (`ok: true`); the
   *   failed chunk's and later chunks' messages get `ok: false` with `error.data.written`
   *   `false` (not written) or `'unknown'` (connection lost or timeout after sending).
   *
   * Retention applies to every entry as in {@link Producer.publish}.
   *
   * @throws InvalidArgumentError when `messages` is not an array or options are invalid
   * @throws ClosedError (`ERR_CLOSED`) after {@link Producer.close}
   */
  publishMany(messages: readonly OutgoingMessage<T>[], options?: PublishManyOptions): Promise<PublishManyResult[]>;
  /**
   * An object-mode Writable: every chunk written is an {@link OutgoingMessage} published with
   * {@link Producer.publish}. At most `highWaterMark` (default 1000) publishes are in flight and
   * as many buffered; beyond that `write()` returns `false` (backpressure; `pipeline()` handles
   * it). The first failed publish errors the stream. `'finish'` is emitted only after every
   * write has been acknowledged by Redis. Ending the stream does not close the producer.
   *
   * @throws InvalidArgumentError for a bad `highWaterMark`
   * @throws ClosedError (`ERR_CLOSED`) after {@link Producer.close}
   */
  writable(options?: ProducerWritableOptions): Writable;
  /**
   * Stops accepting publishes and resolves once every publish, batch and Writable write already
   * started has settled. Afterwards every call rejects with `ClosedError` (`ERR_CLOSED`).
   * Idempotent. Never closes the Redis client, which belongs to the caller.
   */
  close(): Promise<void>;
}

/**
 * Creates a producer for one topic on a connected node-redis client or cluster. It opens no
 * connection of its own. Needs Redis ≥ 6.2 for `maxAgeMs` retention (MINID) and `noMkStream`.
 *
 * @example
 * const producer = createProducer(client, { topic: orders });
 * const { streamId } = await producer.publish({ type: 'order.created', data: { orderId: 'o-1', amount: 42 } });
 * @throws InvalidArgumentError naming the bad option, e.g. `ProducerOptions.retention.maxLen`
 */
export function createProducer<T extends TopicTypes>(client: RedisClientLike, options: ProducerOptions<T>): Producer<T> {
  const parsed = parseOptions(producerOptionsSchema, options, 'ProducerOptions');
  if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
    throw new InvalidArgumentError('client', 'expected a connected node-redis client or cluster');
  }
  const topic = options.topic;
  const commander = toCommander(client);
  const stream = topic.keys.stream;
  const retention: Retention = parsed.retention ?? topic.retention;
  const noMkStream = parsed.noMkStream ?? false;
  const ttlMs = parsed.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const commandOptions: RedisCommandOptions | undefined = parsed.timeoutMs === undefined ? undefined : { timeoutMs: parsed.timeoutMs };
  const maxBatchSize = parsed.maxBatchSize ?? DEFAULT_CHUNK_SIZE;
  const defaultMode = appendMode(stream, retention, noMkStream);
  const xaddContext = `XADD ${stream}`;
  const scriptContext = `idempotent publish ${stream}`;

  let closed = false;
  let inFlight = 0;
  let idle: (() => void)[] = [];
  const release = (count = 1) => {
    inFlight -= count;
    if (inFlight === 0 && idle.length > 0) {
      const waiters = idle;
      idle = [];
      for (const resolve of waiters) resolve();
    }
  };

  // With a timeout the per-call options are needed anyway; without, see Commander.sendPlain.
  const sendXadd = commandOptions === undefined
    ? (args: string[]) => commander.sendPlain(stream, args)
    : (args: string[]) => commander.send(stream, args, commandOptions);

  // A plain XADD (few publishes in flight, or batching off): a prebuilt head, one `.then`
  // doing both the release and the reply mapping; the rejection handler is shared (it needs
  // nothing from the call).
  const xaddFailed = (error: unknown): never => {
    release();
    throw publishError(error, xaddContext, stream);
  };
  const xadd = (head: readonly string[], fields: string[]): Promise<PublishResult> => {
    const id = appIdOf(fields);
    const sent = sendXadd(head.concat(fields));
    inFlight++;
    return sent.then((reply) => {
      release();
      if (reply === null || reply === undefined) throw streamMissingError(stream, xaddContext);
      return { streamId: String(reply), id, duplicate: false };
    }, xaddFailed);
  };

  const idempotentXadd = (key: string, head: readonly string[], fields: string[]): Promise<PublishResult> => {
    const id = appIdOf(fields);
    const keys = [stream, topic.keys.idempotency(key)];
    const args = idempotentPublishArgs(ttlMs, head, fields);
    const sent = commander.evalScript<IdempotentPublishReply>(IDEMPOTENT_PUBLISH_SCRIPT, keys, args, commandOptions);
    inFlight++;
    return sent.then(
      ([status, streamId, storedId]) => {
        release();
        if (status === IdempotentStatus.StreamMissing) throw streamMissingError(stream, scriptContext);
        if (status === IdempotentStatus.Duplicate) return { streamId: String(streamId), id: storedId ? String(storedId) : id, duplicate: true };
        return { streamId: String(streamId), id, duplicate: false };
      },
      (error: unknown) => {
        release();
        throw publishError(error, scriptContext, stream);
      },
    );
  };

  const target = { commander, stream, commandOptions };
  const queue = maxBatchSize > 1
    ? createPublishQueue({
      target,
      maxBatchSize,
      minBatchSize: Math.min(MIN_BATCH_SIZE, maxBatchSize),
      queueFrom: Math.min(BATCH_FROM_IN_FLIGHT, maxBatchSize),
      sendOne: xadd,
      acquire: (count) => void (inFlight += count),
      release,
      inFlight: () => inFlight,
    })
    : undefined;

  const publish = (message: OutgoingMessage<T>, publishOptions?: PublishOptions): Promise<PublishResult> => {
    if (closed) return Promise.reject(producerClosedError(topic.name));
    try {
      if (typeof message !== 'object' || message === null) {
        throw new InvalidArgumentError('message', `expected a message object, got ${message === null ? 'null' : typeof message}`);
      }
      const o = publishOptions === undefined ? undefined : parseOptions(publishOptionsSchema, publishOptions, 'PublishOptions');
      const now = Date.now();
      const fields = encodeMessage(topic, message, now);
      const mode = o === undefined || (o.retention === undefined && o.noMkStream === undefined)
        ? defaultMode
        : appendMode(stream, o.retention ?? retention, o.noMkStream ?? noMkStream);
      if (o?.idempotencyKey !== undefined) {
        if (fields.length > MAX_SCRIPT_FIELDS) throw tooManyHeaders(fields.length);
        // Its own script call, after whatever was published before it.
        queue?.flush();
        return idempotentXadd(o.idempotencyKey, mode.scriptHead(now), fields);
      }
      return queue === undefined ? xadd(mode.xaddHead(now), fields) : queue.publish(mode, fields, now);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const publishMany = async (messages: readonly OutgoingMessage<T>[], manyOptions?: PublishManyOptions): Promise<PublishManyResult[]> => {
    if (closed) throw producerClosedError(topic.name);
    if (!Array.isArray(messages)) throw new InvalidArgumentError('messages', 'expected an array of messages');
    const o = manyOptions === undefined ? {} : parseOptions(publishManyOptionsSchema, manyOptions, 'PublishManyOptions');
    const mode = o.retention === undefined ? defaultMode : appendMode(stream, o.retention, noMkStream);
    // Its first chunk goes out now, after the publishes queued before this call.
    queue?.flush();
    inFlight++;
    try {
      return await publishBatch(target, topic, messages, mode, o.chunkSize ?? DEFAULT_CHUNK_SIZE);
    } finally {
      release();
    }
  };

  return {
    topic,
    publish,
    publishMany,
    writable(writableOptions?: ProducerWritableOptions): Writable {
      if (closed) throw producerClosedError(topic.name);
      const o = writableOptions === undefined ? {} : parseOptions(writableOptionsSchema, writableOptions, 'ProducerWritableOptions');
      return new ProducerWritable<OutgoingMessage<T>>((message) => publish(message), o.highWaterMark ?? DEFAULT_HIGH_WATER_MARK);
    },
    close(): Promise<void> {
      closed = true;
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
  };
}
