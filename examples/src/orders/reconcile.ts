// Where did every produced order end up? Each application message ID must be in exactly one
// place: the processed set (handled successfully) or the dead-letter stream (with a reason).
import type { RedisClientType } from 'redis';
import { listDeadLetters } from '@tributary/recovery';
import { type OrdersTopic, processedKey } from './topic.js';

/** Result of {@link reconcile}. */
export interface Reconciliation {
  produced: number;
  processed: number;
  deadLettered: number;
  /** Produced but neither processed nor dead-lettered (still pending, or really lost). */
  lost: number;
  /** Both processed and dead-lettered (should never happen). */
  inBoth: number;
  /** Up to 10 IDs of lost messages, for the report. */
  lostIds: string[];
  /** Dead letters by reason. */
  reasons: Record<string, number>;
}

/** The application message IDs in the topic's dead-letter stream, and their reasons. */
export async function deadLetterIds(client: RedisClientType, topic: OrdersTopic): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  let start = '-';
  for (;;) {
    const page = await listDeadLetters(client, { topic, start, count: 1000 });
    for (const letter of page) {
      const id = letter.message?.id ?? letter.fields['id'];
      if (id !== undefined) ids.set(id, letter.reason);
    }
    if (page.length < 1000) return ids;
    start = `(${page[page.length - 1]!.deadLetterId}`;
  }
}

/** Classifies every produced ID as processed, dead-lettered or lost. */
export async function reconcile(client: RedisClientType, topic: OrdersTopic, produced: readonly string[]): Promise<Reconciliation> {
  const dead = await deadLetterIds(client, topic);
  const result: Reconciliation = { produced: produced.length, processed: 0, deadLettered: 0, lost: 0, inBoth: 0, lostIds: [], reasons: {} };
  for (let i = 0; i < produced.length; i += 1000) {
    const chunk = produced.slice(i, i + 1000);
    const flags = await client.smIsMember(processedKey(topic), chunk);
    chunk.forEach((id, j) => {
      const processed = Number(flags[j]) === 1;
      const reason = dead.get(id);
      if (processed) result.processed++;
      if (reason !== undefined) {
        result.deadLettered++;
        result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
      }
      if (processed && reason !== undefined) result.inBoth++;
      if (!processed && reason === undefined) {
        result.lost++;
        if (result.lostIds.length < 10) result.lostIds.push(id);
      }
    });
  }
  return result;
}

/** The reconciliation line: `reconciliation: produced=… processed=… dead-lettered=… lost=…`. */
export function reconciliationLine(r: Reconciliation): string {
  return `reconciliation: produced=${r.produced} processed=${r.processed} dead-lettered=${r.deadLettered} lost=${r.lost}`;
}
