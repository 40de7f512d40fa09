/**
 * A/B of consume variants in one process, interleaved, on one pre-filled stream (TOPIC=…, see
 * profile-consume.ts `fill`). Variants: raw, raw+zod, lib[:ack=<maxAckBatch>][:c=<concurrency>][:b=<batchSize>][:sync][@<file>].
 * `lib@<file>` takes createWorker from the consumer-group entry file `<file>`: a copy of an
 * earlier build (dist/cjs/index.js, with its own @tributary/core in a node_modules beside it),
 * for a before/after in one run.
 * Usage: REDIS_URL=… TOPIC=… tsx src/tools/ab-consume.ts <messages> <rounds> <variant>…
 */
import { createWorker } from '@tributary/consumer-group';
import { startRawConsumer } from '../consumers.js';
import { freshName } from '../context.js';
import { benchTopic, EVENT_TYPE } from '../payload.js';
import { connectBench, createGroup, lastStreamId, waitConsumed } from '../redis-setup.js';
import { median, rate } from '../timing.js';

async function main(): Promise<void> {
  const [totalArg, roundsArg, ...variants] = process.argv.slice(2);
  const total = Number(totalArg);
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = await connectBench(url);
  const monitor = await connectBench(url);
  const topic = benchTopic(process.env.TOPIC!);
  const lastId = await lastStreamId(client, topic.keys.stream);
  const results = new Map<string, { rate: number; cpu: number }[]>();
  for (let round = 0; round < Number(roundsArg); round++) {
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      const group = freshName('g');
      await createGroup(monitor, topic.keys.stream, group);
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      let handled = 0;
      let stop: () => Promise<void>;
      if (variant.startsWith('raw')) {
        const c = await startRawConsumer(client, { key: topic.keys.stream, group, consumer: 'c', count: 500, validate: variant === 'raw+zod' });
        handled = 0;
        stop = () => c.stop();
        await waitConsumed(monitor, topic.keys.stream, group, lastId, { ready: () => c.handled() >= total });
      } else {
        const ack = /ack=(\d+)/.exec(variant)?.[1];
        const sync = variant.includes('sync');
        const at = variant.indexOf('@');
        // A copy of an earlier build, loaded by path (its own @tributary/core resolves beside it).
        const create = at < 0 ? createWorker : ((await import(variant.slice(at + 1))) as { createWorker: typeof createWorker }).createWorker;
        const worker = create(client, {
          topic, group, consumer: 'c', createGroup: false,
          concurrency: Number(/c=(\d+)/.exec(variant)?.[1] ?? 500),
          batchSize: Number(/b=(\d+)/.exec(variant)?.[1] ?? 500),
          ...(ack ? { maxAckBatch: Number(ack) } : {}),
          handlers: { [EVENT_TYPE]: sync ? () => { handled++; } : async () => { handled++; } },
        });
        await worker.start();
        stop = () => worker.stop();
        await waitConsumed(monitor, topic.keys.stream, group, lastId, { ready: () => handled >= total });
      }
      const ms = performance.now() - start;
      const cpu = process.cpuUsage(cpu0);
      await stop();
      await monitor.sendCommand(['XGROUP', 'DESTROY', topic.keys.stream, group]);
      const list = results.get(variant) ?? [];
      list.push({ rate: rate(total, ms), cpu: (cpu.user + cpu.system) / total });
      results.set(variant, list);
    }
  }
  for (const [variant, list] of results) {
    console.log(`${variant.padEnd(16)} median ${Math.round(median(list.map((r) => r.rate)))} msgs/s  [${list.map((r) => Math.round(r.rate / 1000)).join(' ')}]k   CPU median ${median(list.map((r) => r.cpu)).toFixed(2)} µs/msg`);
  }
  await client.close();
  await monitor.close();
}
void main();
