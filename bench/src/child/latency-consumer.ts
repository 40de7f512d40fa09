/**
 * Child process: one consumer (raw loop or worker) recording, per message, receive time minus
 * the payload's send time. Prints `READY` once reading, and `RESULT {"count":…,"p50":…,…}`
 * (ms, warm-up messages dropped) after `total` messages.
 */
import { childConfig, printResult } from '../children.js';
import { startLibConsumer, startRawConsumer } from '../consumers.js';
import { benchTopic, hrNow, type Order } from '../payload.js';
import { connectBench } from '../redis-setup.js';
import { summarizeLatencies } from '../timing.js';

interface Config {
  url: string;
  side: 'raw' | 'lib';
  topic: string;
  group: string;
  total: number;
  warmup: number;
  count: number;
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const client = await connectBench(c.url);
  const topic = benchTopic(c.topic);
  const samples = new Float64Array(c.total);
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onMessage = (data: Order): void => {
    if (received < c.total) samples[received] = hrNow() - data.sentAt;
    if (++received === c.total) done();
  };
  const consumer = c.side === 'raw'
    ? await startRawConsumer(client, { key: topic.keys.stream, group: c.group, consumer: 'latency', count: c.count, onMessage })
    : await startLibConsumer(client, { topic, group: c.group, consumer: 'latency', concurrency: c.count, batchSize: c.count, onMessage });
  // Reading (its first blocking read is on its way) before the producer is told to start.
  process.stdout.write('READY\n');
  await finished;
  await consumer.stop();
  printResult(summarizeLatencies(samples.subarray(Math.min(c.warmup, c.total - 1))));
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
