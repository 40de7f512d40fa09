import {
  asCommander,
  type Commander,
  defineScript,
  parseOptions,
  type RedisClientLike,
  type Retention,
  retentionArgs,
  retentionSchema,
  type Topic,
  type TopicTypes,
  toTributaryError,
} from '@tributary/core';
import { z } from 'zod';
import { type DeadLetter, parseDeadLetter } from './dead-letter-entry.js';
import { DeadLetterField } from './dead-letter-field.js';
import { readDeadLetterRange } from './dead-letters.js';
import { topicSchema } from './option-schemas.js';

/**
 * Moves dead letters back to the source stream, each atomically: XADD of the original fields
 * (every field but `dlq:*`, so the application message `id` is kept) and XDEL from the DLQ.
 * An ID no longer in the DLQ is skipped (idempotent); a record with no original fields (lost
 * data) is left where it is.
 * KEYS: dlq, stream. ARGV: #trim, trim…, ids…. Returns { dlq id, new id or '' }… per ID found.
 */
const redriveScript = defineScript(`
local ntrim = tonumber(ARGV[1])
local out = {}
for i = 2 + ntrim, #ARGV do
  local id = ARGV[i]
  local e = redis.call('XRANGE', KEYS[1], id, id)
  if e[1] then
    local f = e[1][2]
    local args = { KEYS[2] }
    for j = 2, 1 + ntrim do args[#args + 1] = ARGV[j] end
    args[#args + 1] = '*'
    local n = 0
    for j = 1, #f - 1, 2 do
      if string.sub(f[j], 1, ${DeadLetterField.Prefix.length}) ~= '${DeadLetterField.Prefix}' then
        args[#args + 1] = f[j]
        args[#args + 1] = f[j + 1]
        n = n + 1
      end
    end
    out[#out + 1] = id
    if n > 0 then
      out[#out + 1] = redis.call('XADD', unpack(args))
      redis.call('XDEL', KEYS[1], id)
    else
      out[#out + 1] = ''
    end
  end
end
return out
`);

/** Options of {@link redrive}. */
export interface RedriveOptions<T extends TopicTypes = TopicTypes> {
  /** The topic: dead letters of `{topic}:dlq` go back to `{topic}`. */
  topic: Topic<T>;
  /** Only these dead-letter IDs. Default: the whole DLQ as it was when the call started. */
  ids?: readonly string[];
  /** Only dead letters for which this returns true (e.g. by `reason` or `message.type`). */
  filter?: (letter: DeadLetter<T>) => boolean;
  /** Move at most this many. Default: no limit. */
  limit?: number;
  /** Move at most this many per second. Default: as fast as possible (batches of 100). */
  ratePerSecond?: number;
  /** Only report what would move; write nothing. Default false. */
  dryRun?: boolean;
  /** Called after each batch. */
  onProgress?: (progress: { moved: number; total: number }) => void;
  /** Trimming applied to the source stream on each XADD. Default: the topic's retention. */
  retention?: Retention;
}

/** Result of {@link redrive}. */
export interface RedriveResult {
  /** Dead letters moved back (0 in a dry run). */
  moved: number;
  /** Selected dead letters not moved: gone meanwhile (another redrive, a purge) or with no original fields (lost-data records). */
  skipped: number;
  /** Dead-letter IDs moved (or, in a dry run, that would move). */
  ids: string[];
  /** New stream IDs in the source stream, in the order of `ids` (empty in a dry run). */
  streamIds: string[];
  /** Whether this was a dry run. */
  dryRun: boolean;
}

const redriveSchema = z.strictObject({
  topic: topicSchema,
  ids: z.array(z.string().regex(/^\d+-\d+$/, 'expected stream IDs')).readonly().optional(),
  filter: z.custom<(letter: DeadLetter) => boolean>((v) => typeof v === 'function', { message: 'expected a function' }).optional(),
  limit: z.number().int().positive().optional(),
  ratePerSecond: z.number().positive().max(1_000_000).optional(),
  dryRun: z.boolean().default(false),
  onProgress: z.custom<(p: { moved: number; total: number }) => void>((v) => typeof v === 'function', { message: 'expected a function' }).optional(),
  retention: retentionSchema.optional(),
});

const PAGE = 500;

