// The chaos run at CI size (scripts/chaos.ts runs the same scenario larger): a producer process
// publishes 10,000 messages (1% poison, a few failing schema validation or not even JSON) while 4
// worker processes with recovery are killed with kill -9 at random and restarted, and the AOF
// Redis is killed with kill -9 and restarted. The checker classifies every produced message.
// Required: nothing lost, nothing unexpected, every bad message in the DLQ exactly once and
// never processed, nothing left pending, no worker crashed on its own.
// CHAOS_MESSAGES, CHAOS_SECONDS and CHAOS_SEED override the size, duration and kill schedule.
import { MessageKind } from './fixtures/fault-topic.js';
import { chaosViolations, formatChaosReport } from './helpers/chaos-report.js';
import { runChaos } from './helpers/chaos-runner.js';

const MESSAGES = Number(process.env.CHAOS_MESSAGES ?? 10_000);
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 20);
const SEED = process.env.CHAOS_SEED === undefined ? undefined : Number(process.env.CHAOS_SEED);

test(`chaos: ${MESSAGES} messages, 4 workers killed -9 at random, Redis killed -9 and restarted: nothing lost`, async () => {
  const progress: string[] = [];
  const report = await runChaos({
    messages: MESSAGES,
    workers: 4,
    seconds: SECONDS,
    redisRestarts: 1,
    claimIdleMs: 1000,
    leaseRenewMs: 300,
    maxDeliveries: 3,
    settleTimeoutMs: 60_000,
    ...(SEED !== undefined ? { seed: SEED } : {}),
    log: (line) => progress.push(line),
  });
  console.log(`${formatChaosReport(report)}\n${progress.join('\n')}\nreasons=${JSON.stringify(report.reasons)}`);

  expect(chaosViolations(report)).toEqual([]);
  expect(report.lost).toBe(0);
  expect(report.unexpected).toBe(0);
  expect(report.produced).toBe(MESSAGES);
  // Every bad message (poison, invalid, undecodable) in the DLQ exactly once, none processed
  // (processing one would be `unexpected`; twice in the DLQ too).
  const bad = Math.floor((MESSAGES + 1) / 100) + Math.floor((MESSAGES + 2) / 1000) + Math.floor((MESSAGES + 3) / 2000);
  expect(report.badDeadLettered).toBe(bad);
  expect(report.deadLetterDuplicates).toBe(0);
  expect(report.reasons[MessageKind.Invalid]).toEqual(expect.objectContaining({ validation: expect.any(Number) }));
  expect(Object.keys(report.reasons[MessageKind.Invalid] ?? {})).toEqual(['validation']);
  expect(Object.keys(report.reasons[MessageKind.Undecodable] ?? {})).toEqual(['decode']);
  // The faults did happen.
  expect(report.workerKills).toBeGreaterThanOrEqual(4);
  expect(report.redisRestarts).toBeGreaterThanOrEqual(1);
}, 240_000);
