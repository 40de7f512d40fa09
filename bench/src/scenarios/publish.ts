import { createProducer } from '@tributary/producer';
import type { RedisClientType } from 'redis';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { benchTopic, EVENT_TYPE, orderSchema, payload, rawXaddArgs, rawXaddHead } from '../payload.js';
import { connectDefault } from '../redis-setup.js';
import { rateRow } from '../report.js';
import { alternate, measured, pipelined, type RoundResult } from '../timing.js';

function fmt(results: readonly RoundResult[]): string {
  return `${results.map((r) => Math.round(r.rate)).join(', ')} msgs/s (CPU ${results.map((r) => r.cpuUs.toFixed(1)).join(', ')} µs/msg)`;
}

/** Raw: `sendCommand(['XADD', key, 'MAXLEN', '~', '1000000', '*', …fields])`, `window` in flight. */
async function rawPublish(client: RedisClientType, monitor: RedisClientType, total: number, window: number, validate = false): Promise<RoundResult> {
  const key = `{${freshName('raw-pub')}}`;
  const head = rawXaddHead(key);
  const send = validate
    ? (i: number) => client.sendCommand(rawXaddArgs(head, orderSchema.parse(payload(i))))
    : (i: number) => client.sendCommand(rawXaddArgs(head, payload(i)));
  const result = await measured(total, () => pipelined(total, window, send));
  await monitor.sendCommand(['UNLINK', key]);
  return result;
}

/**
 * Tributary: `producer.publish({ type, data })`, `window` in flight; with `maxBatchSize: 1` for
 * `batching: false` (every publish its own XADD).
 */
async function libPublish(client: RedisClientType, monitor: RedisClientType, total: number, window: number, batching = true): Promise<RoundResult> {
  const topic = benchTopic(freshName('lib-pub'));
  const producer = createProducer(client, batching ? { topic } : { topic, maxBatchSize: 1 });
  const result = await measured(total, () => pipelined(total, window, (i) => producer.publish({ type: EVENT_TYPE, data: payload(i) })));
  await producer.close();
  await monitor.sendCommand(['UNLINK', topic.keys.stream]);
  return result;
}

/** Tributary: `producer.publishMany(chunk)`, `window` calls in flight. */
async function libPublishMany(ctx: BenchContext): Promise<RoundResult> {
  const { batchMessages: total, batchCall, batchWindow } = ctx.sizes;
  const topic = benchTopic(freshName('lib-many'));
  const producer = createProducer(ctx.client, { topic });
  const calls = Math.ceil(total / batchCall);
  const result = await measured(total, () => pipelined(calls, batchWindow, async (c) => {
    const messages = [];
    for (let i = c * batchCall; i < Math.min(total, (c + 1) * batchCall); i++) messages.push({ type: EVENT_TYPE, data: payload(i) } as const);
    const results = await producer.publishMany(messages);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
  }));
  await producer.close();
  await ctx.monitor.sendCommand(['UNLINK', topic.keys.stream]);
  return result;
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
    const zRounds = Math.min(3, rounds);
    const z = await alternate(zRounds, () => rawPublish(ctx.client, ctx.monitor, n, w, true), () => libPublish(ctx.client, ctx.monitor, n, w));
    const u = await alternate(zRounds, () => rawPublish(ctx.client, ctx.monitor, n, w), () => libPublish(ctx.client, ctx.monitor, n, w, false));
    ctx.log(`raw ${fmt(r.raw)} | lib ${fmt(r.lib)}`);
    ctx.log(`raw+zod ${fmt(z.raw)} | lib ${fmt(z.lib)}`);
    ctx.log(`raw ${fmt(u.raw)} | lib, batching off ${fmt(u.lib)}`);
    return [
      rateRow(
        '1. publish one by one',
        'raw XADD pipelined',
        r,
        `${n.toLocaleString('en-US')} messages per round, ${w} in flight (sliding window), client with timeout 0. Raw writes the same entry (type, data, id, ts, MAXLEN ~ 1000000) built by hand without validation, one XADD per message. Tributary: producer.publish with its defaults, which batches concurrent publishes: while fewer than 128 messages are in flight a publish goes out as a plain XADD, beyond that publishes are queued and sent per tick as calls of the publishMany script (up to 500 entries each); each call still gets its own result.`,
        0.9,
      ),
      rateRow(
        '1a. publish one by one, raw with zod too',
        'raw + zod.parse',
        z,
        'Informational: the raw loop also validates each payload with the same zod schema before its XADD, isolating what the producer itself costs.',
      ),
      rateRow(
        '1d. publish one by one, batching off',
        'raw XADD pipelined',
        u,
        "Informational: the producer with maxBatchSize 1, so every publish is one XADD like the raw loop's: what one-by-one publishing costs without batching.",
      ),
    ];
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
    ctx.log(`raw ${fmt(r.raw)} | publishMany ${fmt(r.lib)}`);
    return [
      rateRow(
        '2. batch publish',
        'raw XADD pipelined',
        r,
        `publishMany of ${batchCall} messages per call (one script call each), ${batchWindow} calls in flight, vs the raw one-by-one loop of scenario 1.`,
        1.5,
      ),
    ];
  },
};

export const timeoutScenario: Scenario = {
  name: 'timeout',
  title: "node-redis per-command timeout: default client (5 s) vs commandOptions { timeout: 0 }",
  async run(ctx) {
    const { timeoutMessages: n, publishWindow: w } = ctx.sizes;
    const rounds = Math.min(3, ctx.sizes.rounds);
    const defaultClient = await connectDefault(ctx.url);
    try {
      await rawPublish(defaultClient, ctx.monitor, Math.min(n, 5000), w);
      await libPublish(defaultClient, ctx.monitor, Math.min(n, 5000), w);
      const effect = await alternate(rounds, () => rawPublish(ctx.client, ctx.monitor, n, w), () => rawPublish(defaultClient, ctx.monitor, n, w));
      const same = await alternate(rounds, () => rawPublish(defaultClient, ctx.monitor, n, w), () => libPublish(defaultClient, ctx.monitor, n, w));
      ctx.log(`raw timeout 0 ${fmt(effect.raw)} | raw default ${fmt(effect.lib)}`);
      ctx.log(`default client: raw ${fmt(same.raw)} | lib ${fmt(same.lib)}`);
      return [
        rateRow(
          '1b. node-redis timeout effect',
          'raw XADD, timeout 0',
          effect,
          'Tributary column = the same raw loop on a default node-redis client (5 s per-command timeout, one AbortSignal timer per command). connectRedis sets timeout 0 and relies on PING.',
        ),
        rateRow(
          '1c. publish one by one, default client',
          'raw XADD pipelined',
          same,
          'Both sides on the same default client (5 s timeout). The producer batches concurrent publishes (see row 1), so it pays the per-command timer once per script call rather than once per message.',
        ),
      ];
    } finally {
      await defaultClient.close();
    }
  },
};
