import {
  asCommander,
  type Commander,
  defineScript,
  parseOptions,
  type RedisClientLike,
  type Retention,
  retentionSchema,
  type Topic,
  toTributaryError,
  validateName,
} from '@tributary/core';
import type { ClaimedEntry } from '@tributary/consumer-group';
import { z } from 'zod';
import { DeadLetterReason } from './dead-letter-field.js';
import { moveToDeadLetter } from './dead-letter-script.js';
import { DEFAULT_DEAD_LETTER_RETENTION } from './dead-letter.js';
import { topicSchema } from './option-schemas.js';

/**
 * Second half of a claim: the IDs XAUTOCLAIM JUSTID took for us (idle reset, counter not
 * bumped) are claimed again with XCLAIM, which bumps the delivery counter (a reclaim is a
 * delivery attempt) and returns the data, only while we still own them. IDs whose data is
 * gone come back in `vanished`: Redis 7 drops them from the pending list in that XCLAIM,
 * Redis 6.2 returns nil and keeps them (the lost-data record then acks them).
 * Returns { { id, fields, deliveries }… }, { vanished id… }.
 */
const claimScript = defineScript(`
local claimed, vanished = {}, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2])
  if p[1] then
    local r = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id)
    local e = r[1]
    if e and e[2] then
      claimed[#claimed + 1] = { id, e[2], tonumber(p[1][4]) + 1 }
    else
      vanished[#vanished + 1] = id
    end
  end
end
return { claimed, vanished }
`);

/**
 * Claims `ids` for `consumer` with a delivery-counter bump, only those it owns (see the
 * script above). `vanished` lists owned IDs whose data is gone.
 */
export async function claimOwned(
  commander: Commander,
  topic: Topic,
  group: string,
  consumer: string,
  ids: readonly string[],
): Promise<{ claimed: ClaimedEntry[]; vanished: string[] }> {
  const claimed: ClaimedEntry[] = [];
  const vanished: string[] = [];
  if (ids.length === 0) return { claimed, vanished };
  const key = topic.keys.stream;
  let result: unknown[];
  try {
    result = await commander.evalScript<unknown[]>(claimScript, [key], [group, consumer, ...ids]);
  } catch (error) {
    throw toTributaryError(error, `XCLAIM ${key} ${group}`);
  }
  for (const item of (result[0] as unknown[] | undefined) ?? []) {
    const [id, fields, deliveries] = item as [string, unknown[], number];
    claimed.push({ id: String(id), fields: Array.isArray(fields) ? fields.map(String) : null, deliveries: Number(deliveries) });
  }
  for (const id of (result[1] as unknown[] | undefined) ?? []) vanished.push(String(id));
  return { claimed, vanished };
}

/**
 * Gives claimed entries back without running them, while this consumer still owns them: their
 * idle time is set to `idleMs` (due for reclaim again at once) and, for entries whose counter a
 * claim already bumped, the delivery counter is restored (XCLAIM … RETRYCOUNT, JUSTID), so an
 * attempt that never ran is not counted.
 * KEYS: stream. ARGV: group, consumer, idle ms, then pairs (id, counter or '' to keep it).
 */
const releaseScript = defineScript(`
local released = 0
for i = 4, #ARGV - 1, 2 do
  local id, rc = ARGV[i], ARGV[i + 1]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2])
  if p[1] then
    if rc == '' then
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', ARGV[3], 'JUSTID')
    else
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', ARGV[3], 'RETRYCOUNT', rc, 'JUSTID')
    end
    released = released + 1
  end
end
return released
`);

/** Releases entries (see the script above). `deliveries` restores the counter to that value. */
export async function releaseClaims(
  commander: Commander,
  params: { topic: Topic; group: string; consumer: string; idleMs: number; entries: readonly { id: string; deliveries?: number }[] },
): Promise<number> {
  if (params.entries.length === 0) return 0;
  const key = params.topic.keys.stream;
  const pairs = params.entries.flatMap((e) => [e.id, e.deliveries === undefined ? '' : String(Math.max(0, e.deliveries))]);
  try {
    return Number(await commander.evalScript(releaseScript, [key], [params.group, params.consumer, String(params.idleMs), ...pairs]));
  } catch (error) {
    throw toTributaryError(error, `release ${key} ${params.group}`);
  }
}

/** One XAUTOCLAIM … JUSTID call: IDs taken (counter not bumped), cursor, and deleted IDs. */
interface AutoClaim {
  /** Cursor for the next call; `0-0` when the walk reached the end of the pending list. */
  readonly cursor: string;
  /** IDs now held by the consumer, idle time reset, delivery counter unchanged. */
  readonly ids: string[];
  /** IDs that were pending but whose data is gone (Redis ≥ 7 reports them and drops them from the pending list). */
  readonly deleted: string[];
}

/**
 * Claims up to `count` IDs idle at least `minIdleMs` for `consumer`, from `cursor`, without
 * bumping their delivery counters (JUSTID): {@link claimOwned} bumps those that will run.
 * XAUTOCLAIM inspects at most count × 10 entries per call: follow the cursor to walk the
 * whole list.
 */
