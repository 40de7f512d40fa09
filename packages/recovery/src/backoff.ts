import { z } from 'zod';

/**
 * Exponential backoff: `initialMs × factor^(deliveries − 1)`, spread by ±`jitter` (a fraction)
 * and never more than `maxMs`.
 */
export interface ExponentialBackoff {
  /** Delay after the first failed delivery. Default 1000 ms. */
  initialMs?: number;
  /** Growth per delivery. Default 2. */
  factor?: number;
  /** Upper bound, jitter included. Default 30000 ms. */
  maxMs?: number;
  /** Random spread as a fraction of the delay: 0.2 means ±20 %. Default 0.2; 0 turns it off. */
  jitter?: number;
}

/**
 * How long a failed message waits before its next attempt, by its delivery count:
 * - a list of delays in ms, indexed by `deliveries − 1` (the last value repeats), e.g.
 *   `[1000, 5000, 30000]`; no jitter;
 * - or an {@link ExponentialBackoff}.
 */
export type BackoffSchedule = readonly number[] | ExponentialBackoff;

/** The default schedule: 1 s, doubling, at most 30 s, ±20 % jitter. */
export const DEFAULT_BACKOFF: Readonly<Required<ExponentialBackoff>> = Object.freeze({
  initialMs: 1000,
  factor: 2,
  maxMs: 30_000,
  jitter: 0.2,
});

const delayMs = z.number().int().nonnegative().max(24 * 3600_000);

/** Zod schema of {@link BackoffSchedule}. */
export const backoffSchema = z.union([
  z.array(delayMs).min(1).readonly(),
  z.strictObject({
    initialMs: delayMs.optional(),
    factor: z.number().min(1).max(100).optional(),
    maxMs: delayMs.optional(),
    jitter: z.number().min(0).max(1).optional(),
  }),
]);

/**
 * The delay before the next attempt of a message that has been delivered `deliveries` times
 * (the server's counter, the failed delivery included). Pure: pass `random` to make jitter
 * deterministic in tests.
 *
 * - List: `schedule[deliveries − 1]`, the last value for higher counts.
 * - Exponential: `initialMs × factor^(deliveries − 1)`, multiplied by a random factor in
 *   `[1 − jitter, 1 + jitter]`, then capped at `maxMs`.
 *
 * `deliveries` below 1 counts as 1. The result is a whole number of ms, never negative.
 *
 * @param random - returns a number in `[0, 1)`; default `Math.random`
 */
export function backoffDelay(schedule: BackoffSchedule, deliveries: number, random: () => number = Math.random): number {
  const attempt = Number.isFinite(deliveries) ? Math.max(1, Math.floor(deliveries)) : 1;
  if (Array.isArray(schedule)) {
    const list = schedule as readonly number[];
    if (list.length === 0) return 0;
    return Math.max(0, Math.round(list[Math.min(attempt, list.length) - 1]!));
  }
  const options = schedule as ExponentialBackoff;
  const initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const factor = options.factor ?? DEFAULT_BACKOFF.factor;
  const maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const jitter = options.jitter ?? DEFAULT_BACKOFF.jitter;
  // Capping before jitter keeps the spread at the cap too (retries of many messages failing
  // together stay spread out); capping again after keeps maxMs a hard bound.
  const base = Math.min(maxMs, initialMs * factor ** (attempt - 1));
  const spread = jitter > 0 ? 1 - jitter + 2 * jitter * random() : 1;
  return Math.max(0, Math.min(maxMs, Math.round(base * spread)));
}
