/**
 * Child process: one consumer (raw loop or library worker) on a group, started when the parent
 * pushes to `goKey`, stopped by SIGTERM; prints `RESULT {"handled":n}`.
 */
import { childConfig, printResult, untilTerminated } from '../children.js';
import { type RunningConsumer, startLibConsumer, startRawConsumer } from '../consumers.js';
import { benchTopic } from '../payload.js';
import { connectBench } from '../redis-setup.js';

interface Config {
  url: string;
  side: 'raw' | 'lib';
  topic: string;
  group: string;
  consumer: string;
  goKey: string;
  count: number;
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const terminated = untilTerminated();
  const client = await connectBench(c.url);
  const topic = benchTopic(c.topic);
  process.stdout.write('READY\n');
  await client.sendCommand(['BLPOP', c.goKey, '0']);
  const consumer: RunningConsumer = c.side === 'raw'
    ? await startRawConsumer(client, { key: topic.keys.stream, group: c.group, consumer: c.consumer, count: c.count })
    : await startLibConsumer(client, { topic, group: c.group, consumer: c.consumer, concurrency: c.count, batchSize: c.count });
  await terminated;
  await consumer.stop();
  printResult({ handled: consumer.handled() });
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
