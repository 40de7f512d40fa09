import { type BenchContext, freshName, type Scenario } from '../context.js';
import { startChild } from '../children.js';
import { type RunningConsumer, startLibConsumer, startRawConsumer } from '../consumers.js';
import { type FilledStream, fillStream } from '../fill.js';
import { createGroup, waitConsumed } from '../redis-setup.js';
import { medianRow, rateRow, type ResultRow } from '../report.js';
import { alternate, rate, type RoundResult } from '../timing.js';

/** XREADGROUP COUNT for raw, and concurrency = batch size for the worker. */
const BATCH = 500;

type Side = 'raw' | 'raw+zod' | 'lib';

/**
 * Consumes the whole stream with `workers` consumers of one side in this process, on a fresh
 * group, and returns messages/s from the first start call to the last ack confirmed.
 */
async function consumeInProcess(ctx: BenchContext, stream: FilledStream, side: Side, workers: number): Promise<RoundResult> {
  const group = freshName('g');
  await createGroup(ctx.monitor, stream.key, group);
  const consumers: RunningConsumer[] = [];
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let w = 0; w < workers; w++) {
    const consumer = `${group}-c${w}`;
    consumers.push(side === 'lib'
      ? await startLibConsumer(ctx.client, { topic: stream.topic, group, consumer, concurrency: BATCH, batchSize: BATCH })
      : await startRawConsumer(ctx.client, { key: stream.key, group, consumer, count: BATCH, validate: side === 'raw+zod' }));
  }
  const handled = () => consumers.reduce((sum, c) => sum + c.handled(), 0);
  await waitConsumed(ctx.monitor, stream.key, group, stream.lastId, { ready: () => handled() >= stream.count });
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(consumers.map((c) => c.stop()));
  await ctx.monitor.sendCommand(['XGROUP', 'DESTROY', stream.key, group]);
  return { rate: rate(stream.count, ms), cpuUs: (cpu.user + cpu.system) / stream.count };
}

/**
 * Two child processes with one consumer each; timed from the "go" push until the group has
 * everything delivered and acked (polled every 5 ms).
 */
async function consumeTwoProcesses(ctx: BenchContext, stream: FilledStream, side: 'raw' | 'lib'): Promise<number> {
  const group = freshName('g');
  const goKey = `${group}:go`;
  await createGroup(ctx.monitor, stream.key, group);
  const children = [0, 1].map((p) => startChild('consume', {
    url: ctx.url, side, topic: stream.topic.name, group, consumer: `${group}-p${p}`, goKey, count: BATCH,
  }));
  try {
    await Promise.all(children.map((c) => c.ready()));
    const start = performance.now();
    await ctx.monitor.sendCommand(['LPUSH', goKey, 'go', 'go']);
    await waitConsumed(ctx.monitor, stream.key, group, stream.lastId, { intervalMs: 5 });
    const ms = performance.now() - start;
    await Promise.all(children.map((c) => c.terminate()));
    const handled = (await Promise.all(children.map((c) => c.result<{ handled: number }>()))).reduce((s, r) => s + r.handled, 0);
    if (handled !== stream.count) throw new Error(`${side}: children handled ${handled} of ${stream.count}`);
    return rate(stream.count, ms);
  } finally {
    await Promise.all(children.map((c) => c.kill()));
    await ctx.monitor.sendCommand(['XGROUP', 'DESTROY', stream.key, group]);
    await ctx.monitor.sendCommand(['DEL', goKey]);
  }
}

/**
 * The informational "raw with zod too" row: the raw loop also validates each payload with the
 * same zod schema (fewer rounds), which isolates what the worker itself costs.
 */
async function withZodRow(ctx: BenchContext, stream: FilledStream, workers: number, scenario: string, baselineName: string, note: string): Promise<ResultRow> {
  const rounds = Math.min(3, ctx.sizes.rounds);
  const z = await alternate(rounds, () => consumeInProcess(ctx, stream, 'raw+zod', workers), () => consumeInProcess(ctx, stream, 'lib', workers));
  ctx.log(`${workers} worker(s): raw+zod ${fmt(z.raw)} | lib ${fmt(z.lib)} msgs/s`);
  return rateRow(scenario, baselineName, z, `Informational: ${note}`);
}