export async function autoClaimIds(
  commander: Commander,
  params: { topic: Topic; group: string; consumer: string; minIdleMs: number; cursor: string; count: number },
): Promise<AutoClaim> {
  const key = params.topic.keys.stream;
  let reply: unknown[];
  try {
    reply = await commander.send<unknown[]>(key, [
      'XAUTOCLAIM', key, params.group, params.consumer, String(params.minIdleMs), params.cursor, 'COUNT', String(params.count), 'JUSTID',
    ]);
  } catch (error) {
    throw toTributaryError(error, `XAUTOCLAIM ${key} ${params.group}`);
  }
  return {
    cursor: String(reply[0] ?? '0-0'),
    ids: Array.isArray(reply[1]) ? (reply[1] as unknown[]).filter((id) => id !== null && id !== undefined).map(String) : [],
    // Redis 6.2 has no third element.
    deleted: Array.isArray(reply[2]) ? (reply[2] as unknown[]).map(String) : [],
  };
}

/** Error message recorded for lost entries. */
const LOST_MESSAGE = 'the entry was deleted from the stream (MAXLEN/MINID trim or XDEL) while it was pending: its data is lost';

/**
 * Writes a `trimmed` dead-letter record for each lost entry, so every message still has a
 * place (the record holds the source ID and metadata; the data itself is gone).
 * @returns the dead-letter IDs written
 */
export async function recordLost(
  commander: Commander,
  params: { topic: Topic; group: string; consumer: string; ids: readonly string[]; retention: Retention },
): Promise<string[]> {
  const written: string[] = [];
  for (const streamId of params.ids) {
    const moved = await moveToDeadLetter(commander, {
      topic: params.topic,
      group: params.group,
      consumer: params.consumer,
      streamId,
      reason: DeadLetterReason.Trimmed,
      deliveries: 0,
      errorName: 'DataLost',
      errorMessage: LOST_MESSAGE,
      lost: true,
      retention: params.retention,
    });
    if (moved) written.push(moved.deadLetterId);
  }
  return written;
}

/** Options of {@link reclaimIdle}. */
export interface ReclaimIdleOptions {
  topic: Topic;
  group: string;
  /** The consumer that takes the entries. */
  consumer: string;
  /** Only entries idle at least this long (ms). */
  minIdleMs: number;
  /** COUNT of each XAUTOCLAIM call. Default 100. */
  count?: number;
  /** Stop after claiming this many entries. Default: no limit (the whole walk). */
  limit?: number;
  /** Retention of the dead-letter stream for lost-data records. Default `{ maxLen: 100000 }`. */
  deadLetterRetention?: Retention;
}

const reclaimSchema = z.strictObject({
  topic: topicSchema,
  group: z.string(),
  consumer: z.string(),
  minIdleMs: z.number().int().nonnegative(),
  count: z.number().int().positive().max(10_000).default(100),
  limit: z.number().int().positive().optional(),
  deadLetterRetention: retentionSchema.optional(),
});

/**
 * Claims every entry of the group idle at least `minIdleMs` for `consumer`: one full
 * XAUTOCLAIM walk (Redis ≥ 6.2) following the cursor until it returns to `0-0`, so entries
 * beyond the first count × 10 inspected are not missed. Each claim bumps the entry's delivery
 * counter (reported as `deliveries`). Usable without a worker, e.g. to take over a dead
 * consumer's work in a script; handle or ack what you get.
 *
 * Entries whose data was trimmed or deleted while pending are returned in `deleted` and each
 * gets a `trimmed` record in the dead-letter stream (Redis 7 reports them itself and drops
 * them from the pending list; on 6.2 they are found when XCLAIM returns no data).
 * @throws InvalidArgumentError naming the bad option
 */
export async function reclaimIdle(
  connection: RedisClientLike | Commander,
  options: ReclaimIdleOptions,
): Promise<{ claimed: ClaimedEntry[]; deleted: string[] }> {
  const o = parseOptions(reclaimSchema, options, 'ReclaimIdleOptions');
  validateName('ReclaimIdleOptions.group', o.group);
  validateName('ReclaimIdleOptions.consumer', o.consumer);
  const commander = asCommander(connection);
  const claimed: ClaimedEntry[] = [];
  const deleted: string[] = [];
  let cursor = '0-0';
  do {
    const left = o.limit === undefined ? o.count : Math.min(o.count, o.limit - claimed.length);
    const step = await autoClaimIds(commander, { topic: options.topic, group: o.group, consumer: o.consumer, minIdleMs: o.minIdleMs, cursor, count: left });
    const owned = await claimOwned(commander, options.topic, o.group, o.consumer, step.ids);
    const gone = [...step.deleted, ...owned.vanished];
    claimed.push(...owned.claimed);
    deleted.push(...gone);
    if (gone.length > 0) {
      await recordLost(commander, {
        topic: options.topic, group: o.group, consumer: o.consumer, ids: gone,
        retention: options.deadLetterRetention ?? DEFAULT_DEAD_LETTER_RETENTION,
      });
    }
    cursor = step.cursor;
  } while (cursor !== '0-0' && (o.limit === undefined || claimed.length < o.limit));
  return { claimed, deleted };
}
