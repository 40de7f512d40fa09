/** How big each scenario runs. */
export interface Sizes {
  /** Rounds of in-process comparisons (each side runs this many times, alternating order). */
  rounds: number;
  /** Rounds of comparisons that spawn processes (slower to set up). */
  processRounds: number;
  /** 1: messages per publish round, and the number kept in flight. */
  publishMessages: number;
  publishWindow: number;
  /** Timeout comparison: messages per round (the default client is about 3× slower). */
  timeoutMessages: number;
  /** 2: messages per batch round, messages per publishMany call, and calls in flight. */
  batchMessages: number;
  batchCall: number;
  batchWindow: number;
  /** 3/4: messages consumed per round (one worker; four workers or two processes). */
  consumeMessages: number;
  multiMessages: number;
  /** 5: seconds per latency run, rate, and messages dropped at the start (warm-up). */
  latencySeconds: number;
  latencyRate: number;
  latencyWarmup: number;
  /** 6: BullMQ jobs for addBulk and for the workers at concurrency 50 and 1. */
  bullAdd: number;
  bullWorker50: number;
  bullWorker1: number;
  /** 7: messages a worker consumes in the memory run, and when the first RSS sample is taken. */
  memoryMessages: number;
  memoryFirstSample: number;
  /** 8: messages held by the killed worker, claim idle time and reclaim interval. */
  recoveryHeld: number;
  claimIdleMs: number;
  reclaimIntervalMs: number;
}

export type Mode = 'quick' | 'default' | 'long';

const DEFAULT: Sizes = {
  rounds: 5,
  processRounds: 3,
  publishMessages: 50_000,
  publishWindow: 1000,
  timeoutMessages: 20_000,
  batchMessages: 50_000,
  batchCall: 500,
  batchWindow: 4,
  consumeMessages: 60_000,
  multiMessages: 60_000,
  latencySeconds: 3,
  latencyRate: 5000,
  latencyWarmup: 1000,
  bullAdd: 10_000,
  bullWorker50: 10_000,
  bullWorker1: 2000,
  memoryMessages: 300_000,
  memoryFirstSample: 100_000,
  recoveryHeld: 200,
  claimIdleMs: 2000,
  reclaimIntervalMs: 500,
};

const QUICK: Sizes = {
  ...DEFAULT,
  rounds: 3,
  processRounds: 1,
  publishMessages: 3000,
  timeoutMessages: 2000,
  batchMessages: 3000,
  consumeMessages: 3000,
  multiMessages: 3000,
  latencySeconds: 1,
  latencyWarmup: 200,
  bullAdd: 1000,
  bullWorker50: 1000,
  bullWorker1: 200,
  memoryMessages: 20_000,
  memoryFirstSample: 5000,
  recoveryHeld: 20,
  claimIdleMs: 1000,
  reclaimIntervalMs: 250,
};

/**
 * The run docs/benchmarks.md holds: the memory scenario over 1M messages, and more rounds, so a
 * median rests on more samples (on this shared host one round pair moves ±15–25%).
 */
const LONG: Sizes = { ...DEFAULT, rounds: 9, processRounds: 5, memoryMessages: 1_000_000 };

export function sizesFor(mode: Mode): Sizes {
  return mode === 'quick' ? QUICK : mode === 'long' ? LONG : DEFAULT;
}
