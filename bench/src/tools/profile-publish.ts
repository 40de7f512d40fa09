/**
 * A single-side publish loop for `node --cpu-prof`: raw, lib (publish) or many (publishMany).
 * Usage: REDIS_URL=… node --cpu-prof --import tsx src/tools/profile-publish.ts <raw|lib|many> [messages]
 */
import { createProducer } from '@tributary/producer';
import { connectBench } from '../redis-setup.js';
import { benchTopic, EVENT_TYPE, payload, rawXaddArgs, rawXaddHead } from '../payload.js';
import { pipelined, rate } from '../timing.js';
import { freshName } from '../context.js';

async function main(): Promise<void> {
  const side = process.argv[2] ?? 'lib';
  const total = Number(process.argv[3] ?? 200_000);
  const client = await connectBench(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const topic = benchTopic(freshName('prof'));
  const producer = createProducer(client, { topic });
  const head = rawXaddHead(topic.keys.stream);
  let ms: number;
  const cpu0 = process.cpuUsage();
  if (side === 'raw') ms = await pipelined(total, 1000, (i) => client.sendCommand(rawXaddArgs(head, payload(i))));
  else if (side === 'lib') ms = await pipelined(total, 1000, (i) => producer.publish({ type: EVENT_TYPE, data: payload(i) }));
  else {
    ms = await pipelined(Math.ceil(total / 500), 4, (c) => {
      const messages = [];
      for (let i = c * 500; i < (c + 1) * 500; i++) messages.push({ type: EVENT_TYPE, data: payload(i) } as const);
      return producer.publishMany(messages);
    });
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(`${side}: ${Math.round(rate(total, ms))} msgs/s, client CPU ${((cpu.user + cpu.system) / total).toFixed(2)} µs/msg`);
  await client.sendCommand(['UNLINK', topic.keys.stream]);
  await client.close();
}
void main();
