// The verdict of a chaos run: the checker's figures plus what the run did, as one summary line
// and as the list of broken promises (empty when nothing was lost).
import type { ChaosCheck } from './chaos-checker.js';

/** The checker's figures plus what the run did. */
export interface ChaosReport extends ChaosCheck {
  workerKills: number;
  redisRestarts: number;
  /** Worker processes that exited without being killed (crashes; each is restarted). */
  workerCrashes: number;
  /** Lines of crashed workers' output (`fatal …`), for the failure message. */
  crashLines: string[];
  /** Publishes the producer retried. */
  producerRetries: number;
  /** Whether the group drained (nothing pending, everything delivered) before the timeout. */
  settled: boolean;
  /** ms from start to verdict. */
  durationMs: number;
  seed: number;
  /** With `trace`: every output line mentioning a dead-lettered good message, by stream ID. */
  trails: Record<string, string[]>;
  /** With `trace`: each process's full output. */
  outputs: { name: string; pid: number; killed: boolean; output: string }[];
}

/** One summary line of a report. */
export function formatChaosReport(r: ChaosReport): string {
  return (
    `chaos: produced=${r.produced} processed=${r.processed} dead-lettered=${r.deadLettered} ` +
    `(bad=${r.badDeadLettered} good=${r.goodDeadLettered}) lost=${r.lost} unexpected=${r.unexpected} ` +
    `duplicates=${r.duplicates} publish-duplicates=${r.publishDuplicates} dlq-duplicates=${r.deadLetterDuplicates} ` +
    `pending=${r.pending} worker-kills=${r.workerKills} worker-crashes=${r.workerCrashes} redis-restarts=${r.redisRestarts} ` +
    `producer-retries=${r.producerRetries} settled=${r.settled} duration=${(r.durationMs / 1000).toFixed(1)}s seed=${r.seed}`
  );
}

/** Did the run keep the promise? Returns the reasons it did not (empty when it did). */
export function chaosViolations(r: ChaosReport): string[] {
  const problems: string[] = [];
  if (r.lost !== 0) problems.push(`lost=${r.lost}: ${r.samples.lost.join('; ')}`);
  if (r.unexpected !== 0) problems.push(`unexpected=${r.unexpected}: ${r.samples.unexpected.join('; ')}`);
  if (r.pending !== 0) problems.push(`pending=${r.pending} at the end`);
  if (!r.settled) problems.push('the group did not drain before the settle timeout');
  if (r.workerCrashes !== 0) problems.push(`worker-crashes=${r.workerCrashes}: ${r.crashLines.join(' | ')}`);
  return problems;
}
