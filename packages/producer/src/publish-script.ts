import { defineScript, Field, type LuaScript } from '@tributary/core';

/**
 * Idempotent publish, atomically in one slot (both keys carry the topic's hash tag, so it runs
 * unchanged on Redis Cluster).
 *
 * KEYS[1] stream `{t}`, KEYS[2] marker `{t}:idem:<key>`.
 * ARGV[1] marker TTL in ms, ARGV[2] `'1'` for NOMKSTREAM, ARGV[3] number of trim arguments,
 * then the trim arguments, then the entry's field/value pairs.
 *
 * Replies `{status, streamId, id}`: status 0 = appended, 1 = duplicate (streamId from the
 * marker, id = the `id` field of that entry, `''` if it was trimmed since), 2 = the stream is
 * missing and NOMKSTREAM was given (nothing written).
 */
export const IDEMPOTENT_PUBLISH_SCRIPT: LuaScript = defineScript(`
local existing = redis.call('GET', KEYS[2])
if existing then
  local appId = ''
  -- pcall: a marker edited by hand to a non-ID must not turn a duplicate into an error.
  local entries = redis.pcall('XRANGE', KEYS[1], existing, existing)
  local entry = type(entries) == 'table' and not entries.err and entries[1]
  if entry then
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == '${Field.Id}' then appId = fields[i + 1] break end
    end
  end
  return {1, existing, appId}
end
local args = {KEYS[1]}
if ARGV[2] == '1' then args[#args + 1] = 'NOMKSTREAM' end
local ntrim = tonumber(ARGV[3])
for i = 1, ntrim do args[#args + 1] = ARGV[3 + i] end
args[#args + 1] = '*'
for i = 4 + ntrim, #ARGV do args[#args + 1] = ARGV[i] end
local id = redis.call('XADD', unpack(args))
if not id then return {2, '', ''} end
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {0, id, ''}
`);

/** Reply of {@link IDEMPOTENT_PUBLISH_SCRIPT}. */
export type IdempotentPublishReply = [status: 0 | 1 | 2, streamId: string, id: string];

/** Status values of {@link IdempotentPublishReply}. */
export const IdempotentStatus = { Appended: 0, Duplicate: 1, StreamMissing: 2 } as const;

/**
 * ARGV of {@link IDEMPOTENT_PUBLISH_SCRIPT}; `head` is `AppendMode.scriptHead(now)` (NOMKSTREAM
 * flag, trim count, trim arguments), the same head the batch script takes.
 */
export function idempotentPublishArgs(ttlMs: number, head: readonly string[], fields: readonly string[]): string[] {
  return [String(ttlMs), ...head, ...fields];
}
