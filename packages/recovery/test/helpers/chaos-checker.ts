// The judge of the fault and chaos runs. It reads the raw state from Redis — the source stream,
// the dead-letter stream (by its documented `dlq:*` fields, not through recovery's own reader),
// the handlers' HINCRBY record and the group's pending list — and classifies every produced
// message by its application ID.
import { type Commander, Field, pairsToObject, parseEntries, type Topic } from '@tributary/core';
import { MessageKind, type MessageKindValue, processedKey } from '../fixtures/fault-topic.js';

/** Wire names of the dead-letter metadata the checker needs (recovery's documented format). */
const DLQ_SOURCE_ID = 'dlq:source-id';
const DLQ_REASON = 'dlq:reason';
const DLQ_DELIVERIES = 'dlq:deliveries';
const DLQ_ERROR_NAME = 'dlq:error-name';
const DLQ_CONSUMER = 'dlq:consumer';

/** The verdict on a run. */
export interface ChaosCheck {
  /** Messages the producer got an ID for (the expected set). */
  produced: number;
  /** Entries in the source stream (more than `produced` when a retried publish had landed). */
  streamEntries: number;
  /** Extra stream entries from retried publishes (same app ID twice). */
  publishDuplicates: number;
  /** Good messages whose handler completed at least once. */
  processed: number;
  /** Messages in the dead-letter stream (by app ID). */
  deadLettered: number;
  /** Poison, invalid and undecodable messages whose every stream entry is in the DLQ exactly once. */
  badDeadLettered: number;
  /**
   * Good messages that ended in the DLQ (delivered more than maxDeliveries times because their
   * consumers died), whether or not a handler had also completed them before.
   */
  goodDeadLettered: number;
  /** Produced messages neither processed nor dead-lettered (including ones missing from the stream). */
  lost: number;
  /** Things that must never happen: unknown IDs processed or dead-lettered, poison processed, an entry in the DLQ twice… */
  unexpected: number;
  /** Handler completions beyond the first, summed over app IDs. */
  duplicates: number;
  /** Stream entries dead-lettered more than once. */
  deadLetterDuplicates: number;
  /** Entries still pending in the group. */
  pending: number;
  /** DLQ reasons by message kind, e.g. `{ poison: { 'max-deliveries': 100 } }`. */
  reasons: Record<string, Record<string, number>>;
  /** A few examples of each problem, for the failure message. */
  samples: { lost: string[]; unexpected: string[]; duplicates: string[]; goodDeadLettered: string[] };
  /** Stream IDs of good messages that ended in the DLQ (for tracing their history). */
  goodDeadLetteredIds: string[];
}

/** Reads a whole stream in pages. */
async function readStream(commander: Commander, key: string): Promise<{ id: string; fields: Record<string, string> }[]> {
  const entries: { id: string; fields: Record<string, string> }[] = [];
  let start = '-';
  for (;;) {
    const page = parseEntries(await commander.send(key, ['XRANGE', key, start, '+', 'COUNT', '2000']));
    for (const entry of page) entries.push({ id: entry.id, fields: pairsToObject(entry.fields ?? []) as Record<string, string> });
    if (page.length < 2000) return entries;
    start = `(${page[page.length - 1]!.id}`;
  }
}

async function readCounts(commander: Commander, key: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, flat] = await commander.send<[string, string[]]>(key, ['HSCAN', key, cursor, 'COUNT', '5000']);
    for (let i = 0; i + 1 < flat.length; i += 2) counts.set(String(flat[i]), Number(flat[i + 1]));
    cursor = String(next);
  } while (cursor !== '0');
  return counts;
}

/** Pending count of the group (XPENDING summary). */
export async function pendingCount(commander: Commander, topic: Topic, group: string): Promise<number> {
  const reply = await commander.send<unknown[]>(topic.keys.stream, ['XPENDING', topic.keys.stream, group]);
  return Number(reply?.[0] ?? 0);
}

/**
 * True when the group has nothing left to do: nothing pending and everything in the stream
 * delivered (its last-delivered-id is the stream's last ID).
 */
export async function groupSettled(commander: Commander, topic: Topic, group: string): Promise<boolean> {
  const key = topic.keys.stream;
  if ((await pendingCount(commander, topic, group)) > 0) return false;
  const stream = pairsToObject(await commander.send(key, ['XINFO', 'STREAM', key]));
  const groups = (await commander.send<unknown[]>(key, ['XINFO', 'GROUPS', key])).map(pairsToObject);
  const mine = groups.find((g) => String(g.name) === group);
  return mine !== undefined && String(mine['last-delivered-id']) === String(stream['last-generated-id']);
}

function push(list: string[], item: string): void {
  if (list.length < 10) list.push(item);
}

/**
 * Classifies every message of `expected` (app ID → kind):
 * - good: processed (handler completed ≥ 1×), else dead-lettered, else lost;
 * - poison / invalid / undecodable: each of its stream entries must be in the DLQ exactly once
 *   and its handler must never have completed; missing from the DLQ is lost, twice or processed
 *   is unexpected.
 * Also unexpected: processed or dead-lettered app IDs nobody produced, DLQ entries whose source
 * ID is not in the stream, and handler completions `printed` by a worker that the durable record
 * does not have (a write Redis acknowledged and then forgot).
 */
