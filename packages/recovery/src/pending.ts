import {
  asCommander,
  type Commander,
  parseOptions,
  type RedisClientLike,
  type Topic,
  toTributaryError,
  validateName,
} from '@tributary/core';
import { z } from 'zod';
import { rangeIdSchema, topicSchema } from './option-schemas.js';

/** A group's pending list at a glance (what an ops page or the orders example's `/orders/pending` shows). */
export interface PendingSummary {
  /** Entries delivered and not yet acked. */
  count: number;
  /** Lowest and highest pending stream IDs (absent when nothing is pending). */
  minId?: string;
  maxId?: string;
  /** Idle time of the oldest pending entry (the lowest ID): how long since it was last delivered or renewed. */
  oldestIdleMs?: number;
  /** Consumers holding pending entries, with how many each. */
  consumers: { name: string; pending: number }[];
}

/** One pending entry (XPENDING extended form). */
export interface PendingEntry {
  /** Stream ID. */
  streamId: string;
  /** Consumer that holds it. */
  consumer: string;
  /** ms since it was last delivered (or its lease renewed, or its retry time set). */
  idleMs: number;
  /** The server's delivery counter. */
  deliveries: number;
}

const groupSchema = z.strictObject({ topic: topicSchema, group: z.string() });

function xpendingError(error: unknown, key: string, group: string) {
  return toTributaryError(error, `XPENDING ${key} ${group}`);
}

/**
 * Summarises a group's pending list: count, ID range, per-consumer counts (XPENDING summary
 * form) and the idle time of its oldest entry (one more XPENDING of one entry).
 * @throws NoGroupError when the group or stream does not exist
 * @throws InvalidArgumentError naming the bad option
 */
export async function pendingSummary(
  connection: RedisClientLike | Commander,
  options: { topic: Topic; group: string },
): Promise<PendingSummary> {
  const o = parseOptions(groupSchema, options, 'PendingSummaryOptions');
  validateName('PendingSummaryOptions.group', o.group);
  const commander = asCommander(connection);
  const key = options.topic.keys.stream;
  let summary: unknown[];
  let oldest: unknown[];
  try {
    [summary, oldest] = await Promise.all([
      commander.send<unknown[]>(key, ['XPENDING', key, o.group]),
      commander.send<unknown[]>(key, ['XPENDING', key, o.group, '-', '+', '1']),
    ]);
  } catch (error) {
    throw xpendingError(error, key, o.group);
  }
  const count = Number(summary[0] ?? 0);
  const result: PendingSummary = { count, consumers: [] };
  if (count === 0) return result;
  result.minId = String(summary[1]);
  result.maxId = String(summary[2]);
  const first = oldest[0] as unknown[] | undefined;
  if (first) result.oldestIdleMs = Number(first[2]);
  const perConsumer = summary[3];
  if (Array.isArray(perConsumer)) {
    if (perConsumer.length > 0 && Array.isArray(perConsumer[0])) {
      for (const item of perConsumer as [string, string][]) result.consumers.push({ name: String(item[0]), pending: Number(item[1]) });
    } else {
      // RESP3 maps reach us as flat [name, count, name, count…] arrays.
      for (let i = 0; i + 1 < perConsumer.length; i += 2) result.consumers.push({ name: String(perConsumer[i]), pending: Number(perConsumer[i + 1]) });
    }
  }
  return result;
}

/** Options of {@link listPending}. */
export interface ListPendingOptions {
  /** The topic whose stream is inspected. */
  topic: Topic;
  /** The consumer group. */
  group: string;
  /** Only entries held by this consumer. */
  consumer?: string;
  /** Only entries idle at least this long (XPENDING IDLE, Redis ≥ 6.2). */
  minIdleMs?: number;
  /** First ID (inclusive; `(id` exclusive). Default `-`. */
  start?: string;
  /** Last ID (inclusive). Default `+`. */
  end?: string;
  /** Most entries returned. Default 100. */
  count?: number;
}

const listSchema = z.strictObject({
  topic: topicSchema,
  group: z.string(),
  consumer: z.string().optional(),
  minIdleMs: z.number().int().nonnegative().optional(),
  start: rangeIdSchema.optional(),
  end: rangeIdSchema.optional(),
  count: z.number().int().positive().max(100_000).default(100),
});

/** Parses an XPENDING extended-form reply. */
function parsePendingEntries(reply: unknown): PendingEntry[] {
  if (!Array.isArray(reply)) return [];
  return (reply as unknown[][]).map((item) => ({
    streamId: String(item[0]),
    consumer: String(item[1]),
    idleMs: Number(item[2]),
    deliveries: Number(item[3]),
  }));
}

/**
 * Lists pending entries with their holder, idle time and delivery count, in ID order
 * (XPENDING extended form; `minIdleMs` needs Redis ≥ 6.2). Page with `start: '(' + lastId`.
 * @throws NoGroupError when the group or stream does not exist
 * @throws InvalidArgumentError naming the bad option
 */
export async function listPending(connection: RedisClientLike | Commander, options: ListPendingOptions): Promise<PendingEntry[]> {
  const o = parseOptions(listSchema, options, 'ListPendingOptions');
  validateName('ListPendingOptions.group', o.group);
  if (o.consumer !== undefined) validateName('ListPendingOptions.consumer', o.consumer);
  const commander = asCommander(connection);
  const key = options.topic.keys.stream;
  const args = ['XPENDING', key, o.group];
  if (o.minIdleMs !== undefined) args.push('IDLE', String(o.minIdleMs));
  args.push(o.start ?? '-', o.end ?? '+', String(o.count));
  if (o.consumer !== undefined) args.push(o.consumer);
  try {
    return parsePendingEntries(await commander.send(key, args));
  } catch (error) {
    throw xpendingError(error, key, o.group);
  }
}
