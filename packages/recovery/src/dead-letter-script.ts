import { type Commander, defineScript, type Retention, retentionArgs, type Topic, toTributaryError } from '@tributary/core';
import { DeadLetterField, type DeadLetterReasonValue } from './dead-letter-field.js';
import { failuresKey, LUA_NOW_MS } from './failure-times.js';

/**
 * Moves one entry to the dead-letter stream, atomically: XADD to `{t}:dlq` (original fields as
 * stored, then the `dlq:*` metadata) and XACK of the source, in one script over keys of one
 * slot. Idempotent: an entry no longer pending for the group (acked, already moved) writes
 * nothing and returns 0, so a retry after a crash never duplicates it.
 *
 * KEYS: stream, dlq, failures hash.
 * ARGV: group, id, owner ('' = any consumer), mode ('pending' | 'lost'), #trim, trim…,
 *       #meta, meta pairs…, fallback field pairs… (used only when the entry's data is gone).
 * Mode 'lost' records entries whose pending-list item Redis already dropped (XAUTOCLAIM's
 * deleted IDs): there is nothing left to ack, and the record is all that remains.
 * Returns 0, or { dlq id, first failure ms, last failure ms, fields written… }.
 */
const deadLetterScript = defineScript(`${LUA_NOW_MS}
local group, id, owner, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
local pending = p[1] ~= nil
if pending then
  if owner ~= '' and p[1][2] ~= owner then return 0 end
elseif mode ~= 'lost' then
  return 0
end
local i = 5
local ntrim = tonumber(ARGV[i]); i = i + 1
local args = { KEYS[2] }
for j = 1, ntrim do args[#args + 1] = ARGV[i]; i = i + 1 end
args[#args + 1] = '*'
local nmeta = tonumber(ARGV[i]); i = i + 1
local meta = i
i = i + nmeta
local fields = {}
local entry = redis.call('XRANGE', KEYS[1], id, id)
if entry[1] and entry[1][2] then
  fields = entry[1][2]
else
  for j = i, #ARGV do fields[#fields + 1] = ARGV[j] end
end
for j = 1, #fields do args[#args + 1] = fields[j] end
for j = meta, meta + nmeta - 1 do args[#args + 1] = ARGV[j] end
local last = now_ms()
local first = redis.call('HGET', KEYS[3], id)
if not first then first = last end
args[#args + 1] = '${DeadLetterField.FirstFailureTs}'
args[#args + 1] = first
args[#args + 1] = '${DeadLetterField.LastFailureTs}'
args[#args + 1] = last
local dlqId = redis.call('XADD', unpack(args))
if pending then redis.call('XACK', KEYS[1], group, id) end
redis.call('HDEL', KEYS[3], id)
local reply = { dlqId, first, last }
for j = 1, #fields do reply[#reply + 1] = fields[j] end
return reply
`);

/** What to move, and the metadata to write with it. */
export interface MoveRequest {
  readonly topic: Topic;
  readonly group: string;
  readonly consumer: string;
  readonly streamId: string;
  readonly reason: DeadLetterReasonValue;
  readonly deliveries: number;
  readonly errorName?: string | undefined;
  readonly errorMessage?: string | undefined;
  /** Fields to write when the entry's data is gone from the stream (flat pairs). */
  readonly fallbackFields?: readonly string[] | undefined;
  /** Only move it while this consumer owns it (a worker's own failure). */
  readonly requireOwner?: boolean;
  /** Write the record even if the entry is no longer pending (lost data). */
  readonly lost?: boolean;
  readonly retention: Retention;
}

/** What a successful move wrote. */
export interface MoveResult {
  readonly deadLetterId: string;
  readonly firstFailureTs: number;
  readonly lastFailureTs: number;
  /** The original fields written (flat pairs; empty for lost data). */
  readonly fields: readonly string[];
}

/** Runs the dead-letter script. Resolves `undefined` when nothing was moved (not pending / not ours). */
export async function moveToDeadLetter(commander: Commander, request: MoveRequest): Promise<MoveResult | undefined> {
  const { topic, group, streamId } = request;
  const trim = retentionArgs(request.retention, Date.now());
  const meta = [
    DeadLetterField.Source, topic.keys.stream,
    DeadLetterField.SourceId, streamId,
    DeadLetterField.Group, group,
    DeadLetterField.Consumer, request.consumer,
    DeadLetterField.Deliveries, String(Math.max(0, Math.floor(request.deliveries))),
    DeadLetterField.Reason, request.reason,
  ];
  if (request.errorName) meta.push(DeadLetterField.ErrorName, request.errorName);
  if (request.errorMessage !== undefined && request.errorMessage !== '') meta.push(DeadLetterField.ErrorMessage, request.errorMessage);
  const args = [
    group,
    streamId,
    request.requireOwner ? request.consumer : '',
    request.lost ? 'lost' : 'pending',
    String(trim.length),
    ...trim,
    String(meta.length),
    ...meta,
    ...(request.fallbackFields ?? []),
  ];
  let reply: unknown;
  try {
    reply = await commander.evalScript(deadLetterScript, [topic.keys.stream, topic.keys.deadLetter, failuresKey(topic, group)], args);
  } catch (error) {
    throw toTributaryError(error, `dead-letter ${topic.keys.stream} ${streamId}`);
  }
  if (!Array.isArray(reply)) return undefined;
  const [id, first, last, ...fields] = reply as unknown[];
  return {
    deadLetterId: String(id),
    firstFailureTs: Number(first),
    lastFailureTs: Number(last),
    fields: fields.map(String),
  };
}
