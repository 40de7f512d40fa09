import { type Commander, defineScript, type Topic } from '@tributary/core';

/**
 * Resets the idle time of messages this consumer still owns (XCLAIM to self with JUSTID,
 * which does not count as a delivery). Ownership is checked first, in the same script, so a
 * worker never steals back a message a peer has already reclaimed from it.
 */
const renewScript = defineScript(`
local renewed = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if p[1] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed[#renewed + 1] = ARGV[i]
  end
end
return renewed
`);

/**
 * Renews the lease of `ids` for `consumer`.
 * @returns the IDs renewed; the others are no longer owned by this consumer (reclaimed by a
 *   peer, acked or dead-lettered)
 */
export async function renewLeases(
  commander: Commander,
  topic: Topic,
  group: string,
  consumer: string,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const key = topic.keys.stream;
  const renewed = await commander.evalScript<string[]>(renewScript, [key], [group, consumer, ...ids]);
  return Array.isArray(renewed) ? renewed.map(String) : [];
}
