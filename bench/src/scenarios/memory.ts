import { startChild } from '../children.js';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { type FilledStream, fillStream } from '../fill.js';
import { createGroup } from '../redis-setup.js';
import type { ResultRow } from '../report.js';

const BATCH = 500;

interface Sample {
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}
interface MemoryResult {
  first: Sample;
  last: Sample;
  peakRss: number;
  series: Sample[];
}

async function memoryRun(ctx: BenchContext, stream: FilledStream, side: 'raw' | 'lib'): Promise<MemoryResult> {
  const group = freshName('g');
  await createGroup(ctx.monitor, stream.key, group);
  const child = startChild('memory-worker', {
    url: ctx.url, side, topic: stream.topic.name, group, goKey: `${group}:go`, total: stream.count, firstSample: ctx.sizes.memoryFirstSample, count: BATCH,
  });
  try {
    await child.ready();
    await ctx.monitor.sendCommand(['LPUSH', `${group}:go`, 'go']);
    return await child.result<MemoryResult>(600_000);
  } finally {
    await child.kill();
    await ctx.monitor.sendCommand(['XGROUP', 'DESTROY', stream.key, group]);
    await ctx.monitor.sendCommand(['DEL', `${group}:go`]);
  }
}

const growth = (r: MemoryResult, k: 'rss' | 'heapUsed') => ((r.last[k] - r.first[k]) / r.first[k]) * 100;
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

export const memoryScenario: Scenario = {
  name: 'memory',
  title: '7. memory: worker RSS over a long run',
  async run(ctx) {
    const { memoryMessages: total, memoryFirstSample: firstAt } = ctx.sizes;
    ctx.log(`filling ${total.toLocaleString('en-US')} messages`);
    const stream = await fillStream(ctx.client, total, 'memory');
    try {
      const raw = await memoryRun(ctx, stream, 'raw');
      const lib = await memoryRun(ctx, stream, 'lib');
      for (const [name, r] of [['raw', raw], ['lib', lib]] as const) {
        ctx.log(`${name}: RSS ${mb(r.first.rss)} MiB at ${r.first.at} → ${mb(r.last.rss)} MiB at ${r.last.at} (peak ${mb(r.peakRss)}); heap ${mb(r.first.heapUsed)} → ${mb(r.last.heapUsed)} MiB (total ${mb(r.first.heapTotal)} → ${mb(r.last.heapTotal)}), external ${mb(r.first.external)} → ${mb(r.last.external)} MiB`);
        ctx.log(`${name} RSS/heapTotal every 10%: ${r.series.map((x) => `${mb(x.rss)}/${mb(x.heapTotal)}`).join(' ')}`);
      }
      const rssGrowth = growth(lib, 'rss');
      const rows: ResultRow[] = [
        {
          scenario: '7. worker memory, RSS growth',
          metric: `% ${(firstAt / 1000).toFixed(0)}k→${(total / 1000).toFixed(0)}k msgs`,
          baselineName: 'raw loop',
          baseline: growth(raw, 'rss'),
          lib: rssGrowth,
          ratio: undefined,
          target: { text: 'lib ≤ 10%', pass: rssGrowth <= 10 },
          rounds: 1,
          note: `One worker process per side consumes ${total.toLocaleString('en-US')} pre-filled messages (concurrency ${BATCH}); RSS and heap are sampled after a forced GC at ${firstAt.toLocaleString('en-US')} messages and at the end. Tributary RSS ${mb(lib.first.rss)} → ${mb(lib.last.rss)} MiB (peak ${mb(lib.peakRss)}), heap ${mb(lib.first.heapUsed)} → ${mb(lib.last.heapUsed)} MiB; raw RSS ${mb(raw.first.rss)} → ${mb(raw.last.rss)} MiB.`,
        },
        {
          scenario: '7b. worker memory, heap after GC',
          metric: 'MiB at end',
          baselineName: 'raw loop',
          baseline: raw.last.heapUsed / 2 ** 20,
          lib: lib.last.heapUsed / 2 ** 20,
          ratio: lib.last.heapUsed / raw.last.heapUsed,
          rounds: 1,
        },
      ];
      return rows;
    } finally {
      await ctx.monitor.sendCommand(['UNLINK', stream.key]);
    }
  },
};
