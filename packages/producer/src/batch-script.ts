import { type Commander, defineScript, Field, InvalidArgumentError, type LuaScript, type RedisCommandOptions } from '@tributary/core';
import { ErrorReply } from 'redis';
import { packEntries } from './pack-entries.js';

/**
 * Appends many entries in one server round trip.
 *
 * KEYS[1] stream. ARGV[1] `'1'` for NOMKSTREAM, ARGV[2] number of trim arguments, then the trim
 * arguments, then the entries packed by {@link packEntries} (`[type, data, id, ts, headers…]`
 * each, decoded by the built-in `cmsgpack`: no per-field script argument, no huge `unpack`).
 *
 * Retention: the first XADD carries NOMKSTREAM and the trim arguments, so a missing stream or an
 * option the server rejects (MINID before 6.2) fails before anything is written; one XTRIM with
 * the same arguments runs after the last append. The script is atomic, so nobody can observe
 * the stream in between: the result equals trimming on every XADD, and the appends in between
 * are plain `XADD key * type … data … id … ts …` calls with no argument table to build.
 *
 * Write failures are caught (`redis.pcall`) so the reply always says how many entries went in:
 * `{ids, status, error}`, `ids` joined by spaces, with status 0 = all appended, 1 = stream
 * missing with NOMKSTREAM, 2 = the XADD after the last returned ID failed with `error`.
 */
const PUBLISH_MANY_SCRIPT: LuaScript = defineScript(`
local key = KEYS[1]
local ntrim = tonumber(ARGV[2])
local entries = cmsgpack.unpack(ARGV[3 + ntrim])
local ids = {}
local xadd = redis.pcall
local function reply(status, err)
  return {table.concat(ids, ' '), status, err}
end
local function withFields(args, f)
  local n = #args
  args[n + 1] = '${Field.Type}'
  args[n + 2] = f[1]
  args[n + 3] = '${Field.Data}'
  args[n + 4] = f[2]
  args[n + 5] = '${Field.Id}'
  args[n + 6] = f[3]
  args[n + 7] = '${Field.Ts}'
  args[n + 8] = f[4]
  for k = 5, #f do args[n + 4 + k] = f[k] end
  return args
end
for m = 1, #entries do
  local f = entries[m]
  local id
  if m == 1 then
    local head = {key}
    if ARGV[1] == '1' then head[#head + 1] = 'NOMKSTREAM' end
    for t = 1, ntrim do head[#head + 1] = ARGV[2 + t] end
    head[#head + 1] = '*'
    id = xadd('XADD', unpack(withFields(head, f)))
  elseif #f == 4 then
    id = xadd('XADD', key, '*', '${Field.Type}', f[1], '${Field.Data}', f[2], '${Field.Id}', f[3], '${Field.Ts}', f[4])
  else
    id = xadd('XADD', unpack(withFields({key, '*'}, f)))
  end
  if type(id) == 'table' then return reply(2, tostring(id.err)) end
  if not id then return reply(1, '') end
  ids[m] = id
end
if ntrim > 0 and #entries > 1 then
  local args = {key}
  for t = 1, ntrim do args[t + 1] = ARGV[2 + t] end
  -- Cannot fail: the first XADD accepted the same arguments. pcall all the same, so the reply
  -- still reports the appends, which did happen.
  xadd('XTRIM', unpack(args))
end
return reply(0, '')
`);

/**
 * Most fields one entry may have in a script: Lua's `unpack` stops at about 8000 values
 * (LUAI_MAXCSTACK). 7000 leaves room for the key and options: 3496 headers.
 */
export const MAX_SCRIPT_FIELDS = 7000;

/** The application ID of an entry encoded by `encodeMessage`: type, t, data, d, id, <id>, … */
export function appIdOf(fields: readonly string[]): string {
  return fields[5]!;
}

/** An entry with more fields than a script can pass to XADD. */
export function tooManyHeaders(fields: number): InvalidArgumentError {
  return new InvalidArgumentError('headers', `at most ${(MAX_SCRIPT_FIELDS - 8) / 2} headers per message, got ${(fields - 8) / 2}`);
}

type BatchReply = [ids: string, status: 0 | 1 | 2, error: string];

/** Where a batch goes. */
export interface BatchTarget {
  readonly commander: Commander;
  readonly stream: string;
  readonly commandOptions: RedisCommandOptions | undefined;
}

/**
 * Why a script call stopped before its last entry: `'stream-missing'` (NOMKSTREAM and no
 * stream: nothing appended), or an error with `inScript: true` (the `ErrorReply` of the XADD
 * that failed inside the script: the entries before it are appended, it and the rest are not)
 * or `inScript: false` (the call itself failed with `error`: nothing appended, or, after a lost
 * connection or a timeout, unknown; see `writtenStateOf`).
 */
export type BatchFailure = 'stream-missing' | { readonly error: unknown; readonly inScript: boolean };

/** What one script call did. */
export interface BatchOutcome {
  /** The stream IDs of the appended entries: the first `ids.length` of the call, in order. */
  readonly ids: readonly string[];
  /** Why the rest were not appended; absent when every entry was. */
  readonly failure?: BatchFailure;
}

/**
 * Appends `entries` (encodeMessage output, at most {@link MAX_SCRIPT_FIELDS} fields each) with
 * one call of the batch script, `head` being the ARGV before them (`AppendMode.scriptHead`).
 * Never rejects: the outcome says what went in.
 *
 * The entries are packed before this returns, and not referenced after: callers keep only what
 * they need for the results (the IDs), so the field text of a batch in flight dies young instead
 * of being copied by every scavenge until the reply (publishMany A/B: main-thread GC 0.35 →
 * 0.25 µs per message).
 */
export function appendBatch(target: BatchTarget, head: readonly string[], entries: readonly (readonly string[])[]): Promise<BatchOutcome> {
  let packed: Buffer;
  try {
    packed = packEntries(entries);
  } catch (error) {
    return Promise.resolve({ ids: [], failure: { error, inScript: false } });
  }
  return sendPacked(target, head, packed);
}

// A separate async function so that its suspended frame holds the packed buffer only, not
// `entries` (a parameter stays reachable from the frame while the call waits for Redis).
async function sendPacked(target: BatchTarget, head: readonly string[], packed: Buffer): Promise<BatchOutcome> {
  let reply: BatchReply;
  try {
    // node-redis accepts Buffers next to strings; RedisArgument is not part of Commander's type.
    const args = ['EVAL', PUBLISH_MANY_SCRIPT.source, '1', target.stream, ...head, packed as unknown as string];
    // EVAL rather than EVALSHA: with several calls in flight, a NOSCRIPT retry of one would
    // land after the next and break the order. The source adds ~1.5 KB per call.
    reply = await target.commander.send<BatchReply>(target.stream, args, target.commandOptions);
  } catch (error) {
    return { ids: [], failure: { error, inScript: false } };
  }
  const [joined, status, message] = reply;
  const ids = joined === '' ? [] : String(joined).split(' ');
  if (status === 0) return { ids };
  // An ErrorReply, as if the XADD had been sent alone: it is typed the same way.
  return { ids, failure: status === 1 ? 'stream-missing' : { error: new ErrorReply(String(message)), inScript: true } };
}