/** Picks the dead letters to move: explicit IDs, or a walk of the DLQ up to its newest entry now. */
async function selectCandidates<T extends TopicTypes>(
  commander: Commander,
  topic: Topic<T>,
  o: { ids?: readonly string[] | undefined; filter?: ((l: DeadLetter<T>) => boolean) | undefined; limit?: number | undefined },
): Promise<{ ids: string[]; skipped: number }> {
  const key = topic.keys.deadLetter;
  const limit = o.limit ?? Number.POSITIVE_INFINITY;
  const ids: string[] = [];
  let skipped = 0;
  const consider = (id: string, fields: readonly string[]) => {
    if (ids.length >= limit) return;
    const letter = parseDeadLetter(topic, id, fields);
    if (o.filter && !o.filter(letter)) return;
    if (Object.keys(letter.fields).length === 0) skipped++;
    else ids.push(id);
  };
  if (o.ids) {
    for (const id of [...new Set(o.ids)]) {
      if (ids.length >= limit) break;
      const [entry] = await readDeadLetterRange(commander, key, id, id, 1);
      if (entry) consider(entry.id, entry.fields);
      else skipped++;
    }
    return { ids, skipped };
  }
  // Stop at the newest entry as of now: messages that fail again during this redrive are
  // dead-lettered with new IDs and must not be picked up again by the same call.
  const [newest] = await readDeadLetterRange(commander, key, '-', '+', 1, true);
  if (!newest) return { ids, skipped };
  let start = '-';
  while (ids.length < limit) {
    const page = await readDeadLetterRange(commander, key, start, newest.id, PAGE);
    for (const entry of page) consider(entry.id, entry.fields);
    if (page.length < PAGE) break;
    start = `(${page[page.length - 1]!.id}`;
  }
  return { ids, skipped };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Moves dead letters back to the topic's stream so they are processed again: all of them, by
 * `filter`, or by `ids`; at most `limit`, at most `ratePerSecond`; with a dry run and
 * progress reports. Each entry moves atomically (XADD to the source + XDEL from the DLQ in one
 * script, same cluster slot), keeping its fields, including the application message `id`, so
 * consumers can dedupe. The message gets a new stream ID and a fresh delivery counter.
 * Idempotent: running it again moves nothing twice.
 * @throws InvalidArgumentError naming the bad option
 */
export async function redrive<T extends TopicTypes>(
  connection: RedisClientLike | Commander,
  options: RedriveOptions<T>,
): Promise<RedriveResult> {
  const o = parseOptions(redriveSchema, options, 'RedriveOptions');
  const commander = asCommander(connection);
  const topic = options.topic;
  const selected = await selectCandidates(commander, topic, { ids: o.ids, filter: options.filter, limit: o.limit });
  const result: RedriveResult = { moved: 0, skipped: selected.skipped, ids: [], streamIds: [], dryRun: o.dryRun };
  const total = selected.ids.length;
  if (o.dryRun) {
    result.ids = selected.ids;
    options.onProgress?.({ moved: 0, total });
    return result;
  }
  const retention = (o.retention as Retention | undefined) ?? topic.retention;
  const rate = o.ratePerSecond;
  const batchSize = rate ? Math.max(1, Math.min(100, Math.floor(rate / 10))) : 100;
  const began = Date.now();
  for (let i = 0; i < total; i += batchSize) {
    const batch = selected.ids.slice(i, i + batchSize);
    if (rate && i > 0) {
      // Pace by the work done so far: the i-th entry may start at i / rate seconds.
      const due = began + (i / rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    const trim = retentionArgs(retention, Date.now());
    let reply: unknown[];
    try {
      reply = await commander.evalScript<unknown[]>(redriveScript, [topic.keys.deadLetter, topic.keys.stream], [String(trim.length), ...trim, ...batch]);
    } catch (error) {
      throw toTributaryError(error, `redrive ${topic.keys.deadLetter}`);
    }
    let found = 0;
    for (let j = 0; j + 1 < reply.length; j += 2) {
      found++;
      const newId = String(reply[j + 1]);
      if (newId === '') {
        result.skipped++;
        continue;
      }
      result.moved++;
      result.ids.push(String(reply[j]));
      result.streamIds.push(newId);
    }
    result.skipped += batch.length - found;
    options.onProgress?.({ moved: result.moved, total });
  }
  return result;
}
