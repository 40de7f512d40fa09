import { inspect } from 'node:util';
import { sleep } from './sleep.js';

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds. Default 20 000. */
  timeoutMs?: number;
  /** Pause between two probes. Default 25. */
  intervalMs?: number;
  /** What is being waited for; starts the timeout error message. */
  message?: string;
}

/**
 * Thrown by {@link waitFor} on timeout. Carries what the probe last returned or threw so a failing
 * test says *why* the condition never became true, not only that it did not.
 */
export class WaitForTimeoutError extends Error {
  override readonly name = 'WaitForTimeoutError';

  /**
   * @param message - full error message.
   * @param lastValue - the last (falsy) value the probe returned, if it returned at all.
   * @param lastError - the last error the probe threw, if its last call threw.
   */
  constructor(
    message: string,
    readonly lastValue: unknown,
    readonly lastError: unknown,
  ) {
    super(message, lastError === undefined ? undefined : { cause: lastError });
  }
}

const PROBE_STILL_RUNNING = Symbol('probe still running');

/**
 * Calls `probe` until it returns (or resolves to) a truthy value and resolves with that value.
 * A probe that throws counts as "not yet". On timeout it rejects with a {@link WaitForTimeoutError}
 * whose message holds `message` and the last value or error, e.g.
 * `consumer caught up: timed out after 20000 ms; last value: 0`.
 *
 * The probe is always called at least once, and a probe that hangs past the deadline does not hang
 * the test: the timeout still fires.
 *
 * @param probe - checks the condition; return the thing you want (truthy) or a falsy value.
 * @param options - timeout (default 20 s), interval (default 25 ms) and message.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  let probeHung = false;

  for (;;) {
    try {
      // `.then(probe)` turns a synchronous throw into a rejection, so both count as "not yet".
      const value = await raceDeadline(Promise.resolve().then(probe), deadline);
      if (value === PROBE_STILL_RUNNING) {
        probeHung = true;
        break;
      }
      if (value) return value as NonNullable<T>;
      lastValue = value;
      lastError = undefined;
    } catch (error: unknown) {
      lastError = error;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await sleep(Math.min(intervalMs, remaining));
  }

  const last = probeHung
    ? 'the last probe call had not settled'
    : lastError !== undefined
      ? `last error: ${describeError(lastError)}`
      : `last value: ${describeValue(lastValue)}`;
  throw new WaitForTimeoutError(
    `${options.message ?? 'waitFor'}: timed out after ${timeoutMs} ms; ${last}`,
    lastValue,
    lastError,
  );
}

/** Settles like `promise`, or with PROBE_STILL_RUNNING once the deadline passes. */
async function raceDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | typeof PROBE_STILL_RUNNING> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof PROBE_STILL_RUNNING>((resolve) => {
    timer = setTimeout(() => resolve(PROBE_STILL_RUNNING), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function describeValue(value: unknown): string {
  const text = inspect(value, { depth: 3, breakLength: Infinity });
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error);
}
