import type { Topic } from '@tributary/core';

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
