import {
  asCommander,
  type Commander,
  InvalidArgumentError,
  parseEntries,
  parseOptions,
  type RedisClientLike,
  type Topic,
  type TopicTypes,
  toTributaryError,
} from '@tributary/core';
import { z } from 'zod';
import { type DeadLetter, parseDeadLetter } from './dead-letter-entry.js';
import { rangeIdSchema, topicSchema } from './option-schemas.js';

/** Options of {@link listDeadLetters}. */
export interface ListDeadLettersOptions<T extends TopicTypes> {
  /** The topic whose dead-letter stream `{topic}:dlq` is read. */
  topic: Topic<T>;
  /** First dead-letter ID (inclusive; `(id` exclusive). Default `-` (oldest). */
  start?: string;
  /** Last dead-letter ID (inclusive). Default `+` (newest). */
  end?: string;
  /** Most entries returned. Default 100. */
  count?: number;
  /** Newest first (XREVRANGE). Default false. */
  reverse?: boolean;
}

const listSchema = z.strictObject({
  topic: topicSchema,
  start: rangeIdSchema.optional(),
  end: rangeIdSchema.optional(),
  count: z.number().int().positive().max(100_000).default(100),
  reverse: z.boolean().default(false),
});

/** Reads raw dead-letter entries (XRANGE / XREVRANGE). */
export async function readDeadLetterRange(
  commander: Commander,
  key: string,
  start: string,
  end: string,
  count: number,
  reverse = false,
): Promise<{ id: string; fields: readonly string[] }[]> {
  const args = reverse ? ['XREVRANGE', key, end, start] : ['XRANGE', key, start, end];
  let reply: unknown;
  try {
    reply = await commander.send(key, [...args, 'COUNT', String(count)]);
  } catch (error) {
    throw toTributaryError(error, `${args[0]} ${key}`);
  }
  return parseEntries(reply).map((e) => ({ id: e.id, fields: e.fields ?? [] }));
}

/**
 * Lists entries of the topic's dead-letter stream, oldest first (or newest first with
 * `reverse`), each parsed into a {@link DeadLetter}: metadata, original fields, and the
 * original message decoded and validated when possible (`decodeError` says why not).
 * @throws InvalidArgumentError naming the bad option
 */
export async function listDeadLetters<T extends TopicTypes>(
  connection: RedisClientLike | Commander,
  options: ListDeadLettersOptions<T>,
): Promise<DeadLetter<T>[]> {
  const o = parseOptions(listSchema, options, 'ListDeadLettersOptions');
  const topic = options.topic;
  const entries = await readDeadLetterRange(asCommander(connection), topic.keys.deadLetter, o.start ?? '-', o.end ?? '+', o.count, o.reverse);
  return entries.map((e) => parseDeadLetter(topic, e.id, e.fields));
}

/** Options of {@link purgeDeadLetters}: exactly one of `ids`, `olderThanMs`, `all`. */
export interface PurgeDeadLettersOptions {
  /** The topic whose dead-letter stream is purged. */
  topic: Topic;
  /** Delete these dead-letter IDs (XDEL). */
  ids?: readonly string[];
  /** Delete entries dead-lettered more than this many ms ago (XTRIM MINID, exact). */
  olderThanMs?: number;
  /** Delete the whole dead-letter stream. */
  all?: boolean;
}

const purgeSchema = z.strictObject({
  topic: topicSchema,
  ids: z.array(z.string().regex(/^\d+-\d+$/, 'expected stream IDs')).readonly().optional(),
  olderThanMs: z.number().int().nonnegative().optional(),
  all: z.literal(true).optional(),
});

/**
 * Deletes dead letters for good: the given IDs, those older than `olderThanMs` (by the time
 * they were dead-lettered, which is their ID), or all of them. Pass exactly one selector.
 * @returns how many entries were deleted
 * @throws InvalidArgumentError naming the bad option
 */
export async function purgeDeadLetters(connection: RedisClientLike | Commander, options: PurgeDeadLettersOptions): Promise<number> {
  const o = parseOptions(purgeSchema, options, 'PurgeDeadLettersOptions');
  const selectors = [o.ids !== undefined, o.olderThanMs !== undefined, o.all === true].filter(Boolean).length;
  if (selectors !== 1) throw new InvalidArgumentError('PurgeDeadLettersOptions', 'pass exactly one of ids, olderThanMs or all: true');
  const commander = asCommander(connection);
  const key = options.topic.keys.deadLetter;
  try {
    if (o.ids !== undefined) {
      let deleted = 0;
      for (let i = 0; i < o.ids.length; i += 1000) {
        deleted += Number(await commander.send(key, ['XDEL', key, ...o.ids.slice(i, i + 1000)]));
      }
      return deleted;
    }
    if (o.olderThanMs !== undefined) {
      const bound = Math.max(0, Date.now() - o.olderThanMs);
      return Number(await commander.send(key, ['XTRIM', key, 'MINID', '=', String(bound)]));
    }
    // XTRIM, not DEL: the key (and its last ID) stays, so new dead-letter IDs keep increasing.
    return Number(await commander.send(key, ['XTRIM', key, 'MAXLEN', '=', '0']));
  } catch (error) {
    throw toTributaryError(error, `purge ${key}`);
  }
}