function fmt(values: readonly (number | RoundResult)[]): string {
  return values.map((v) => (typeof v === 'number' ? Math.round(v) : `${Math.round(v.rate)} (${v.cpuUs.toFixed(1)} µs)`)).join(', ');
}

export const consumeScenario: Scenario = {
  name: 'consume',
  title: '3. consume + ack with decoding and zod validation, one worker',
  async run(ctx) {
    const { consumeMessages: n, rounds } = ctx.sizes;
    const warm = await fillStream(ctx.client, Math.min(20_000, n), 'consume-warm');
    // Three passes a side: in one pass the rates were still climbing (JIT, young-generation
    // sizing), the worker's more than the raw loop's, which skewed the first timed rounds.
    for (let pass = 0; pass < 3; pass++) {
      await consumeInProcess(ctx, warm, 'raw', 1);
      await consumeInProcess(ctx, warm, 'lib', 1);
    }
    await ctx.monitor.sendCommand(['UNLINK', warm.key]);
    const stream = await fillStream(ctx.client, n, 'consume');
    try {
      const r = await alternate(rounds, () => consumeInProcess(ctx, stream, 'raw', 1), () => consumeInProcess(ctx, stream, 'lib', 1));
      ctx.log(`raw ${fmt(r.raw)} | lib ${fmt(r.lib)} msgs/s`);
      const zodRow = await withZodRow(ctx, stream, 1, '3b. consume + ack, raw with zod too', 'raw + zod.parse',
        'the raw loop also validates each payload with the same zod schema, isolating what the worker itself costs.');
      return [
        rateRow('3. consume + ack, 1 worker', 'raw XREADGROUP/XACK', r, `${n.toLocaleString('en-US')} messages per round on a fresh group. Raw: XREADGROUP COUNT ${BATCH} BLOCK on its own connection, JSON.parse of \`data\`, one XACK per batch pipelined before the next read. Tributary: createWorker (concurrency ${BATCH}, batchSize ${BATCH}), envelope decoding + zod validation, async no-op handler, batched XACK. Timed from start to the last ack confirmed (XINFO GROUPS: pending 0, last-delivered-id = stream end).`, 0.8),
        zodRow,
      ];
    } finally {
      await ctx.monitor.sendCommand(['UNLINK', stream.key]);
    }
  },
};

export const consumeMultiScenario: Scenario = {
  name: 'consume-multi',
  title: '4. consume + ack with 4 workers in one process, and with 2 processes',
  async run(ctx) {
    const { multiMessages: n, rounds, processRounds } = ctx.sizes;
    const stream = await fillStream(ctx.client, n, 'multi');
    const rows: ResultRow[] = [];
    try {
      // Warm-up, not measured: three passes a side, as in the one-worker scenario.
      for (let pass = 0; pass < 3; pass++) {
        await consumeInProcess(ctx, stream, 'raw', 4);
        await consumeInProcess(ctx, stream, 'lib', 4);
      }
      const four = await alternate(rounds, () => consumeInProcess(ctx, stream, 'raw', 4), () => consumeInProcess(ctx, stream, 'lib', 4));
      ctx.log(`4 workers: raw ${fmt(four.raw)} | lib ${fmt(four.lib)} msgs/s`);
      rows.push(rateRow('4. consume + ack, 4 workers, 1 process', '4 raw loops', four,
        `${n.toLocaleString('en-US')} messages per round; four raw loops (one connection each) vs four workers sharing one client for acks (each with its own reader connection).`, 0.8));
      rows.push(await withZodRow(ctx, stream, 4, '4c. 4 workers, raw with zod too', '4 raw loops + zod.parse',
        'the four raw loops also validate each payload with the same zod schema. CPU-bound on one core, so this is the bound a validating consumer sending the same commands faces.'));
      const two = await alternate(processRounds, () => consumeTwoProcesses(ctx, stream, 'raw'), () => consumeTwoProcesses(ctx, stream, 'lib'));
      ctx.log(`2 processes: raw ${fmt(two.raw)} | lib ${fmt(two.lib)} msgs/s`);
      rows.push(medianRow({
        scenario: '4b. consume + ack, 2 processes',
        metric: 'msgs/s',
        baselineName: 'raw loop ×2 proc',
        note: 'One consumer per child process; timed from the go signal (children already connected) to the last ack, polled every 5 ms.',
      }, two));
      return rows;
    } finally {
      await ctx.monitor.sendCommand(['UNLINK', stream.key]);
    }
  },
};
