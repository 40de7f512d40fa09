/**
 * Child process: consumes a pre-filled stream to the end (raw loop or worker) and samples its
 * memory after a forced GC at `firstSample` messages and at the end (plus the peak RSS seen).
 * Starts when the parent pushes to `goKey`; prints `RESULT {…}` (bytes).
 */
import { setFlagsFromString } from 'node:v8';
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
  firstSample: number;
  count: number;
}

interface Sample {
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function sample(at: number, collect = true): Sample {
  if (collect) gc();
  const m = process.memoryUsage();
  return { at, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const client = await connectBench(c.url);
  const topic = benchTopic(c.topic);
  let received = 0;
  let first: Sample | undefined;
  let peakRss = 0;
  // Ten evenly spaced samples without a forced GC: the shape of the curve, not just two points.
  const series: Sample[] = [];
  const every = Math.max(1, Math.floor(c.total / 10));
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onMessage = (): void => {
    received++;
    if (received % 10_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
    if (received % every === 0) series.push(sample(received, false));
    // Sampled from a timer, not inside the handler: the handler's own closure is not measured.
    if (received === c.firstSample) setImmediate(() => { first = sample(c.firstSample); });
    if (received === c.total) done();
  };
  process.stdout.write('READY\n');
  await client.sendCommand(['BLPOP', c.goKey, '0']);
  const consumer = c.side === 'raw'
    ? await startRawConsumer(client, { key: topic.keys.stream, group: c.group, consumer: 'memory', count: c.count, onMessage })
    : await startLibConsumer(client, { topic, group: c.group, consumer: 'memory', concurrency: c.count, batchSize: c.count, onMessage });
  await finished;
  await new Promise((resolve) => setImmediate(resolve));
  const last = sample(received);
  await consumer.stop();
  printResult({ first, last, peakRss: Math.max(peakRss, last.rss), series });
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
