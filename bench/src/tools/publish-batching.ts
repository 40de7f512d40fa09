/**
 * producer.publish with batching of concurrent publishes (the default) against the same producer
 * with batching off (maxBatchSize 1) and the raw XADD loop: one-at-a-time latency (`await
 * publish()` in a loop) and throughput at several numbers in flight, rounds interleaved.
 * Usage: yarn run -T tsx src/tools/publish-batching.ts [messages] [windows, e.g. 2,8,64,1000]
 * (REDIS_URL, else a private server)
 */
import { createProducer } from '@tributary/producer';
import { freshName } from '../context.js';
import { benchTopic, EVENT_TYPE, payload, rawXaddArgs, rawXaddHead } from '../payload.js';
import { acquireServer, connectBench } from '../redis-setup.js';
import { median, percentileSorted, pipelined, rate } from '../timing.js';

type Send = (i: number) => Promise<unknown>;

/** CPU seconds the redis-server process has used (INFO cpu), to see what each side costs Redis. */
async function serverCpu(client: Awaited<ReturnType<typeof connectBench>>): Promise<number> {
  const info = String(await client.sendCommand(['INFO', 'cpu']));
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const server = await acquireServer();
  const client = await connectBench(server.url);
  const sides = (): Record<string, { send: Send; key: string }> => {
    const batchedTopic = benchTopic(freshName('batched'));
    const plainTopic = benchTopic(freshName('plain'));
    const rawKey = `{${freshName('raw')}}`;
    const batched = createProducer(client, { topic: batchedTopic });
    const plain = createProducer(client, { topic: plainTopic, maxBatchSize: 1 });
    const head = rawXaddHead(rawKey);
    return {
      'raw XADD': { send: (i) => client.sendCommand(rawXaddArgs(head, payload(i))), key: rawKey },
      'publish, batching off': { send: (i) => plain.publish({ type: EVENT_TYPE, data: payload(i) }), key: plainTopic.keys.stream },
      'publish, batching on': { send: (i) => batched.publish({ type: EVENT_TYPE, data: payload(i) }), key: batchedTopic.keys.stream },
    };
  };

  // One at a time: each call awaited before the next; per-call latency in µs.
  const sequential = Math.min(total, 5000);
  const latencies: Record<string, number[][]> = {};
  for (let round = 0; round < 5; round++) {
    const all = Object.entries(sides());
    if (round % 2 === 1) all.reverse();
    for (const [name, { send, key }] of all) {
      for (let i = 0; i < 200; i++) await send(i);
      const samples = new Float64Array(sequential);
      for (let i = 0; i < sequential; i++) {
        const t0 = performance.now();
        await send(i);
        samples[i] = (performance.now() - t0) * 1000;
      }
      samples.sort();
      (latencies[name] ??= []).push([percentileSorted(samples, 50), percentileSorted(samples, 99)]);
      await client.sendCommand(['UNLINK', key]);
    }
  }
  console.log(`one at a time (${sequential} awaited calls, median of 5 rounds):`);
  for (const [name, rounds] of Object.entries(latencies)) {
    console.log(`  ${name.padEnd(24)} p50 ${median(rounds.map((r) => r[0]!)).toFixed(1)} µs, p99 ${median(rounds.map((r) => r[1]!)).toFixed(1)} µs`);
  }

  const windows = (process.argv[3] ?? '2,8,64,1000').split(',').map(Number);
  for (const window of windows) {
    const results: Record<string, number[][]> = {};
    for (let round = 0; round < 5; round++) {
      const all = Object.entries(sides());
      if (round % 2 === 1) all.reverse();
      for (const [name, { send, key }] of all) {
        const server0 = await serverCpu(client);
        const cpu0 = process.cpuUsage();
        const ms = await pipelined(total, window, send);
        const cpu = process.cpuUsage(cpu0);
        const serverUs = ((await serverCpu(client)) - server0) * 1e6;
        (results[name] ??= []).push([rate(total, ms), (cpu.user + cpu.system) / total, serverUs / total]);
        await client.sendCommand(['UNLINK', key]);
      }
    }
    console.log(`${window} in flight (${total} messages, median of 5 rounds):`);
    for (const [name, rounds] of Object.entries(results)) {
      const at = (k: number) => median(rounds.map((r) => r[k]!));
      console.log(`  ${name.padEnd(24)} ${Math.round(at(0))} msgs/s, CPU µs/msg: client ${at(1).toFixed(2)}, redis-server ${at(2).toFixed(2)}`);
    }
  }
  await client.close();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
