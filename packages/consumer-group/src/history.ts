import { z } from 'zod';
import {
  asCommander,
  type Commander,
  type MessageOf,
  parseEntries,
  parseOptions,
  type RedisClientLike,
  type Topic,
  type TopicTypes,
  toTributaryError,
} from '@tributary/core';
import { decodeEntry, type MalformedEntry } from './decode-entry.js';

/**
 * One end of a history range:
 * - `'-'` (start) / `'+'` (end): the oldest / newest entry;
 * - a stream ID (`'1718000000000-3'`, or just the ms part `'1718000000000'`), inclusive;
 * - an exclusive stream ID `'(1718000000000-3'` (what {@link HistoryPage.next} returns; Redis ≥ 6.2);
 * - a `Date` or a number of ms since the epoch: entries appended from (start) or up to and
 *   including (end) that millisecond, by the time Redis gave them their ID.
 */
export type HistoryBound = string | Date | number;

/** Options of {@link readHistory} and {@link iterateHistory}. */
export interface HistoryOptions<T extends TopicTypes> {
  /** The topic whose stream is read. */
  topic: Topic<T>;
  /** Lower end of the range (see {@link HistoryBound}). Default `'-'`, the oldest entry. */
  start?: HistoryBound;
  /** Upper end of the range (see {@link HistoryBound}). Default `'+'`, the newest entry. */
  end?: HistoryBound;
  /** Most entries per page, messages and malformed entries together. 1 to 10 000; default 100. */
  count?: number;
  /**
   * Newest first (XREVRANGE) instead of oldest first (XRANGE). `start` and `end` keep their
   * meaning (lower and upper end); the next page is read by passing `next` as `end`.
   * Default false.
   */
  reverse?: boolean;
}

/** One page of history. */
export interface HistoryPage<T extends TopicTypes> {
  /** Decoded, schema-validated messages, in read order (oldest first, or newest first if `reverse`). */
  messages: MessageOf<T>[];
  /** Entries in this page that could not be decoded or failed their schema, in read order. */
  malformed: MalformedEntry[];
  /**
   * Exclusive cursor (`'(<id>'`) just past this page: pass it as `start` (or as `end` when
   * `reverse`) to read the next page. `undefined` when the range has no more entries.
   */
  next: string | undefined;
}

/** Largest page: bounds the reply size and the time one XRANGE holds the server. */
const MAX_COUNT = 10_000;

const STREAM_ID = /^\d{1,20}(-\d{1,20})?$/;
const EXCLUSIVE_STREAM_ID = /^\(\d{1,20}(-\d{1,20})?$/;

function boundSchema(open: '-' | '+') {
  return z.custom<HistoryBound>(
    (value) =>
      (typeof value === 'string' && (value === open || STREAM_ID.test(value) || EXCLUSIVE_STREAM_ID.test(value))) ||
      (value instanceof Date && !Number.isNaN(value.getTime()) && value.getTime() >= 0) ||
      (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0),
    { message: `expected "${open}", a stream ID ("<ms>-<seq>", prefixed with "(" to exclude it), a Date or a ms timestamp` },
  );
}

/** Zod schema of {@link HistoryOptions}. */
const historyOptionsSchema = z.strictObject({
  topic: z.custom<Topic>((v) => typeof v === 'object' && v !== null && 'keys' in v && 'types' in v, { message: 'expected a topic from defineTopic()' }),
  start: boundSchema('-').default('-'),
  end: boundSchema('+').default('+'),
  count: z.number().int().min(1).max(MAX_COUNT).default(100),
  reverse: z.boolean().default(false),
});

/** A bound as XRANGE takes it. A bare ms value means `ms-0` as a start and `ms-<max>` as an end. */
function toRangeArg(bound: HistoryBound): string {
  if (bound instanceof Date) return String(bound.getTime());
  return String(bound);
}

/**
 * Reads one page of a topic's history with XRANGE (or XREVRANGE when `reverse`): the replay
 * and audit view of a stream, independent of any consumer group (nothing is acked or claimed).
 * Entries are decoded and validated against the topic's schemas; malformed ones are returned
 * in `malformed`, never thrown.
 *
 * Reads `count + 1` entries so that `next` is `undefined` exactly when nothing is left.
 * Redis ≥ 6.2 (exclusive `(` ranges).
 *
 * @example
 * // The 50 newest orders, newest first:
 * const { messages } = await readHistory(client, { topic: orders, reverse: true, count: 50 });
 * // Everything since midnight, page by page:
 * let page = await readHistory(client, { topic: orders, start: midnight });
 * while (page.next) page = await readHistory(client, { topic: orders, start: page.next });
 * @throws InvalidArgumentError naming the bad option (e.g. `HistoryOptions.count`)
 * @throws TributaryError when Redis fails (e.g. `ERR_REDIS` if the key is not a stream)
 */
export async function readHistory<T extends TopicTypes>(
  connection: RedisClientLike | Commander,
  options: HistoryOptions<T>,
): Promise<HistoryPage<T>> {
  const o = parseOptions(historyOptionsSchema, options, 'HistoryOptions');
  const commander = asCommander(connection);
  const topic = options.topic;
  const key = topic.keys.stream;
  const start = toRangeArg(o.start);
  const end = toRangeArg(o.end);
  const args = o.reverse
    ? ['XREVRANGE', key, end, start, 'COUNT', String(o.count + 1)]
    : ['XRANGE', key, start, end, 'COUNT', String(o.count + 1)];
  let raw: unknown;
  try {
    raw = await commander.send(key, args);
  } catch (error) {
    throw toTributaryError(error, `${args[0]} ${key} ${args[2]} ${args[3]}`);
  }
  const entries = parseEntries(raw);
  const more = entries.length > o.count;
  if (more) entries.length = o.count;
  const page: HistoryPage<T> = { messages: [], malformed: [], next: more ? `(${entries[entries.length - 1]!.id}` : undefined };
  for (const entry of entries) {
    const decoded = decodeEntry(topic, entry);
    if (decoded.malformed) page.malformed.push(decoded.malformed);
    else page.messages.push(decoded.message);
  }
  return page;
}

/**
 * Pages through a whole range with {@link readHistory}, yielding each non-empty page in read
 * order until the range is exhausted. Each page is one XRANGE/XREVRANGE of `count + 1`
 * entries, so memory stays bounded however long the stream is. Entries appended while
 * iterating are included if they fall inside the range (with the default `end: '+'`).
 *
 * @example
 * for await (const page of iterateHistory(client, { topic: orders, start: '0' })) {
 *   for (const msg of page.messages) rebuild(msg);
 *   for (const bad of page.malformed) log.warn(bad.streamId, bad.error.message);
 * }
 * @throws InvalidArgumentError naming the bad option, on the first `next()`
 */
export async function* iterateHistory<T extends TopicTypes>(
  connection: RedisClientLike | Commander,
  options: HistoryOptions<T>,
): AsyncGenerator<HistoryPage<T>, void, undefined> {
  const commander = asCommander(connection);
  let current: HistoryOptions<T> = { ...options };
  for (;;) {
    const page = await readHistory(commander, current);
    if (page.messages.length > 0 || page.malformed.length > 0) yield page;
    if (page.next === undefined) return;
    current = options.reverse ? { ...current, end: page.next } : { ...current, start: page.next };
  }
}
