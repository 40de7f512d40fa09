import { type Retention, retentionSchema, type Topic, type TopicTypes } from '@tributary/core';
import { z } from 'zod';

/** Default of {@link ProducerOptions.idempotencyTtlMs}: 24 hours. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Default of {@link PublishManyOptions.chunkSize}: 500 messages per script call. */
export const DEFAULT_CHUNK_SIZE = 500;

/**
 * Largest accepted {@link PublishManyOptions.chunkSize}. One chunk is one Lua script call, and
 * Redis serves no other client while a script runs: 10,000 appends take tens of milliseconds.
 */
export const MAX_CHUNK_SIZE = 10_000;

/**
 * Messages in flight (sent or queued, not answered yet) from which `publish` queues messages
 * for a batch script call instead of sending each as a plain XADD at once (or
 * {@link ProducerOptions.maxBatchSize}, if smaller). Below it, batching would only cost: a
 * script call is all or nothing, while Redis answers a pipeline of XADDs as it reads it, so a
 * batch pays only when enough other work is in flight to keep the client and Redis busy
 * meanwhile (measured with bench/src/tools/publish-batching.ts: no change below about 128 in
 * flight, up to about twice the throughput with hundreds).
 */
export const BATCH_FROM_IN_FLIGHT = 128;

/**
 * Fewest messages one batch script call carries (or {@link ProducerOptions.maxBatchSize}, if
 * smaller); a smaller queue goes out as plain XADDs. A script call costs Redis a fixed
 * overhead (EVAL, the Lua call), which a few entries do not repay.
 */
export const MIN_BATCH_SIZE = 32;

/** Default of {@link ProducerWritableOptions.highWaterMark}: 1000 messages. */
export const DEFAULT_HIGH_WATER_MARK = 1000;

/** Options of `createProducer`. */
export interface ProducerOptions<T extends TopicTypes = TopicTypes> {
  /** The topic to publish to (from `defineTopic`). Messages are checked against its schemas. */
  topic: Topic<T>;
  /**
   * How much of the stream to keep, applied by every publish. Default: `topic.retention`
   * (which defaults to `{ maxLen: 1_000_000 }`, approximate). `maxAgeMs` needs Redis ≥ 6.2.
   */
  retention?: Retention;
  /**
   * Send XADD with `NOMKSTREAM`: publishing to a stream that does not exist fails instead of
   * creating it. Default `false`. Needs Redis ≥ 6.2.
   */
  noMkStream?: boolean;
  /**
   * How long an idempotency key is remembered, in ms (the `PX` of its `{topic}:idem:<key>`
   * marker). A publish with the same key within this window is reported as a duplicate and
   * writes nothing. Default: 24 hours.
   */
  idempotencyTtlMs?: number;
  /**
   * Per-command timeout in ms for every command this producer sends; `0` disables the timer.
   * Default: the client's own setting (node-redis 6: 5000 ms unless the client was created
   * with `commandOptions: { timeout }`, e.g. by core's `connectRedis`, which turns it off).
   * node-redis 6 runs this timer only until the command is written to the socket: it bounds the
   * wait in the client's queue (offline, or behind a backlog), not the wait for the reply.
   * A timed-out publish may still have been written. Publishes batched together (see
   * {@link ProducerOptions.maxBatchSize}) are one command, timed as a whole.
   */
  timeoutMs?: number;
  /**
   * Most concurrent `Producer.publish` calls sent together in one script call. While fewer
   * than 128 of this producer's messages are in flight (sent or queued, not answered yet), a
   * publish goes out at once as a plain XADD, as without batching: one at a time, or a few
   * concurrently, nothing changes. Beyond that, publishes with the same effective options are
   * queued and sent as one call of the `publishMany` script (one round trip, far less client
   * work per message) when `maxBatchSize` are queued, when they hold about 1 MiB of field text,
   * or at the end of the tick (`process.nextTick`; node-redis writes only on `setImmediate`,
   * so this delays nothing). A queue of fewer than 32 goes out as plain XADDs. A
   * `maxBatchSize` below 128 (or 32) lowers those two numbers to it. Each publish still
   * resolves or rejects on its own.
   *
   * Default 500 (`DEFAULT_CHUNK_SIZE`), at most 10,000 (`MAX_CHUNK_SIZE`). `1` turns batching
   * off: every publish sends its own XADD. Turn it off when Redis's CPU rather than the
   * client's is the limit (an entry costs Redis somewhat more inside the script than as a
   * plain XADD), or for an ACL user allowed `XADD` but not `EVAL`.
   */
  maxBatchSize?: number;
}

/** Per-call options of `Producer.publish`. */
export interface PublishOptions {
  /** Retention for this publish only. Default: the producer's retention. */
  retention?: Retention;
  /**
   * Publish at most once per key within `idempotencyTtlMs`: a repeated key writes nothing and
   * resolves with the first publish's stream ID and `duplicate: true`. 1 to 512 characters.
   */
  idempotencyKey?: string;
  /** `NOMKSTREAM` for this publish only (Redis ≥ 6.2). Default: the producer's `noMkStream`. */
  noMkStream?: boolean;
}

/** Options of `Producer.publishMany`. */
export interface PublishManyOptions {
  /** Retention for this batch. Default: the producer's retention. */
  retention?: Retention;
  /**
   * Messages per script call (one server round trip each). Default 500, at most 10,000:
   * Redis serves no other client while one chunk runs.
   */
  chunkSize?: number;
}

/** Options of `Producer.writable`. */
export interface ProducerWritableOptions {
  /**
   * Messages buffered before `write()` returns `false`; also the most publishes the stream
   * keeps in flight at once. Default 1000.
   */
  highWaterMark?: number;
}

/** Duck-typed so a topic from another copy of core (ESM vs CommonJS) is accepted. */
const topicSchema = z.custom<Topic>(
  (value) =>
    typeof value === 'object' && value !== null &&
    typeof (value as Topic).name === 'string' &&
    typeof (value as Topic).keys?.stream === 'string' &&
    typeof (value as Topic).hasType === 'function',
  { message: 'expected a topic from defineTopic()' },
);

const timeoutSchema = z.number().int().nonnegative();

/** Zod schema of {@link ProducerOptions}. */
export const producerOptionsSchema = z.strictObject({
  topic: topicSchema,
  retention: retentionSchema.optional(),
  noMkStream: z.boolean().optional(),
  idempotencyTtlMs: z.number().int().positive().optional(),
  timeoutMs: timeoutSchema.optional(),
  maxBatchSize: z.number().int().positive().max(MAX_CHUNK_SIZE).optional(),
});

/** Zod schema of {@link PublishOptions}. */
export const publishOptionsSchema = z.strictObject({
  retention: retentionSchema.optional(),
  // Same limits as core's topicKeys().idempotency(), checked here to name the option.
  idempotencyKey: z.string().min(1).max(512).optional(),
  noMkStream: z.boolean().optional(),
});

/** Zod schema of {@link PublishManyOptions}. */
export const publishManyOptionsSchema = z.strictObject({
  retention: retentionSchema.optional(),
  chunkSize: z.number().int().positive().max(MAX_CHUNK_SIZE).optional(),
});

/** Zod schema of {@link ProducerWritableOptions}. */
export const writableOptionsSchema = z.strictObject({
  highWaterMark: z.number().int().positive().optional(),
});
