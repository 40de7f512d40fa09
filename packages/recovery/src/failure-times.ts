import { type Commander, defineScript, type Topic } from '@tributary/core';

/**
 * Per-group hash of first-failure times, `{topic}:failures:<group>`: field = stream ID,
 * value = ms of its first recorded failure. In the topic's slot, so the retry and dead-letter
 * scripts can touch it together with the stream on Redis Cluster.
 */
export function failuresKey(topic: Topic, group: string): string {
  return `${topic.keys.stream}:failures:${group}`;
}

/** Lua snippet: the server clock in ms as a decimal string (same clock for first and last failure times). */
export const LUA_NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end
`;

/**
 * Drops first-failure times of entries no longer pending for the group (they succeeded, or
 * were acked some other way); one HSCAN step of at most about `count` fields.
 * KEYS: stream, failures hash. ARGV: group, cursor, count. Returns { next cursor, removed }.
 */
const pruneScript = defineScript(`
local r = redis.call('HSCAN', KEYS[2], ARGV[2], 'COUNT', ARGV[3])
local fields = r[2]
local removed = 0
for i = 1, #fields, 2 do
  local id = fields[i]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if not p[1] then
    redis.call('HDEL', KEYS[2], id)
    removed = removed + 1
  end
end
return { r[1], removed }
`);

/**
 * One bounded step of pruning the failures hash; call it repeatedly with the returned cursor.
 * @returns the next HSCAN cursor (`'0'` when a full pass ended) and how many fields were removed
 */
export async function pruneFailureTimes(
  commander: Commander,
  topic: Topic,
  group: string,
  cursor: string,
  count: number,
): Promise<{ cursor: string; removed: number }> {
  const reply = await commander.evalScript<unknown[]>(pruneScript, [topic.keys.stream, failuresKey(topic, group)], [group, cursor, String(count)]);
  return { cursor: String(reply[0] ?? '0'), removed: Number(reply[1] ?? 0) };
}
