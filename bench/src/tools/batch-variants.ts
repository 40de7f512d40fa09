/**
 * publishMany throughput by call size and calls in flight, next to the raw pipelined XADD loop.
 * Usage: REDIS_URL=… tsx src/tools/batch-variants.ts [messages] [rounds]
 */
import { createProducer } from '@tributary/producer';
import { freshName } from '../context.js';
import { benchTopic, EVENT_TYPE, payload, rawXaddArgs, rawXaddHead } from '../payload.js';
import { connectBench } from '../redis-setup.js';
import { median, pipelined, rate } from '../timing.js';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 50_000);
  const rounds = Number(process.argv[3] ?? 3);
  const client = await connectBench(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const variants: [string, number, number][] = [['raw', 0, 1000], ['many 500×4', 500, 4], ['many 500×8', 500, 8], ['many 1000×4', 1000, 4], ['many 2000×2', 2000, 2], ['many 5000×1', 5000, 1]];
  const results = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, call, window] of variants) {
      const topic = benchTopic(freshName('bv'));
      const producer = createProducer(client, { topic });
      const head = rawXaddHead(topic.keys.stream);
      const ms = call === 0
        ? await pipelined(total, window, (i) => client.sendCommand(rawXaddArgs(head, payload(i))))
        : await pipelined(Math.ceil(total / call), window, (c) => {
          const messages = [];
          for (let i = c * call; i < Math.min(total, (c + 1) * call); i++) messages.push({ type: EVENT_TYPE, data: payload(i) } as const);
          return producer.publishMany(messages, { chunkSize: Math.min(call, 10_000) });
        });
      results.set(name, [...(results.get(name) ?? []), rate(total, ms)]);
      await client.sendCommand(['UNLINK', topic.keys.stream]);
    }
  }
  for (const [name, list] of results) console.log(`${name.padEnd(14)} median ${Math.round(median(list))} msgs/s [${list.map((x) => Math.round(x / 1000)).join(' ')}]k`);
  await client.close();
}
void main();