export async function checkRun(
  commander: Commander,
  topic: Topic,
  group: string,
  expected: ReadonlyMap<string, MessageKindValue>,
  printed: ReadonlySet<string> = new Set(),
): Promise<ChaosCheck> {
  const stream = await readStream(commander, topic.keys.stream);
  const dlq = await readStream(commander, topic.keys.deadLetter);
  const counts = await readCounts(commander, processedKey(topic));
  const pending = await pendingCount(commander, topic, group);

  const entriesByApp = new Map<string, string[]>();
  const streamIds = new Set<string>();
  for (const entry of stream) {
    streamIds.add(entry.id);
    const appId = entry.fields[Field.Id] ?? entry.id;
    const list = entriesByApp.get(appId);
    if (list) list.push(entry.id);
    else entriesByApp.set(appId, [entry.id]);
  }
  const dlqBySource = new Map<string, { reason: string; appId: string | undefined; detail: string }[]>();
  for (const letter of dlq) {
    const source = letter.fields[DLQ_SOURCE_ID] ?? '';
    const list = dlqBySource.get(source) ?? [];
    const detail = `deliveries=${letter.fields[DLQ_DELIVERIES]} error=${letter.fields[DLQ_ERROR_NAME]} consumer=${letter.fields[DLQ_CONSUMER]}`;
    list.push({ reason: letter.fields[DLQ_REASON] ?? '', appId: letter.fields[Field.Id], detail });
    dlqBySource.set(source, list);
  }

  const result: ChaosCheck = {
    produced: expected.size,
    streamEntries: stream.length,
    publishDuplicates: 0,
    processed: 0,
    deadLettered: 0,
    badDeadLettered: 0,
    goodDeadLettered: 0,
    lost: 0,
    unexpected: 0,
    duplicates: 0,
    deadLetterDuplicates: 0,
    pending,
    reasons: {},
    samples: { lost: [], unexpected: [], duplicates: [], goodDeadLettered: [] },
    goodDeadLetteredIds: [],
  };
  const unexpected = (why: string) => {
    result.unexpected++;
    push(result.samples.unexpected, why);
  };

  for (const [appId, kind] of expected) {
    const ids = entriesByApp.get(appId) ?? [];
    result.publishDuplicates += Math.max(0, ids.length - 1);
    const completions = counts.get(appId) ?? 0;
    const letters = ids.flatMap((id) => dlqBySource.get(id) ?? []);
    for (const letter of letters) {
      const byReason = (result.reasons[kind] ??= {});
      byReason[letter.reason] = (byReason[letter.reason] ?? 0) + 1;
    }
    for (const id of ids) {
      const n = dlqBySource.get(id)?.length ?? 0;
      if (n > 1) {
        result.deadLetterDuplicates += n - 1;
        unexpected(`${appId} (${id}) is in the DLQ ${n} times`);
      }
    }
    if (letters.length > 0) result.deadLettered++;
    if (completions > 1) {
      result.duplicates += completions - 1;
      push(result.samples.duplicates, `${appId}×${completions}`);
    }
    if (ids.length === 0) {
      result.lost++;
      push(result.samples.lost, `${appId} (${kind}): acknowledged by Redis but not in the stream`);
      continue;
    }
    if (kind === MessageKind.Good) {
      if (letters.length > 0) {
        for (const id of ids) if (dlqBySource.has(id)) result.goodDeadLetteredIds.push(id);
        push(result.samples.goodDeadLettered, `${appId} (${ids.join(',')}) processed=${completions} ${letters.map((l) => `${l.reason} ${l.detail}`).join('; ')}`);
      }
      if (letters.length > 0) result.goodDeadLettered++;
      if (completions > 0) result.processed++;
      else if (letters.length === 0) {
        result.lost++;
        push(result.samples.lost, `${appId} (good, ${ids.join(',')}): neither processed nor dead-lettered`);
      }
      continue;
    }
    if (completions > 0) unexpected(`${appId} (${kind}) was processed ${completions}×`);
    const missing = ids.filter((id) => (dlqBySource.get(id)?.length ?? 0) === 0);
    if (missing.length > 0) {
      result.lost++;
      push(result.samples.lost, `${appId} (${kind}, ${missing.join(',')}): not in the DLQ`);
    } else {
      result.badDeadLettered++;
    }
  }

  for (const appId of counts.keys()) {
    if (!expected.has(appId)) unexpected(`${appId} was processed but never produced`);
  }
  for (const appId of printed) {
    if (!counts.has(appId)) unexpected(`${appId} was printed as processed but its HINCRBY is not in Redis`);
  }
  for (const [source, letters] of dlqBySource) {
    if (!streamIds.has(source)) unexpected(`DLQ entry for ${source} (${letters[0]?.appId}) which is not in the stream`);
    for (const letter of letters) {
      if (letter.appId !== undefined && !expected.has(letter.appId)) unexpected(`${letter.appId} was dead-lettered but never produced`);
    }
  }
  return result;
}
