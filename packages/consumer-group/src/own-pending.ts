import { type Commander, parseEntries, type StreamEntry } from '@tributary/core';

/** The pending list of one consumer of one group: the worker's own unfinished messages. */
export interface OwnPendingScope {
  readonly commander: Commander;
  /** Stream key. */
  readonly key: string;
  readonly group: string;
  readonly consumer: string;
}

/**
 * Delivery counters of this consumer's pending entries from `start` to `end` (XPENDING
 * extended form). XPENDING counts nothing, unlike re-reading the entries.
 * @returns stream ID → deliveries so far, in stream order, at most `count` entries
 */
export async function pendingCounts(scope: OwnPendingScope, start: string, end: string, count: number): Promise<Map<string, number>> {
  const reply = await scope.commander.send<unknown[] | null>(scope.key, [
    'XPENDING', scope.key, scope.group, start, end, String(count), scope.consumer,
  ]);
  const counts = new Map<string, number>();
  for (const item of reply ?? []) {
    const [id, , , delivered] = item as [string, string, number, number];
    counts.set(String(id), Number(delivered));
  }
  return counts;
}

/**
 * Takes `ids` of this consumer's own pending list for handling now (XCLAIM to self, min idle
 * 0): each returned entry counts one delivery. IDs whose entry was deleted from the stream
 * come back in `gone` (Redis ≥ 7 drops them from the pending list).
 */
export async function claimOwn(scope: OwnPendingScope, ids: readonly string[]): Promise<{ entries: StreamEntry[]; gone: string[] }> {
  const entries = parseEntries(await scope.commander.send(scope.key, ['XCLAIM', scope.key, scope.group, scope.consumer, '0', ...ids]));
  const present = new Set(entries.map((e) => e.id));
  return { entries, gone: ids.filter((id) => !present.has(id)) };
}
