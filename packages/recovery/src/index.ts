// Public API of @tributary/recovery. Named exports only: this list is the contract.

// The failure handler for workers
export { createRecovery } from './recovery.js';
export type { Recovery } from './recovery.js';
export type { RecoveryOptions, ResolvedRecoveryOptions, MalformedPolicy } from './recovery-options.js';
export type { RecoveryEvents } from './recovery-events.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffSchedule, ExponentialBackoff } from './backoff.js';

// Pending inspection and reclaim
export { pendingSummary, listPending } from './pending.js';
export type { PendingSummary, PendingEntry, ListPendingOptions } from './pending.js';
export { reclaimIdle } from './reclaim.js';
export type { ReclaimIdleOptions } from './reclaim.js';

// Dead letters
export { DeadLetterField, DeadLetterReason } from './dead-letter-field.js';
export type { DeadLetterReasonValue } from './dead-letter-field.js';
export type { DeadLetter } from './dead-letter-entry.js';
export { deadLetter, DEFAULT_DEAD_LETTER_RETENTION } from './dead-letter.js';
export type { DeadLetterOptions } from './dead-letter.js';
export { listDeadLetters, purgeDeadLetters } from './dead-letters.js';
export type { ListDeadLettersOptions, PurgeDeadLettersOptions } from './dead-letters.js';
export { redrive } from './redrive.js';
export type { RedriveOptions, RedriveResult } from './redrive.js';

// Maintenance
export { cleanupConsumers } from './consumer-cleanup.js';
export type { CleanupConsumersOptions, CleanupConsumersResult } from './consumer-cleanup.js';
export { checkTrim, safeTrim } from './trim-safety.js';
export type { TrimCheck, SafeTrimOptions } from './trim-safety.js';
