import {
  type Commander,
  defineScript,
  encodeMessage,
  Field,
  InvalidArgumentError,
  isTributaryError,
  type LuaScript,
  type OutgoingMessage,
  type RedisCommandOptions,
  type Retention,
  retentionArgs,
  type Topic,
  type TopicTypes,
  TributaryError,
} from '@tributary/core';
import { packEntries } from './pack-entries.js';
import { batchError, streamMissingError, writtenStateOf } from './producer-errors.js';
import type { PublishManyResult } from './publish-result.js';

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

type BatchReply = [ids: string, status: 0 | 1 | 2, error: string];

/** What a batch needs from its producer. */
interface BatchTarget {
  readonly commander: Commander;
  readonly stream: string;
  readonly noMkStream: boolean;
  readonly commandOptions: RedisCommandOptions | undefined;
}

interface Encoded {
  readonly index: number;
  readonly fields: string[];
  readonly id: string;
}

/** encodeMessage for one element of a batch; anything thrown becomes a typed error. */
function encodeOne<T extends TopicTypes>(topic: Topic<T>, message: OutgoingMessage<T>, now: number): string[] {
  if (typeof message !== 'object' || message === null) {
    throw new InvalidArgumentError('message', `expected a message object, got ${message === null ? 'null' : typeof message}`);
  }
  return encodeMessage(topic, message, now);
}

/** An entry with more fields than a script can pass to XADD. */
export function tooManyHeaders(fields: number): InvalidArgumentError {
  return new InvalidArgumentError('headers', `at most ${(MAX_SCRIPT_FIELDS - 8) / 2} headers per message, got ${(fields - 8) / 2}`);
}

function toTyped(error: unknown, index: number): TributaryError {
  if (isTributaryError(error)) return error;
  return new InvalidArgumentError(`messages[${index}]`, error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * Publishes a batch. Messages are validated and encoded chunk by chunk, and chunk `k + 1` is sent
 * while Redis still runs chunk `k` (at most two in flight), so encoding overlaps the server's
 * work. After the first failed chunk nothing more is sent: the failed chunk's unwritten
 * messages get its error, the chunk already in flight behind it is reported as it happened, and
 * every later valid message gets a "not sent" error with `data.written: false`. Invalid
 * messages always get their own validation error.
 */
export async function publishBatch<T extends TopicTypes>(
  target: BatchTarget,
  topic: Topic<T>,
  messages: readonly OutgoingMessage<T>[],
  retention: Retention,
  chunkSize: number,
): Promise<PublishManyResult[]> {
  const now = Date.now();
  const results: PublishManyResult[] = new Array<PublishManyResult>(messages.length);
  const trim = retentionArgs(retention, now);
  const head = [target.noMkStream ? '1' : '0', String(trim.length), ...trim];
  const context = `publishMany ${target.stream}`;
  let notSent: TributaryError | undefined;
  const failed = (error: TributaryError) => {
    if (notSent) return;
    notSent = new TributaryError(error.code, `not sent: an earlier chunk of the batch failed (${error.message})`, {
      cause: error,
      data: { stream: target.stream, written: false },
    });
  };

  const send = async (chunk: readonly Encoded[]): Promise<void> => {
    const packed = packEntries(chunk.map((entry) => entry.fields));
    // node-redis accepts Buffers next to strings; RedisArgument is not part of Commander's type.
    const args = ['EVAL', PUBLISH_MANY_SCRIPT.source, '1', target.stream, ...head, packed as unknown as string];
    let reply: BatchReply;
    try {
      // EVAL rather than EVALSHA: with two chunks in flight, a NOSCRIPT retry of one would land
      // after the next chunk and break the batch's order. The source adds ~1.5 KB per chunk.
      reply = await target.commander.send<BatchReply>(target.stream, args, target.commandOptions);
    } catch (error) {
      const written = writtenStateOf(error);
      const range = `messages ${chunk[0]!.index}..${chunk[chunk.length - 1]!.index} ${written === false ? 'were not written' : 'may or may not have been written'}`;
      const typed = batchError(error, context, target.stream, written, range);
      for (const { index } of chunk) results[index] = { ok: false, error: typed, index };
      failed(typed);
      return;
    }
    const [joined, status, message] = reply;
    const ids = joined === '' ? [] : String(joined).split(' ');
    for (let k = 0; k < ids.length; k++) {
      const entry = chunk[k]!;
      results[entry.index] = { ok: true, streamId: String(ids[k]), id: entry.id, duplicate: false };
    }
    if (status === 0) return;
    const typed = status === 1
      ? streamMissingError(target.stream, context)
      : batchError(new Error(message), context, target.stream, false, `message ${chunk[ids.length]?.index} failed; it and the rest of its chunk were not written`);
    for (let k = ids.length; k < chunk.length; k++) {
      const { index } = chunk[k]!;
      results[index] = { ok: false, error: typed, index };
    }
    failed(typed);
  };

  let inFlight: Promise<void> | undefined;
  let next = 0;
  while (next < messages.length) {
    const chunk: Encoded[] = [];
    for (; next < messages.length && chunk.length < chunkSize; next++) {
      try {
        const fields = encodeOne(topic, messages[next]!, now);
        if (fields.length > MAX_SCRIPT_FIELDS) throw tooManyHeaders(fields.length);
        // encodeMessage puts the application ID at position 5: type, t, data, d, id, <id>.
        chunk.push({ index: next, fields, id: fields[5]! });
      } catch (error) {
        results[next] = { ok: false, error: toTyped(error, next), index: next };
      }
    }
    if (chunk.length === 0) continue;
    if (notSent) {
      for (const { index } of chunk) results[index] = { ok: false, error: notSent, index };
      continue;
    }
    const sending = send(chunk);
    if (inFlight) await inFlight;
    inFlight = sending;
    // Let node-redis write this chunk (it flushes on setImmediate) before encoding the next one.
    if (next < messages.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await inFlight;
  return results;
}
