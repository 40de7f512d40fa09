import {
  asCommander,
  type Commander,
  compareStreamIds,
  defineScript,
  InvalidArgumentError,
  pairsToObject,
  parseOptions,
  type RedisClientLike,
  type Topic,
  toTributaryError,
} from '@tributary/core';
import { z } from 'zod';
import { topicSchema } from './option-schemas.js';

/**
 * Counts one group's pending entries whose data is gone from the stream, one page at a time.
 * KEYS: stream. ARGV: group, start, count. Returns { last ID examined or '' at the end, missing }.
 */
const pendingDeletedScript = defineScript(`
local page = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], '+', tonumber(ARGV[3]))
local missing = 0
for _, p in ipairs(page) do
  if not redis.call('XRANGE', KEYS[1], p[1], p[1])[1] then missing = missing + 1 end
end
local last = ''
if #page == tonumber(ARGV[3]) then last = page[#page][1] end
return { last, missing }
`);

/** Result of {@link checkTrim}. */
export interface TrimCheck {
  /** Highest ID ever deleted with XDEL (`max-deleted-entry-id`); Redis ≥ 7 only. */
  maxDeletedEntryId?: string;
  /** ID of the stream's first entry now (absent when it is empty). */
  firstEntryId?: string;
  /** True when some group lost entries to deletion: see `groups`. */
  unsafe: boolean;
  groups: {
    name: string;
    lastDeliveredId: string;
    /**
     * Entries this group had not received yet were deleted: by trimming (the first entry is past
     * `last-delivered-id` and fewer entries are left after it than were added after it,
     * from `entries-added` − `entries-read`) or by XDEL (`max-deleted-entry-id` past
     * `last-delivered-id`). Redis ≥ 7; always false on 6.2, and false when Redis does not know the
     * group's `entries-read` (a group created at an arbitrary ID) unless XDEL shows it.
     */
    undeliveredDeleted: boolean;
    /** Pending entries of this group whose data is gone (reclaim will record them as lost). */
    pendingDeleted: number;
  }[];
}

/** Stream-level facts for {@link undeliveredDeleted}, from XINFO STREAM. */
interface StreamFacts {
  readonly length: number;
  readonly firstEntryId: string | undefined;
  readonly maxDeletedEntryId: string | undefined;
  readonly entriesAdded: number | undefined;
}

/** Reads {@link StreamFacts} out of an XINFO STREAM reply. */
export function streamFacts(raw: unknown): StreamFacts {
  const info = pairsToObject(raw);
  const first = info['first-entry'];
  const maxDeleted = info['max-deleted-entry-id'];
  const added = info['entries-added'];
  return {
    length: Number(info['length'] ?? 0),
    firstEntryId: Array.isArray(first) && first[0] !== undefined && first[0] !== null ? String(first[0]) : undefined,
    maxDeletedEntryId: maxDeleted === undefined || maxDeleted === null || String(maxDeleted) === '0-0' ? undefined : String(maxDeleted),
    entriesAdded: added === undefined || added === null ? undefined : Number(added),
  };
}

/**
 * Were entries deleted that a group (XINFO GROUPS item) had not received? See
 * {@link TrimCheck} for the rules.
 */
export function undeliveredDeleted(stream: StreamFacts, group: Record<string, unknown>): boolean {
  const last = String(group['last-delivered-id']);
  if (stream.maxDeletedEntryId !== undefined && compareStreamIds(stream.maxDeletedEntryId, last) > 0) return true;
  const read = group['entries-read'];
  if (stream.entriesAdded === undefined || read === undefined || read === null) return false;
  // Trimming cuts from the head: only when the first entry left is past the group's position
  // can it have removed entries the group never got; then every entry left is after it.
  if (stream.firstEntryId !== undefined && compareStreamIds(stream.firstEntryId, last) <= 0) return false;
  return stream.entriesAdded - Number(read) > stream.length;
}

const PAGE = 1000;

async function countPendingDeleted(commander: Commander, key: string, group: string): Promise<number> {
  let missing = 0;
  let start = '-';
  for (;;) {
    const [last, count] = await commander.evalScript<[string, number]>(pendingDeletedScript, [key], [group, start, String(PAGE)]);
    missing += Number(count);
    if (!last) return missing;
    start = `(${String(last)}`;
  }
}

/**
 * Tells whether trimming (MAXLEN/MINID, or XDEL) removed entries some group still needed:
 * - entries a group never received (Redis ≥ 7: from `entries-added`, the group's `entries-read`
 *   and `last-delivered-id`, and `max-deleted-entry-id`; not detectable on 6.2);
 * - pending entries whose data is gone (any version; examined page by page).
 * A missing stream gives `{ unsafe: false, groups: [] }`.
 * @throws InvalidArgumentError naming the bad option
 */
