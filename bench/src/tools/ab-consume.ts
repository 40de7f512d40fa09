/**
 * A/B of consume variants in one process, interleaved, on one pre-filled stream (TOPIC=…, see
 * profile-consume.ts `fill`). Variants: raw[:n=<COUNT>][:w=<workers>], raw+zod[:n=…][:w=…],
 * lib[:ack=<maxAckBatch>][:c=<concurrency>][:b=<batchSize>][:sync][:w=<workers>][@<file>];
 * `:w=4` runs four consumers of the variant in this process, on one group.
 * `lib@<file>` takes createWorker from the consumer-group entry file `<file>`: a copy of an
 * earlier build (dist/cjs/index.js, with its own @tributary/core in a node_modules beside it),
 * for a before/after in one run.
 * Usage: REDIS_URL=… TOPIC=… tsx src/tools/ab-consume.ts <messages> <rounds> <variant>…
 */
import { createWorker } from '@tributary/consumer-group';
import { type RunningConsumer, startRawConsumer } from '../consumers.js';
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
      const at = variant.indexOf('@');
      const spec = at < 0 ? variant : variant.slice(0, at);
      const option = (name: string) => new RegExp(`:${name}=(\\d+)`).exec(spec)?.[1];
      const workers = Number(option('w') ?? 1);
      const stops: (() => Promise<void>)[] = [];
      if (spec.startsWith('raw')) {
        const consumers: RunningConsumer[] = [];
        for (let w = 0; w < workers; w++) {
          consumers.push(await startRawConsumer(client, { key: topic.keys.stream, group, consumer: `c${w}`, count: Number(option('n') ?? 500), validate: spec.startsWith('raw+zod') }));
        }
        stops.push(...consumers.map((c) => () => c.stop()));
        await waitConsumed(monitor, topic.keys.stream, group, lastId, { ready: () => consumers.reduce((sum, c) => sum + c.handled(), 0) >= total });
      } else {
        const ack = option('ack');
        const sync = spec.includes(':sync');
        // A copy of an earlier build, loaded by path (its own @tributary/core resolves beside it).
        const create = at < 0 ? createWorker : ((await import(variant.slice(at + 1))) as { createWorker: typeof createWorker }).createWorker;
        for (let w = 0; w < workers; w++) {
          const worker = create(client, {
            topic, group, consumer: `c${w}`, createGroup: false,
            concurrency: Number(option('c') ?? 500),
            batchSize: Number(option('b') ?? 500),
            ...(ack ? { maxAckBatch: Number(ack) } : {}),
            handlers: { [EVENT_TYPE]: sync ? () => { handled++; } : async () => { handled++; } },
          });
          await worker.start();
          stops.push(() => worker.stop());
        }
        await waitConsumed(monitor, topic.keys.stream, group, lastId, { ready: () => handled >= total });
      }
      const stop = () => Promise.all(stops.map((s) => s())).then(() => undefined);
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
