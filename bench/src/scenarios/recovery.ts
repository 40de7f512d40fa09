import { startChild } from '../children.js';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { fillStream } from '../fill.js';
import { createGroup, waitConsumed } from '../redis-setup.js';
import type { ResultRow } from '../report.js';
import { alternate, median } from '../timing.js';

/**
 * One run: a victim worker reads `held` messages and holds them, a peer process runs, the
 * victim is killed with SIGKILL; time from the kill until the group has nothing pending.
 */
async function recoveryRun(ctx: BenchContext, side: 'raw' | 'lib'): Promise<number> {
  const { recoveryHeld: held, claimIdleMs, reclaimIntervalMs } = ctx.sizes;
  const stream = await fillStream(ctx.client, held, `recovery-${side}`);
  const group = freshName('g');
  await createGroup(ctx.monitor, stream.key, group);
  const victim = startChild('recovery-victim', { url: ctx.url, topic: stream.topic.name, group, consumer: 'victim', held });
  const peer = startChild('recovery-peer', { url: ctx.url, side, topic: stream.topic.name, group, consumer: 'peer', claimIdleMs, reclaimIntervalMs });
  try {
    await Promise.all([victim.script.waitForOutput(/^HOLDING\b/, 60_000), peer.ready()]);
    const killedAt = performance.now();
    await victim.kill();
    await waitConsumed(ctx.monitor, stream.key, group, stream.lastId, { intervalMs: 5, timeoutMs: claimIdleMs * 10 + 30_000 });
    const ms = performance.now() - killedAt;
    await peer.terminate();
    const { handled } = await peer.result<{ handled: number }>();
    if (handled < held) throw new Error(`${side}: the peer handled ${handled} of ${held} held messages`);
    return ms;
  } finally {
    await Promise.all([victim.kill(), peer.kill()]);
    await ctx.monitor.sendCommand(['UNLINK', stream.key]);
  }
}

export const recoveryScenario: Scenario = {
  name: 'recovery',
  title: '8. recovery time after kill -9 of a worker holding pending messages',
  async run(ctx) {
    const { processRounds: rounds, claimIdleMs, reclaimIntervalMs, recoveryHeld: held } = ctx.sizes;
    const r = await alternate(rounds, () => recoveryRun(ctx, 'raw'), () => recoveryRun(ctx, 'lib'));
    ctx.log(`raw ${r.raw.map(Math.round).join(', ')} ms | lib ${r.lib.map(Math.round).join(', ')} ms`);
    const bound = claimIdleMs + reclaimIntervalMs;
    const worst = Math.max(...r.lib);
    const rows: ResultRow[] = [{
      scenario: '8. recovery after kill -9',
      metric: 'ms to all processed',
      baselineName: 'raw XAUTOCLAIM sweep',
      baseline: median(r.raw),
      lib: median(r.lib),
      ratio: median(r.lib) / median(r.raw),
      target: { text: `lib ≤ ${bound} ms (claim ${claimIdleMs} + 1 interval ${reclaimIntervalMs}), every round`, pass: worst <= bound },
      rounds,
      note: `A victim worker process holds ${held} messages (handler never returns) and is killed with SIGKILL; a peer process already running recovers them. Tributary: createWorker + createRecovery({ claimIdleMs: ${claimIdleMs}, reclaimIntervalMs: ${reclaimIntervalMs} }). Raw: an XAUTOCLAIM sweep every ${reclaimIntervalMs} ms with min-idle ${claimIdleMs}. Timed from the kill to pending = 0 (polled every 5 ms); the messages were delivered just before the kill, so the bound is claim time + one interval. Worst Tributary round: ${Math.round(worst)} ms.`,
    }];
    return rows;
  },
};
