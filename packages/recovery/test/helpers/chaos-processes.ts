// Starting and stopping the fixture processes (worker, producer) the fault tests and the chaos
// runner share.
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildScript, spawnScript } from '@tributary/test-utils';
import { type FaultProducerConfig, type FaultWorkerConfig, fixtureEnv, fixturePath } from '../fixtures/fault-topic.js';

/** Starts `fault-worker.ts` with `config` (not waiting for it to be ready). */
export function spawnFaultWorker(config: FaultWorkerConfig): ChildScript {
  return spawnScript(fixturePath('fault-worker.ts'), { env: fixtureEnv({ FAULT_WORKER: JSON.stringify(config) }) });
}

/** Starts `fault-producer.ts` with `config`. */
export function spawnFaultProducer(config: FaultProducerConfig): ChildScript {
  return spawnScript(fixturePath('fault-producer.ts'), { env: fixtureEnv({ FAULT_PRODUCER: JSON.stringify(config) }) });
}

/** Settles like `promise`, or with `undefined` after `ms`; the timer never outlives it. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([promise, sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
  } finally {
    timer.abort();
  }
}

/** Graceful stop (SIGTERM: the worker stops and flushes its acks), then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildScript, graceMs = 10_000): Promise<void> {
  child.signal('SIGCONT'); // a frozen (SIGSTOPped) child could not act on SIGTERM
  child.signal('SIGTERM');
  if ((await within(child.exited, graceMs)) === undefined) await child.kill('SIGKILL');
}

/** Output lines of `child` that start with `prefix ` (split into words). */
export function linesOf(child: ChildScript, prefix: string): string[][] {
  const result: string[][] = [];
  for (const line of child.output().split('\n')) {
    if (line.startsWith(`${prefix} `)) result.push(line.trim().split(' '));
  }
  return result;
}

/** How many output lines of `child` start with `prefix `. */
export function countLines(child: ChildScript, prefix: string): number {
  let count = 0;
  let from = 0;
  const out = child.output();
  const needle = `\n${prefix} `;
  if (out.startsWith(`${prefix} `)) count++;
  for (;;) {
    const at = out.indexOf(needle, from);
    if (at < 0) return count;
    count++;
    from = at + needle.length;
  }
}

/** App IDs of every `processed` line printed by `children`. */
export function printedProcessed(children: readonly ChildScript[]): Set<string> {
  const ids = new Set<string>();
  for (const child of children) for (const [, appId] of linesOf(child, 'processed')) if (appId) ids.add(appId);
  return ids;
}

/** The `fatal …` lines of `children` (a crash of a worker is a bug). */
export function fatalLines(children: readonly ChildScript[]): string[] {
  return children.flatMap((child) => linesOf(child, 'fatal').map((words) => words.join(' ')));
}
