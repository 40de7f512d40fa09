/**
 * Child process: consumes a pre-filled stream to the end (raw loop or worker) and samples its
 * memory after a forced full GC every `sampleEvery` messages and at the end (plus the peak RSS
 * seen, without GC, every 10,000). Both sides are sampled at the same points, so both go through
 * the same major GCs. Starts when the parent pushes to `goKey`; prints `RESULT {…}` (bytes).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { childConfig, printResult } from '../children.js';
import { startLibConsumer, startRawConsumer } from '../consumers.js';
import { benchTopic } from '../payload.js';
import { connectBench } from '../redis-setup.js';

interface Config {
  url: string;
  side: 'raw' | 'lib';
  topic: string;
  group: string;
  goKey: string;
  total: number;
  sampleEvery: number;
  count: number;
}

export interface MemorySample {
  /** Messages received when the sample was taken. */
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** V8 old space committed: where promoted garbage waits for the next major GC. */
  oldSpace: number;
}

export interface MemoryWorkerResult {
  samples: MemorySample[];
  peakRss: number;
  /** Major GCs V8 ran on its own while consuming (not the forced ones). */
  majorGcs: number;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function sample(at: number): MemorySample {
  gc();
  const m = process.memoryUsage();
  const oldSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_size ?? 0;
  return { at, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, oldSpace };
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const client = await connectBench(c.url);
  const topic = benchTopic(c.topic);
  let received = 0;
  let peakRss = 0;
  const samples: MemorySample[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onMessage = (): void => {
    received++;
    if (received % 10_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (received % c.sampleEvery === 0 && received < c.total) {
      // Sampled from a timer, not inside the handler: the handler's own closure is not measured.
      const at = received;
      setImmediate(() => samples.push(sample(at)));
    }
    if (received === c.total) done();
  };
  process.stdout.write('READY\n');
  await client.sendCommand(['BLPOP', c.goKey, '0']);
  let majorGcs = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // @types/node 20 types gc entries as plain PerformanceEntry; Node sets `detail` on them.
      const { kind, flags } = (entry as unknown as { detail: { kind: number; flags: number } }).detail;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR && !(flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED)) majorGcs++;
    }
  });
  gcs.observe({ entryTypes: ['gc'] });
  const consumer = c.side === 'raw'
    ? await startRawConsumer(client, { key: topic.keys.stream, group: c.group, consumer: 'memory', count: c.count, onMessage })
    : await startLibConsumer(client, { topic, group: c.group, consumer: 'memory', concurrency: c.count, batchSize: c.count, onMessage });
  await finished;
  await new Promise((resolve) => setImmediate(resolve));
  samples.push(sample(received));
  gcs.disconnect();
  await consumer.stop();
  const result: MemoryWorkerResult = { samples, peakRss: Math.max(peakRss, ...samples.map((s) => s.rss)), majorGcs };
  printResult(result);
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
