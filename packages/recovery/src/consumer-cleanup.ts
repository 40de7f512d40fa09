import {
  asCommander,
  type Commander,
  defineScript,
  pairsToObject,
  parseOptions,
  type RedisClientLike,
  type Topic,
  toTributaryError,
  validateName,
} from '@tributary/core';
import { z } from 'zod';
import { topicSchema } from './option-schemas.js';

/**
 * Deletes one consumer only if, at this instant, it holds no pending entry and has been idle
 * at least the threshold: checked and done in one script, so a read that delivers to it
 * can never slip in between (its pending entries would be lost with it).
 * KEYS: stream. ARGV: group, consumer, idle ms. Returns 1 deleted, 0 kept.
 */
const deleteIfIdleScript = defineScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if p[1] then return 0 end
local consumers = redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
for _, c in ipairs(consumers) do
  local name, idle
  for i = 1, #c - 1, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'idle' then idle = c[i + 1] end
  end
  if name == ARGV[2] then
    if tonumber(idle) < tonumber(ARGV[3]) then return 0 end
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
end
return 0
`);

/** Options of {@link cleanupConsumers}. */
export interface CleanupConsumersOptions {
  topic: Topic;
  group: string;
  /** Delete consumers idle (no read or claim) at least this long, in ms. */
  idleMs: number;
}

/** Result of {@link cleanupConsumers}. */
export interface CleanupConsumersResult {
  /** Consumers deleted. */
  deleted: string[];
  /** Consumers kept, as listed before the cleanup. */
  kept: { name: string; pending: number; idleMs: number }[];
}

const cleanupSchema = z.strictObject({
  topic: topicSchema,
  group: z.string(),
  idleMs: z.number().int().nonnegative(),
});

/**
 * Deletes stale consumers of a group: those idle at least `idleMs` **and** holding zero pending
 * entries. Each deletion re-checks both conditions atomically with the XGROUP DELCONSUMER (one
 * script), so it never loses a pending entry, even racing a read. A consumer with pending entries
 * is never deleted: let a live worker's reclaim take them over first. A live worker whose
 * consumer is deleted between reads is simply recreated by its next XREADGROUP.
 * @throws NoGroupError when the group or stream does not exist
 * @throws InvalidArgumentError naming the bad option
 */
export async function cleanupConsumers(
  connection: RedisClientLike | Commander,
  options: CleanupConsumersOptions,
): Promise<CleanupConsumersResult> {
  const o = parseOptions(cleanupSchema, options, 'CleanupConsumersOptions');
  validateName('CleanupConsumersOptions.group', o.group);
  const commander = asCommander(connection);
  const key = options.topic.keys.stream;
  let raw: unknown;
  try {
    raw = await commander.send(key, ['XINFO', 'CONSUMERS', key, o.group]);
  } catch (error) {
    throw toTributaryError(error, `XINFO CONSUMERS ${key} ${o.group}`);
  }
  const consumers = (Array.isArray(raw) ? raw : []).map((item) => {
    const c = pairsToObject(item);
    return { name: String(c['name']), pending: Number(c['pending']), idleMs: Number(c['idle']) };
  });
  const result: CleanupConsumersResult = { deleted: [], kept: [] };
  for (const consumer of consumers) {
    let deleted = false;
    if (consumer.pending === 0 && consumer.idleMs >= o.idleMs) {
      try {
        deleted = Number(await commander.evalScript(deleteIfIdleScript, [key], [o.group, consumer.name, String(o.idleMs)])) === 1;
      } catch (error) {
        throw toTributaryError(error, `XGROUP DELCONSUMER ${key} ${o.group} ${consumer.name}`);
      }
    }
    if (deleted) result.deleted.push(consumer.name);
    else result.kept.push(consumer);
  }
  return result;
}
