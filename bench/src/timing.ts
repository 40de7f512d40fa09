/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (`p` in 0..100) of an already sorted list. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Latency summary of one run, in ms. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarizeLatencies(samples: Float64Array | number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    p999: percentileSorted(sorted, 99.9),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/**
 * Runs `send(i)` for i in 0..total-1 keeping `window` calls in flight (a sliding window: each
 * completion launches the next), and resolves with the elapsed ms. Raw and library runs use
 * this same driver, so the only difference is what `send` does.
 */
export function pipelined(total: number, window: number, send: (i: number) => Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let done = 0;
    let failed = false;
    const start = performance.now();
    const onDone = (): void => {
      done++;
      if (sent < total) launch();
      else if (done === total) resolve(performance.now() - start);
    };
    const onError = (error: unknown): void => {
      if (failed) return;
      failed = true;
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const launch = (): void => {
      const i = sent++;
      send(i).then(onDone, onError);
    };
    if (total === 0) {
      resolve(0);
      return;
    }
    for (let k = 0; k < Math.min(window, total); k++) launch();
  });
}

/** Messages per second for `count` messages in `ms`. */
export function rate(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

/**
 * Runs `rounds` rounds of the two sides, alternating which goes first (raw first in even
 * rounds), and returns every round's value of each side.
 */
export async function alternate<T>(
  rounds: number,
  raw: (round: number) => Promise<T>,
  lib: (round: number) => Promise<T>,
): Promise<{ raw: T[]; lib: T[] }> {
  const result = { raw: [] as T[], lib: [] as T[] };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      result.raw.push(await raw(round));
      result.lib.push(await lib(round));
    } else {
      result.lib.push(await lib(round));
      result.raw.push(await raw(round));
    }
  }
  return result;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One measured round: a rate (msgs/s) and this process's CPU per message (µs). */
export interface RoundResult {
  rate: number;
  cpuUs: number;
}

/**
 * Runs `work` (which processes `count` messages) and returns its rate from the elapsed ms it
 * reports, with the process CPU used per message meanwhile.
 */
export async function measured(count: number, work: () => Promise<number>): Promise<RoundResult> {
  const cpu0 = process.cpuUsage();
  const ms = await work();
  const cpu = process.cpuUsage(cpu0);
  return { rate: rate(count, ms), cpuUs: (cpu.user + cpu.system) / count };
}

/**
 * lib / baseline per round, from the two sides' values in round order (as {@link alternate}
 * returns them: round `r` of each side ran back to back, so a slow phase of the machine hits both).
 */
export function roundRatios(baseline: readonly number[], lib: readonly number[]): number[] {
  if (baseline.length !== lib.length) throw new Error(`round counts differ: baseline ${baseline.length}, lib ${lib.length}`);
  return baseline.map((value, round) => lib[round]! / value);
}

/** {@link roundRatios} of the rates of both sides' rounds. */
export function rateRoundRatios(sides: { raw: readonly RoundResult[]; lib: readonly RoundResult[] }): number[] {
  return roundRatios(sides.raw.map((r) => r.rate), sides.lib.map((r) => r.rate));
}

/** Medians of a side's rounds. */
export function medians(results: readonly RoundResult[]): RoundResult {
  return { rate: median(results.map((r) => r.rate)), cpuUs: median(results.map((r) => r.cpuUs)) };
}