export async function checkTrim(connection: RedisClientLike | Commander, options: { topic: Topic }): Promise<TrimCheck> {
  parseOptions(z.strictObject({ topic: topicSchema }), options, 'CheckTrimOptions');
  const commander = asCommander(connection);
  const key = options.topic.keys.stream;
  let stream: unknown;
  let groups: unknown;
  try {
    [stream, groups] = await Promise.all([commander.send(key, ['XINFO', 'STREAM', key]), commander.send(key, ['XINFO', 'GROUPS', key])]);
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return { unsafe: false, groups: [] };
    throw toTributaryError(error, `XINFO ${key}`);
  }
  const facts = streamFacts(stream);
  const result: TrimCheck = { unsafe: false, groups: [] };
  if (facts.maxDeletedEntryId !== undefined) result.maxDeletedEntryId = facts.maxDeletedEntryId;
  if (facts.firstEntryId !== undefined) result.firstEntryId = facts.firstEntryId;
  for (const item of Array.isArray(groups) ? groups : []) {
    const g = pairsToObject(item);
    const name = String(g['name']);
    const lost = undeliveredDeleted(facts, g);
    const pendingDeleted = Number(g['pending']) > 0 ? await countPendingDeleted(commander, key, name) : 0;
    result.groups.push({ name, lastDeliveredId: String(g['last-delivered-id']), undeliveredDeleted: lost, pendingDeleted });
    if (lost || pendingDeleted > 0) result.unsafe = true;
  }
  return result;
}

/**
 * Trims the stream as asked, but never past the lowest ID some group still needs (its lowest
 * pending entry, or the first entry after its `last-delivered-id`), all in one script.
 * KEYS: stream. ARGV: maxLen or '', maxAgeMs or ''. Returns { trimmed, bound used or '' }.
 */
const safeTrimScript = defineScript(`
local function parse(id)
  local d = string.find(id, '-', 1, true)
  if d then return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1)) end
  return tonumber(id), 0
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local function succ(id)
  local m, s = parse(id)
  return string.format('%.0f-%.0f', m, s + 1)
end
local needed = nil
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g - 1, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local keep = succ(last)
  if needed == nil or less(keep, needed) then needed = keep end
  local s = redis.call('XPENDING', KEYS[1], name)
  if tonumber(s[1]) > 0 and less(s[2], needed) then needed = s[2] end
end
local requested = nil
if ARGV[2] ~= '' then
  local t = redis.call('TIME')
  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[2])
  if ms > 0 then requested = string.format('%.0f-0', ms) end
end
if ARGV[1] ~= '' then
  local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
  local start = '-'
  while excess > 0 do
    local page = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', math.min(excess, 1000))
    if #page == 0 then break end
    local lastId = page[#page][1]
    excess = excess - #page
    start = '(' .. lastId
    -- Past what some group needs, the needed bound decides anyway: stop walking.
    if needed ~= nil and not less(lastId, needed) then excess = 0 end
    if excess <= 0 then
      local bound = succ(lastId)
      if requested == nil or less(requested, bound) then requested = bound end
    end
  end
end
if requested == nil then return { 0, '' } end
local bound = requested
if needed ~= nil and less(needed, bound) then bound = needed end
return { redis.call('XTRIM', KEYS[1], 'MINID', '=', bound), bound }
`);

/** Options of {@link safeTrim}: at least one of `maxLen`, `maxAgeMs`. */
export interface SafeTrimOptions {
  topic: Topic;
  /** Keep about the newest `maxLen` entries. */
  maxLen?: number;
  /** Keep entries younger than this (by stream ID time, server clock). */
  maxAgeMs?: number;
}

const safeTrimSchema = z.strictObject({
  topic: topicSchema,
  maxLen: z.number().int().nonnegative().optional(),
  maxAgeMs: z.number().int().nonnegative().optional(),
});

/**
 * Trims the stream to `maxLen` entries and/or `maxAgeMs` of age (both given: whichever removes
 * more), but never removes an entry some group has not been delivered yet or still has
 * pending: it runs `XTRIM MINID = min(requested bound, lowest needed ID)` where the needed ID is,
 * over all groups, the lowest pending ID and the first ID after `last-delivered-id`. Atomic (one
 * script). Use it instead of publish-time MAXLEN when no message may be trimmed unread.
 * @returns how many entries were removed and the MINID bound used (`''` when nothing was asked to go)
 * @throws InvalidArgumentError naming the bad option
 */
export async function safeTrim(
  connection: RedisClientLike | Commander,
  options: SafeTrimOptions,
): Promise<{ trimmed: number; minId: string }> {
  const o = parseOptions(safeTrimSchema, options, 'SafeTrimOptions');
  if (o.maxLen === undefined && o.maxAgeMs === undefined) throw new InvalidArgumentError('SafeTrimOptions', 'pass maxLen, maxAgeMs or both');
  const commander = asCommander(connection);
  const key = options.topic.keys.stream;
  try {
    const [trimmed, minId] = await commander.evalScript<[number, string]>(safeTrimScript, [key], [
      o.maxLen === undefined ? '' : String(o.maxLen),
      o.maxAgeMs === undefined ? '' : String(o.maxAgeMs),
    ]);
    return { trimmed: Number(trimmed), minId: String(minId) };
  } catch (error) {
    // A missing stream has nothing to trim.
    if (error instanceof Error && /no such key/i.test(error.message)) return { trimmed: 0, minId: '' };
    throw toTributaryError(error, `safe trim ${key}`);
  }
}
