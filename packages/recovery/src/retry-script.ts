import { type Commander, defineScript, type Topic, toTributaryError } from '@tributary/core';
import { failuresKey, LUA_NOW_MS } from './failure-times.js';

/**
 * Makes a failed entry eligible for reclaim after its backoff instead of after claimIdleMs,
 * without in-process state: its idle time is set to `claimIdleMs − delay` (XCLAIM to the same
 * consumer with IDLE and JUSTID, which does not count as a delivery), so reclaim loops that take
 * entries idle ≥ claimIdleMs take it `delay` ms from now. Only while this consumer still owns
 * it (checked in the same script), so a message a peer has taken over is never touched. Also
 * records the first failure time (HSETNX, server clock).
 *
 * KEYS: stream, failures hash. ARGV: group, consumer, id, idle ms. Returns 1, or 0 if not owned.
 */
const retryScript = defineScript(`${LUA_NOW_MS}
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if not p[1] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[4], 'JUSTID')
redis.call('HSETNX', KEYS[2], ARGV[3], now_ms())
return 1
`);

/**
 * Schedules the next attempt of a failed entry `delayMs` from now (at most `claimIdleMs`).
 * @returns false when the consumer no longer owns the entry (a peer reclaimed it, or it was acked)
 */
export async function scheduleRetry(
  commander: Commander,
  params: { topic: Topic; group: string; consumer: string; streamId: string; delayMs: number; claimIdleMs: number },
): Promise<boolean> {
  const { topic, group, consumer, streamId } = params;
  const idle = Math.max(0, params.claimIdleMs - Math.max(0, Math.round(params.delayMs)));
  try {
    const reply = await commander.evalScript(retryScript, [topic.keys.stream, failuresKey(topic, group)], [group, consumer, streamId, String(idle)]);
    return Number(reply) === 1;
  } catch (error) {
    throw toTributaryError(error, `schedule retry ${topic.keys.stream} ${streamId}`);
  }
}
