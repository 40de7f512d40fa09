import { startChild } from '../children.js';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { benchTopic } from '../payload.js';
import { createGroup } from '../redis-setup.js';
import { medianRow, type ResultRow } from '../report.js';
import { alternate, type LatencySummary } from '../timing.js';

const BATCH = 500;

/** One run: a producer process and a consumer process of the same side, at a fixed rate. */
async function latencyRun(ctx: BenchContext, side: 'raw' | 'lib'): Promise<LatencySummary> {
  const { latencyRate: rate, latencySeconds: seconds, latencyWarmup: warmup } = ctx.sizes;
  const total = Math.round(rate * seconds);
  const topic = benchTopic(freshName(`lat-${side}`));
  const group = freshName('g');
  await createGroup(ctx.monitor, topic.keys.stream, group);
  const consumer = startChild('latency-consumer', {
    url: ctx.url, side, topic: topic.name, group, total, warmup, count: BATCH,
  });
  const producer = startChild('latency-producer', { url: ctx.url, side, topic: topic.name, goKey: `${group}:go-p`, rate, total });
  try {
    await Promise.all([consumer.ready(), producer.ready()]);
    // Let the consumer's first (blocking) read reach the server before the first message.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ctx.monitor.sendCommand(['LPUSH', `${group}:go-p`, 'go']);
    const sent = await producer.result<{ sent: number; failed: number; elapsedMs: number }>(seconds * 1000 + 60_000);
    if (sent.failed > 0) throw new Error(`${side}: ${sent.failed} publishes failed`);
    const achieved = (sent.sent * 1000) / sent.elapsedMs;
    if (achieved < rate * 0.9) ctx.log(`warning: ${side} producer reached only ${Math.round(achieved)} msgs/s`);
    return await consumer.result<LatencySummary>(60_000);
  } finally {
    await Promise.all([consumer.kill(), producer.kill()]);
    await ctx.monitor.sendCommand(['UNLINK', topic.keys.stream, `${group}:go-p`]);
  }
}

export const latencyScenario: Scenario = {
  name: 'latency',
  title: '5. end-to-end latency at a fixed rate, producer and worker in separate processes',
  async run(ctx) {
    const { processRounds: rounds, latencyRate: rate, latencySeconds: seconds, latencyWarmup: warmup } = ctx.sizes;
    const r = await alternate(rounds, () => latencyRun(ctx, 'raw'), () => latencyRun(ctx, 'lib'));
    for (const [name, list] of [['raw', r.raw], ['lib', r.lib]] as const) {
      ctx.log(`${name}: ${list.map((s) => `p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)} p99.9 ${s.p999.toFixed(2)} max ${s.max.toFixed(1)}`).join(' | ')}`);
    }
    const note = `${rate} msgs/s for ${seconds} s per run (first ${warmup} messages dropped), producer and consumer each in its own process, same side in both. Latency = receive time (handler call / raw loop) − high-resolution send time carried in the payload (the envelope's \`ts\` is whole ms). Raw: XADD + XREADGROUP COUNT ${BATCH} BLOCK; Tributary: producer.publish + createWorker (concurrency ${BATCH}).`;
    const row = (metric: string, k: keyof LatencySummary, target?: number): ResultRow => medianRow(
      { scenario: '5. e2e latency @ 5k/s', metric, baselineName: 'raw XADD → XREADGROUP', ...(k === 'p50' ? { note } : {}) },
      { raw: r.raw.map((s) => s[k]), lib: r.lib.map((s) => s[k]) },
      target === undefined ? undefined : { op: '<=', bound: target },
    );
    return [row('p50 ms', 'p50', 1.5), row('p99 ms', 'p99', 2), row('p99.9 ms', 'p999'), row('max ms', 'max')];
  },
};
