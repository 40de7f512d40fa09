import { createProducer } from '@tributary/producer';
import type { RedisClientType } from 'redis';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { benchTopic, EVENT_TYPE, payload, rawXaddArgs, rawXaddHead } from '../payload.js';
import { connectDefault } from '../redis-setup.js';
import { type ResultRow, ratioTarget } from '../report.js';
import { alternate, median, pipelined, rate } from '../timing.js';

/** Raw: `sendCommand(['XADD', key, 'MAXLEN', '~', '1000000', '*', …fields])`, `window` in flight. */
async function rawPublish(client: RedisClientType, monitor: RedisClientType, total: number, window: number): Promise<number> {
  const key = `{${freshName('raw-pub')}}`;
  const head = rawXaddHead(key);
  const ms = await pipelined(total, window, (i) => client.sendCommand(rawXaddArgs(head, payload(i))));
  await monitor.sendCommand(['UNLINK', key]);
  return rate(total, ms);
}

/** Tributary: `producer.publish({ type, data })`, `window` in flight. */
async function libPublish(client: RedisClientType, monitor: RedisClientType, total: number, window: number): Promise<number> {
  const topic = benchTopic(freshName('lib-pub'));
  const producer = createProducer(client, { topic });
  const ms = await pipelined(total, window, (i) => producer.publish({ type: EVENT_TYPE, data: payload(i) }));
  await producer.close();
  await monitor.sendCommand(['UNLINK', topic.keys.stream]);
  return rate(total, ms);
}

/** Tributary: `producer.publishMany(chunk)`, `window` calls in flight. */
async function libPublishMany(ctx: BenchContext): Promise<number> {
  const { batchMessages: total, batchCall, batchWindow } = ctx.sizes;
  const topic = benchTopic(freshName('lib-many'));
  const producer = createProducer(ctx.client, { topic });
  const calls = Math.ceil(total / batchCall);
  const ms = await pipelined(calls, batchWindow, async (c) => {
    const messages = [];
    for (let i = c * batchCall; i < Math.min(total, (c + 1) * batchCall); i++) messages.push({ type: EVENT_TYPE, data: payload(i) } as const);
    const results = await producer.publishMany(messages);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
  });
  await producer.close();
  await ctx.monitor.sendCommand(['UNLINK', topic.keys.stream]);
  return rate(total, ms);
}

async function warmUp(ctx: BenchContext): Promise<void> {
  // JIT and connection warm-up for both sides, not measured.
  const n = Math.min(5000, ctx.sizes.publishMessages);
  await rawPublish(ctx.client, ctx.monitor, n, ctx.sizes.publishWindow);
  await libPublish(ctx.client, ctx.monitor, n, ctx.sizes.publishWindow);
}

export const publishScenario: Scenario = {
  name: 'publish',
  title: '1. publish one call per message, many in flight',
  async run(ctx) {
    const { publishMessages: n, publishWindow: w, rounds } = ctx.sizes;
    await warmUp(ctx);
    const r = await alternate(rounds, () => rawPublish(ctx.client, ctx.monitor, n, w), () => libPublish(ctx.client, ctx.monitor, n, w));
    const raw = median(r.raw);
    const lib = median(r.lib);
    ctx.log(`raw ${r.raw.map(Math.round).join(', ')} | lib ${r.lib.map(Math.round).join(', ')} msgs/s`);
    return [{
      scenario: '1. publish one by one',
      metric: 'msgs/s',
      baselineName: 'raw XADD pipelined',
      baseline: raw,
      lib,
      ratio: lib / raw,
      target: ratioTarget(lib / raw, '>=', 0.9),
      rounds,
      note: `${n.toLocaleString('en-US')} messages per round, ${w} in flight (sliding window), client with timeout 0. Raw writes the same entry (type, data, id, ts, MAXLEN ~ 1000000) built by hand without validation.`,
    }];
  },
};

export const batchScenario: Scenario = {
  name: 'batch',
  title: '2. batch publish (publishMany) vs raw pipelined XADD',
  async run(ctx) {
    const { publishMessages: n, publishWindow: w, rounds, batchCall, batchWindow } = ctx.sizes;
    await warmUp(ctx);
    await libPublishMany(ctx);
    const r = await alternate(rounds, () => rawPublish(ctx.client, ctx.monitor, n, w), () => libPublishMany(ctx));
    const raw = median(r.raw);
    const lib = median(r.lib);
    ctx.log(`raw ${r.raw.map(Math.round).join(', ')} | publishMany ${r.lib.map(Math.round).join(', ')} msgs/s`);
    return [{
      scenario: '2. batch publish',
      metric: 'msgs/s',
      baselineName: 'raw XADD pipelined',
      baseline: raw,
      lib,
      ratio: lib / raw,
      target: ratioTarget(lib / raw, '>=', 1.5),
      rounds,
      note: `publishMany of ${batchCall} messages per call (one script call each), ${batchWindow} calls in flight, vs the raw one-by-one loop of scenario 1.`,
    }];
  },
};

export const timeoutScenario: Scenario = {
  name: 'timeout',
  title: "node-redis per-command timeout: default client (5 s) vs commandOptions { timeout: 0 }",
  async run(ctx) {
    const { timeoutMessages: n, publishWindow: w, rounds } = ctx.sizes;
    const defaultClient = await connectDefault(ctx.url);
    try {
      await rawPublish(defaultClient, ctx.monitor, Math.min(n, 5000), w);
      await libPublish(defaultClient, ctx.monitor, Math.min(n, 5000), w);
      const effect = await alternate(rounds, () => rawPublish(ctx.client, ctx.monitor, n, w), () => rawPublish(defaultClient, ctx.monitor, n, w));
      const same = await alternate(rounds, () => rawPublish(defaultClient, ctx.monitor, n, w), () => libPublish(defaultClient, ctx.monitor, n, w));
      ctx.log(`raw timeout 0 ${effect.raw.map(Math.round).join(', ')} | raw default ${effect.lib.map(Math.round).join(', ')} msgs/s`);
      ctx.log(`default client: raw ${same.raw.map(Math.round).join(', ')} | lib ${same.lib.map(Math.round).join(', ')} msgs/s`);
      const rows: ResultRow[] = [
        {
          scenario: '1b. node-redis timeout effect',
          metric: 'msgs/s',
          baselineName: 'raw XADD, timeout 0',
          baseline: median(effect.raw),
          lib: median(effect.lib),
          ratio: median(effect.lib) / median(effect.raw),
          rounds,
          note: 'Tributary column = the same raw loop on a default node-redis client (5 s per-command timeout, one AbortSignal timer per command). connectRedis sets timeout 0 and relies on PING.',
        },
        {
          scenario: '1c. publish one by one, default client',
          metric: 'msgs/s',
          baselineName: 'raw XADD pipelined',
          baseline: median(same.raw),
          lib: median(same.lib),
          ratio: median(same.lib) / median(same.raw),
          rounds,
          note: 'Both sides on the same default client (5 s timeout): the ratio holds whatever the client setting.',
        },
      ];
      return rows;
    } finally {
      await defaultClient.close();
    }
  },
};
