import { parseOptions, type Retention, retentionSchema } from '@tributary/core';
import { z } from 'zod';
import { backoffSchema, type BackoffSchedule, DEFAULT_BACKOFF } from './backoff.js';
import type { DeadLetter } from './dead-letter-entry.js';
import { DEFAULT_DEAD_LETTER_RETENTION } from './dead-letter.js';

/** What to do with entries that can never succeed as they are (decode, validation, unhandled type). */
export type MalformedPolicy = 'dead-letter' | 'leave-pending';

/** Options of `createRecovery`. Every one is optional; see the README's tuning section. */
export interface RecoveryOptions {
  /**
   * Deliveries (the server's counter: crashes count) after which a message goes to the
   * dead-letter stream: a handler failure on delivery `maxDeliveries` dead-letters it, and an
   * entry reclaimed with a higher counter (its consumers kept crashing) is dead-lettered without
   * running. Default 5.
   */
  maxDeliveries?: number;
  /**
   * Wait before the next attempt, by delivery count: a list of ms indexed by deliveries − 1
   * (last value repeats) or exponential. Capped at `claimIdleMs`. Default exponential
   * 1000 ms × 2 up to 30000 ms, ±20 % jitter.
   */
  backoff?: BackoffSchedule;
  /**
   * An entry idle this long is taken over by the reclaim loop of a live worker: a crashed or
   * stalled consumer's messages, and failed messages once their backoff has passed. Keep it
   * well above normal handler time, or set the worker's `leaseRenewMs` below `claimIdleMs / 2`.
   * Default 60000.
   */
  claimIdleMs?: number;
  /** How often the reclaim loop runs; the effective period is min(this, claimIdleMs / 2). Default 5000. */
  reclaimIntervalMs?: number;
  /** Most entries claimed per XAUTOCLAIM call (also bounded by the worker's free slots). Default 100. */
  reclaimCount?: number;
  /**
   * Decode, validation and unhandled-type failures: `'dead-letter'` (default) moves them at
   * once, never retried; `'leave-pending'` treats them like handler errors (backoff, then
   * `max-deliveries`), e.g. while a rolling deploy teaches workers a new type. Entries with no
   * data left (`deleted`) are always dead-lettered.
   */
  malformed?: MalformedPolicy;
  /** Retention of the dead-letter stream, applied on each move. Default `{ maxLen: 100000 }` (approximate). */
  deadLetterRetention?: Retention;
  /** Longest error message stored in `dlq:error-message`. Default 1000 characters. */
  maxErrorLength?: number;
  /**
   * Called after each message is moved to the dead-letter stream (goxstreams' "dead" and
   * "broken" handlers). The move has already happened, so a hook that throws loses nothing:
   * its error is reported as a `worker-error` (stage `failure-handler`).
   */
  onDeadLetter?: (letter: DeadLetter) => void | Promise<void>;
}

/** {@link RecoveryOptions} with defaults applied (see each option there). Frozen. */
export interface ResolvedRecoveryOptions {
  readonly maxDeliveries: number;
  readonly backoff: BackoffSchedule;
  readonly claimIdleMs: number;
  readonly reclaimIntervalMs: number;
  readonly reclaimCount: number;
  readonly malformed: MalformedPolicy;
  readonly deadLetterRetention: Retention;
  readonly maxErrorLength: number;
  readonly onDeadLetter: ((letter: DeadLetter) => void | Promise<void>) | undefined;
}

const recoveryOptionsSchema = z.strictObject({
  maxDeliveries: z.number().int().positive().max(1_000_000).default(5),
  backoff: backoffSchema.optional(),
  claimIdleMs: z.number().int().positive().max(7 * 24 * 3600_000).default(60_000),
  reclaimIntervalMs: z.number().int().positive().max(24 * 3600_000).default(5000),
  reclaimCount: z.number().int().positive().max(10_000).default(100),
  malformed: z.enum(['dead-letter', 'leave-pending']).default('dead-letter'),
  deadLetterRetention: retentionSchema.optional(),
  maxErrorLength: z.number().int().positive().max(1_000_000).default(1000),
  onDeadLetter: z.custom<(letter: DeadLetter) => void | Promise<void>>((v) => typeof v === 'function', { message: 'expected a function' }).optional(),
});

/**
 * Validates options and applies defaults.
 * @throws InvalidArgumentError naming the bad option, e.g. `RecoveryOptions.claimIdleMs`
 */
export function resolveRecoveryOptions(options: RecoveryOptions | undefined): ResolvedRecoveryOptions {
  const o = parseOptions(recoveryOptionsSchema, options ?? {}, 'RecoveryOptions');
  return Object.freeze({
    maxDeliveries: o.maxDeliveries,
    backoff: (o.backoff as BackoffSchedule | undefined) ?? { ...DEFAULT_BACKOFF },
    claimIdleMs: o.claimIdleMs,
    reclaimIntervalMs: o.reclaimIntervalMs,
    reclaimCount: o.reclaimCount,
    malformed: o.malformed,
    deadLetterRetention: (o.deadLetterRetention as Retention | undefined) ?? DEFAULT_DEAD_LETTER_RETENTION,
    maxErrorLength: o.maxErrorLength,
    onDeadLetter: o.onDeadLetter,
  });
}
