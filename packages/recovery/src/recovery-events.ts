import type { DeadLetter } from './dead-letter-entry.js';

/**
 * Events recovery emits on the workers it is attached to (`worker.on(name, listener)`), with
 * their payloads. The worker types plug-in events as `unknown`: cast to these, e.g.
 * `worker.on('lost', (e) => alert((e as RecoveryEvents['lost']).streamIds))`.
 */
export interface RecoveryEvents {
  /** The reclaim loop claimed these entries (idle ≥ `claimIdleMs`) and started them on this worker. */
  reclaimed: { streamIds: string[]; count: number; consumer: string };
  /** A message was moved to the dead-letter stream by this worker. */
  'dead-lettered': DeadLetter;
  /**
   * Pending entries whose data is gone: `trimmed` (found by reclaim) or `deleted` (read back with
   * no fields). Each gets a dead-letter record; `deadLetterIds` lists those written by reclaim.
   */
  lost: { group: string; consumer: string; streamIds: string[]; reason: 'trimmed' | 'deleted'; deadLetterIds?: string[] };
  /** Redis ≥ 7: trimming or XDEL removed entries this group had not received yet. */
  'undelivered-trimmed': { group: string; lastDeliveredId: string; firstEntryId: string | undefined; maxDeletedEntryId: string | undefined };
}

/** Emits a recovery event through a worker handle, typed. */
export function emitRecoveryEvent<K extends keyof RecoveryEvents>(
  worker: { emit(event: string, payload: unknown): void },
  event: K,
  payload: RecoveryEvents[K],
): void {
  worker.emit(event, payload);
}
