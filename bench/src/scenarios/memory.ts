import { startChild } from '../children.js';
import type { MemorySample, MemoryWorkerResult } from '../child/memory-worker.js';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { type FilledStream, fillStream } from '../fill.js';
import { createGroup } from '../redis-setup.js';
import type { ResultRow } from '../report.js';

const BATCH = 500;
/** RSS within this fraction of its end value counts as settled (flat from there on). */
const SETTLED = 0.02;

async function memoryRun(ctx: BenchContext, stream: FilledStream, side: 'raw' | 'lib', sampleEvery: number): Promise<MemoryWorkerResult> {
  const group = freshName('g');
  await createGroup(ctx.monitor, stream.key, group);
  const child = startChild('memory-worker', {
    url: ctx.url, side, topic: stream.topic.name, group, goKey: `${group}:go`, total: stream.count, sampleEvery, count: BATCH,
  });
  try {
    await child.ready();
    await ctx.monitor.sendCommand(['LPUSH', `${group}:go`, 'go']);
    return await child.result<MemoryWorkerResult>(600_000);
  } finally {
    await child.kill();
    await ctx.monitor.sendCommand(['XGROUP', 'DESTROY', stream.key, group]);
    await ctx.monitor.sendCommand(['DEL', `${group}:go`]);
  }
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const pct = (from: number, to: number) => ((to - from) / from) * 100;
const k = (n: number) => `${n % 1000 === 0 ? n / 1000 : (n / 1000).toFixed(1)}k`;

/** The samples a row is computed from: at the window's start, at the end, and the whole series. */
function view(r: MemoryWorkerResult, firstAt: number) {
  const last = r.samples[r.samples.length - 1]!;
  const first = r.samples.find((s) => s.at === firstAt) ?? r.samples[0]!;
  // The earliest sample from which RSS stays within SETTLED of its end value.
  let settled = r.samples.length - 1;
  while (settled > 0 && Math.abs(r.samples[settled - 1]!.rss - last.rss) <= SETTLED * last.rss) settled--;
  return {
    start: r.samples[0]!,
    first,
    last,
    settledAt: r.samples[settled]!.at,
    series: r.samples.map((s: MemorySample) => `${k(s.at)} ${mb(s.rss)}`).join(', '),
  };
}

export const memoryScenario: Scenario = {
  name: 'memory',
  title: '7. memory: worker RSS over a long run',
  async run(ctx) {
    const { memoryMessages: total, memoryFirstSample: firstAt } = ctx.sizes;
    // Forced GCs start one interval before the window (see the row's note for why).
    const every = Math.max(1, Math.floor(firstAt / 2));
    ctx.log(`filling ${total.toLocaleString('en-US')} messages`);
    const stream = await fillStream(ctx.client, total, 'memory');
    try {
      const rawResult = await memoryRun(ctx, stream, 'raw', every);
      const libResult = await memoryRun(ctx, stream, 'lib', every);
      const raw = view(rawResult, firstAt);
      const lib = view(libResult, firstAt);
      /** A row comparing one sample field at the end of both runs, in MiB. */
      const atEnd = (scenario: string, field: 'heapUsed' | 'rss', note?: string): ResultRow => ({
        scenario,
        metric: 'MiB at end',
        baselineName: 'raw loop',
        baseline: raw.last[field] / 2 ** 20,
        lib: lib.last[field] / 2 ** 20,
        ratio: lib.last[field] / raw.last[field],
        rounds: 1,
        ...(note === undefined ? {} : { note }),
      });
      for (const [name, r, v] of [['raw', rawResult, raw], ['lib', libResult, lib]] as const) {
        ctx.log(`${name}: RSS ${mb(v.first.rss)} MiB at ${v.first.at} → ${mb(v.last.rss)} MiB at ${v.last.at} (peak ${mb(r.peakRss)}, settled from ${v.settledAt}); heap ${mb(v.first.heapUsed)} → ${mb(v.last.heapUsed)} MiB; major GCs not forced: ${r.majorGcs}`);
        ctx.log(`${name} after GC, RSS/heapTotal/old space MiB: ${r.samples.map((s) => `${k(s.at)} ${mb(s.rss)}/${mb(s.heapTotal)}/${mb(s.oldSpace)}`).join(' ')}`);
      }
      const libGrowth = pct(lib.first.rss, lib.last.rss);
      const rows: ResultRow[] = [
        {
          scenario: '7. worker memory, RSS growth',
          metric: `% ${k(firstAt)}→${k(total)} msgs`,
          baselineName: 'raw loop',
          baseline: pct(raw.first.rss, raw.last.rss),
          lib: libGrowth,
          ratio: undefined,
          target: { text: 'lib ≤ 10%', pass: libGrowth <= 10 },
          rounds: 1,
          note: [
            `One worker process per side consumes ${total.toLocaleString('en-US')} pre-filled messages (concurrency ${BATCH}).`,
            `Both sides are sampled alike: a forced full GC, then RSS and heap, every ${every.toLocaleString('en-US')} messages and at the end; growth = RSS at the end ÷ RSS at ${firstAt.toLocaleString('en-US')} − 1.`,
            `The forced GCs start one interval before the window because in a run this short V8 runs few or no major GCs on its own (this run: Tributary ${libResult.majorGcs}, raw ${rawResult.majorGcs}), and a process's old space can settle at a new size after its first one:`,
            `with the single forced GC at ${firstAt.toLocaleString('en-US')} used before, the row measured the reaction to the bench's own GC at the first sample rather than a trend (a long-running process has been through many major GCs).`,
            `Nothing is left out: RSS after GC, MiB — Tributary: ${lib.series}; raw: ${raw.series}.`,
            `First sample → end: Tributary ${pct(lib.start.rss, lib.last.rss).toFixed(1)}%, raw ${pct(raw.start.rss, raw.last.rss).toFixed(1)}%; within ${SETTLED * 100}% of the end value from ${k(lib.settledAt)} on (raw: ${k(raw.settledAt)});`,
            `peak RSS (read every 10,000 messages and at each sample): Tributary ${mb(libResult.peakRss)}, raw ${mb(rawResult.peakRss)} MiB; row 7c compares the whole RSS.`,
          ].join(' '),
        },
        atEnd('7b. worker memory, heap after GC', 'heapUsed'),
        atEnd('7c. worker memory, RSS after GC', 'rss', `The whole RSS at the end, not its growth: both child processes load the same modules (tsx, node-redis, zod, the library). V8 old space committed at the end: Tributary ${mb(lib.last.oldSpace)}, raw ${mb(raw.last.oldSpace)} MiB (heap in use after GC: row 7b).`),
      ];
      return rows;
    } finally {
      await ctx.monitor.sendCommand(['UNLINK', stream.key]);
    }
  },
};
