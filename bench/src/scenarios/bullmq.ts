import { createProducer } from '@tributary/producer';
import { Queue, Worker as BullWorker } from 'bullmq';
import { type RunningConsumer, startLibConsumer, startRawConsumer } from '../consumers.js';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { type FilledStream, fillStream } from '../fill.js';
import { benchTopic, EVENT_TYPE, payload } from '../payload.js';
import { connectBench, createGroup, waitConsumed } from '../redis-setup.js';
import type { RedisClientType } from 'redis';
import { medianRow, type ResultRow } from '../report.js';
import { alternate, median, rate } from '../timing.js';

const ADD_CHUNK = 1000;

/**
 * BullMQ's connection: ioredis is optional in BullMQ 6.7 and not installed here, so BullMQ gets
 * a node-redis client of its own (it adapts node-redis clients and duplicates them for its
 * blocking connection), created like Tributary's: per-command timeout off. (With ioredis it
 * would need `maxRetriesPerRequest: null`; that option does not exist in node-redis.)
 */
let bullClient: RedisClientType | undefined;

function newQueue(): Queue {
  // removeOnComplete: completed jobs are deleted (the usual production setting); Tributary's
  // acked entries stay in the stream until retention trims them.
  return new Queue(freshName('bull'), { connection: bullClient!, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
}

async function bullAdd(queue: Queue, total: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < total; i += ADD_CHUNK) {
    const jobs = [];
    for (let k = i; k < Math.min(total, i + ADD_CHUNK); k++) jobs.push({ name: EVENT_TYPE, data: payload(k) });
    await queue.addBulk(jobs);
  }
  return rate(total, performance.now() - start);
}

/** BullMQ: addBulk in chunks of 1000, one call at a time. */
async function bullAddRun(ctx: BenchContext): Promise<number> {
  const queue = newQueue();
  try {
    return await bullAdd(queue, ctx.sizes.bullAdd);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** Tributary: publishMany in chunks of 1000, one call at a time. */
async function libAddRun(ctx: BenchContext): Promise<number> {
  const topic = benchTopic(freshName('lib-add'));
  const producer = createProducer(ctx.client, { topic });
  const total = ctx.sizes.bullAdd;
  const start = performance.now();
  for (let i = 0; i < total; i += ADD_CHUNK) {
    const messages = [];
    for (let k = i; k < Math.min(total, i + ADD_CHUNK); k++) messages.push({ type: EVENT_TYPE, data: payload(k) } as const);
    const results = await producer.publishMany(messages);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
  }
  const result = rate(total, performance.now() - start);
  await producer.close();
  await ctx.monitor.sendCommand(['UNLINK', topic.keys.stream]);
  return result;
}

/** BullMQ Worker with a no-op async processor: jobs/s until `total` jobs completed. */
async function bullWorkerRun(ctx: BenchContext, total: number, concurrency: number): Promise<number> {
  const queue = newQueue();
  await bullAdd(queue, total);
  let completed = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const worker = new BullWorker(queue.name, async () => undefined, { connection: bullClient!, concurrency, autorun: false });
  worker.on('completed', () => {
    if (++completed === total) done();
  });
  worker.on('error', (error) => ctx.log(`bullmq worker error: ${String(error)}`));
  try {
    await worker.waitUntilReady();
    const start = performance.now();
    void worker.run();
    await finished;
    return rate(total, performance.now() - start);
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** msgs/s of one consumer started by `startConsumer` on a fresh group, until the stream is all acked. */
async function timedConsume(ctx: BenchContext, stream: FilledStream, startConsumer: (group: string) => Promise<RunningConsumer>): Promise<number> {
  const group = freshName('g');
  await createGroup(ctx.monitor, stream.key, group);
  const start = performance.now();
  const consumer = await startConsumer(group);
  await waitConsumed(ctx.monitor, stream.key, group, stream.lastId, { ready: () => consumer.handled() >= stream.count });
  const result = rate(stream.count, performance.now() - start);
  await consumer.stop();
  await ctx.monitor.sendCommand(['XGROUP', 'DESTROY', stream.key, group]);
  return result;
}

/** Tributary worker at the same concurrency (batchSize defaults to it), async no-op handler. */
function libWorkerRun(ctx: BenchContext, stream: FilledStream, concurrency: number): Promise<number> {
  return timedConsume(ctx, stream, (group) => startLibConsumer(ctx.client, { topic: stream.topic, group, consumer: 'c', concurrency }));
}

/** Raw loop reading `count` entries per XREADGROUP, acking them pipelined with the next read. */
function rawAtCount(ctx: BenchContext, stream: FilledStream, count: number): Promise<number> {
  return timedConsume(ctx, stream, (group) => startRawConsumer(ctx.client, { key: stream.key, group, consumer: 'c', count }));
}

function fmt(values: number[]): string {
  return values.map(Math.round).join(', ');
}

/** The three comparisons, on the scenario's BullMQ client. */
async function runAll(ctx: BenchContext, rows: ResultRow[]): Promise<ResultRow[]> {
  const { processRounds: rounds, bullWorker50, bullWorker1, bullAdd: addN } = ctx.sizes;
  await bullAddRun(ctx);
  await libAddRun(ctx);
  const add = await alternate(rounds, () => bullAddRun(ctx), () => libAddRun(ctx));
  ctx.log(`add: bullmq ${fmt(add.raw)} | tributary ${fmt(add.lib)} msgs/s`);
  rows.push(medianRow({
    scenario: '6a. enqueue in bulk',
    metric: 'msgs/s',
    baselineName: 'BullMQ addBulk',
    note: `${addN.toLocaleString('en-US')} jobs per round in calls of ${ADD_CHUNK}, one call at a time: Queue.addBulk vs producer.publishMany. BullMQ runs on its own node-redis client (ioredis is optional in BullMQ 6.7 and not installed; the client has the same settings as Tributary's, timeout 0) against the same redis-server; jobs use removeOnComplete/removeOnFail.`,
  }, add));
  for (const [concurrency, total] of [[50, bullWorker50], [1, bullWorker1]] as const) {
    const stream = await fillStream(ctx.client, total, `bull-peer-${concurrency}`);
    try {
      await libWorkerRun(ctx, stream, concurrency);
      const r = await alternate(rounds, () => bullWorkerRun(ctx, total, concurrency), () => libWorkerRun(ctx, stream, concurrency));
      ctx.log(`concurrency ${concurrency}: bullmq ${fmt(r.raw)} | tributary ${fmt(r.lib)} msgs/s`);
      rows.push(medianRow({
        scenario: `6${concurrency === 50 ? 'b' : 'd'}. worker, concurrency ${concurrency}`,
        metric: 'msgs/s',
        baselineName: 'BullMQ Worker',
        note: `${total.toLocaleString('en-US')} jobs/messages per round, async no-op processor/handler; BullMQ timed from run() to the last 'completed' event, Tributary from start() to the last ack confirmed. Tributary's batchSize = concurrency (the default), so concurrency 1 reads one entry per XREADGROUP.`,
      }, r, { op: '>=', bound: 10 }));
      // The ceiling of a consumer holding at most `concurrency` messages: a raw loop reading
      // COUNT = concurrency and acking pipelined with the next read, nothing else per message.
      const c = await alternate(rounds, () => rawAtCount(ctx, stream, concurrency), () => libWorkerRun(ctx, stream, concurrency));
      ctx.log(`raw COUNT ${concurrency}: ${fmt(c.raw)} | tributary ${fmt(c.lib)} msgs/s`);
      rows.push(medianRow({
        scenario: `6${concurrency === 50 ? 'c' : 'e'}. concurrency ${concurrency}, raw ceiling`,
        metric: 'msgs/s',
        baselineName: `raw COUNT ${concurrency} loop`,
        note: `Informational: a raw XREADGROUP COUNT ${concurrency} loop (XACK pipelined with the next read) is what a consumer holding at most ${concurrency} message${concurrency === 1 ? '' : 's'} at a time reaches reading one batch per round trip. 10× BullMQ here would be ${Math.round(10 * median(r.raw)).toLocaleString('en-US')} msgs/s.`,
      }, c));
    } finally {
      await ctx.monitor.sendCommand(['UNLINK', stream.key]);
    }
  }
  return rows;
}

export const bullmqScenario: Scenario = {
  name: 'bullmq',
  title: '6. BullMQ as the peer: addBulk, Worker at concurrency 50 and 1',
  async run(ctx) {
    const rows: ResultRow[] = [];
    bullClient = await connectBench(ctx.url);
    try {
      return await runAll(ctx, rows);
    } finally {
      await bullClient.close().catch(() => undefined);
      bullClient = undefined;
    }
  },
};
