import {
  type Commander,
  defineScript,
  encodeMessage,
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
import { batchError, streamMissingError, writtenStateOf } from './producer-errors.js';
import type { PublishManyResult } from './publish-result.js';

/**
 * Appends many entries in one server round trip.
 *
 * KEYS[1] stream. ARGV[1] `'1'` for NOMKSTREAM, ARGV[2] number of trim arguments, then the trim
 * arguments, then the number of messages, then per message its field count and its fields.
 * Fields are passed with counts and copied in a loop: unpacking all of ARGV at once would hit
 * Lua's stack limit (about 8000 values) on big chunks.
 *
 * Every XADD carries the same trim arguments `publish` sends, so a chunk behaves exactly like
 * that many publishes, and an unsupported option (MINID before 6.2) fails the first XADD,
 * before anything is written. Write failures are caught (`redis.pcall`) so the reply always
 * says how many entries went in: `{ids, status, error}` with status 0 = all appended,
 * 1 = stream missing with NOMKSTREAM, 2 = the XADD after the last returned ID failed.
 */
export const PUBLISH_MANY_SCRIPT: LuaScript = defineScript(`
local head = {KEYS[1]}
if ARGV[1] == '1' then head[#head + 1] = 'NOMKSTREAM' end
local ntrim = tonumber(ARGV[2])
for t = 1, ntrim do head[#head + 1] = ARGV[2 + t] end
head[#head + 1] = '*'
local h = #head
local i = 3 + ntrim
local count = tonumber(ARGV[i])
local ids = {}
for m = 1, count do
  local n = tonumber(ARGV[i + 1])
  local args = {}
  for k = 1, h do args[k] = head[k] end
  for f = 1, n do args[h + f] = ARGV[i + 1 + f] end
  i = i + 1 + n
  local id = redis.pcall('XADD', unpack(args))
  if type(id) == 'table' then return {ids, 2, tostring(id.err)} end
  if not id then return {ids, 1, ''} end
  ids[m] = id
end
return {ids, 0, ''}
`);

type BatchReply = [ids: string[], status: 0 | 1 | 2, error: string];

/** What a batch needs from its producer. */
export interface BatchTarget {
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

function toTyped(error: unknown, index: number): TributaryError {
  if (isTributaryError(error)) return error;
  return new InvalidArgumentError(`messages[${index}]`, error instanceof Error ? error.message : String(error), { cause: error });
}

/**
 * Publishes a batch: validates every message first (invalid ones get `ok: false` and are
 * skipped), then appends the valid ones in order, chunk by chunk, one script call per chunk,
 * each chunk sent after the previous one succeeded. At the first failure it stops: the failed
 * chunk's unwritten messages and every later message get `ok: false` with `data.written`
 * telling whether they may have been written.
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
  const valid: Encoded[] = [];
  for (let index = 0; index < messages.length; index++) {
    try {
      const fields = encodeOne(topic, messages[index]!, now);
      // encodeMessage puts the application ID at position 5: type, t, data, d, id, <id>.
      valid.push({ index, fields, id: fields[5]! });
    } catch (error) {
      results[index] = { ok: false, error: toTyped(error, index), index };
    }
  }
  const trim = retentionArgs(retention, now);
  const context = `publishMany ${target.stream}`;
  for (let start = 0; start < valid.length; start += chunkSize) {
    const end = Math.min(start + chunkSize, valid.length);
    const args = [target.noMkStream ? '1' : '0', String(trim.length), ...trim, String(end - start)];
    for (let k = start; k < end; k++) {
      const { fields } = valid[k]!;
      args.push(String(fields.length), ...fields);
    }
    let reply: BatchReply;
    try {
      reply = await target.commander.evalScript<BatchReply>(PUBLISH_MANY_SCRIPT, [target.stream], args, target.commandOptions);
    } catch (error) {
      const written = writtenStateOf(error);
      const range = `messages ${valid[start]!.index}..${valid[end - 1]!.index} ${written === false ? 'were not written' : 'may or may not have been written'}`;
      failFrom(results, valid, start, end, batchError(error, context, target.stream, written, range), target.stream);
      return results;
    }
    const [ids, status, message] = reply;
    for (let k = 0; k < ids.length; k++) {
      const entry = valid[start + k]!;
      results[entry.index] = { ok: true, streamId: String(ids[k]), id: entry.id, duplicate: false };
    }
    if (status !== 0) {
      const firstFailed = start + ids.length;
      const failure = status === 1
        ? streamMissingError(target.stream, context)
        : batchError(new Error(message), context, target.stream, false, `message ${valid[firstFailed]?.index} failed; it and the rest of its chunk were not written`);
      failFrom(results, valid, firstFailed, end, failure, target.stream);
      return results;
    }
  }
  return results;
}

/**
 * Stops a batch: `failure` for `valid[from..chunkEnd)` (the failed chunk's unwritten part), and
 * for every later message a "not sent" error with the same code and `written: false`.
 */
function failFrom(
  results: PublishManyResult[],
  valid: readonly Encoded[],
  from: number,
  chunkEnd: number,
  failure: TributaryError,
  stream: string,
): void {
  for (let k = from; k < chunkEnd; k++) {
    const { index } = valid[k]!;
    results[index] = { ok: false, error: failure, index };
  }
  if (chunkEnd >= valid.length) return;
  const notSent = new TributaryError(failure.code, `not sent: an earlier chunk of the batch failed (${failure.message})`, {
    cause: failure,
    data: { stream, written: false },
  });
  for (let k = chunkEnd; k < valid.length; k++) {
    const { index } = valid[k]!;
    results[index] = { ok: false, error: notSent, index };
  }
}
