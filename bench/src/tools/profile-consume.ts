/**
 * One consume run for `node --cpu-prof`: fills a stream (unless `REUSE_KEY` names a topic),
 * then consumes it with one raw loop or one worker, printing msgs/s and client CPU per message.
 * Usage: REDIS_URL=… [TOPIC=…] node --cpu-prof --import tsx src/tools/profile-consume.ts <fill|raw|raw+zod|lib> [messages]
 */
import { startLibConsumer, startRawConsumer } from '../consumers.js';
import { freshName } from '../context.js';
import { type FilledStream, fillStream } from '../fill.js';
import { benchTopic } from '../payload.js';
import { connectBench, createGroup, lastStreamId, waitConsumed } from '../redis-setup.js';
import { rate } from '../timing.js';

async function main(): Promise<void> {
  const side = process.argv[2] ?? 'lib';
  const total = Number(process.argv[3] ?? 200_000);
  const client = await connectBench(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const monitor = await connectBench(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  // TOPIC=<name> reuses a stream filled by an earlier `fill` run, so the profile shows consuming only.
  let stream: FilledStream;
  if (process.env.TOPIC) {
    const topic = benchTopic(process.env.TOPIC);
    stream = { topic, key: topic.keys.stream, count: total, lastId: await lastStreamId(client, topic.keys.stream) };
  } else {
    stream = await fillStream(client, total, 'prof-consume');
  }
  if (side === 'fill') {
    console.log(`TOPIC=${stream.topic.name}`);
    await client.close();
    await monitor.close();
    return;
  }
  for (const round of [0, 1]) {
    const group = freshName('g');
    await createGroup(monitor, stream.key, group);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const consumer = side === 'lib'
      ? await startLibConsumer(client, { topic: stream.topic, group, consumer: 'c', concurrency: 500, batchSize: 500 })
      : await startRawConsumer(client, { key: stream.key, group, consumer: 'c', count: 500, validate: side === 'raw+zod' });
    await waitConsumed(monitor, stream.key, group, stream.lastId, { ready: () => consumer.handled() >= total });
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    await consumer.stop();
    console.log(`${side} round ${round}: ${Math.round(rate(total, ms))} msgs/s, client CPU ${((cpu.user + cpu.system) / total).toFixed(2)} µs/msg`);
  }
  if (!process.env.TOPIC) await client.sendCommand(['UNLINK', stream.key]);
  await client.close();
  await monitor.close();
}
void main();
