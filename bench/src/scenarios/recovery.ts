import { startChild } from '../children.js';
import { type BenchContext, freshName, type Scenario } from '../context.js';
import { fillStream } from '../fill.js';
import { createGroup, waitConsumed } from '../redis-setup.js';
import type { ResultRow } from '../report.js';
import { alternate, median, roundRatios } from '../timing.js';

/**
 * One run: a victim worker reads `held` messages and holds them, a peer process runs, the
 * victim is killed with SIGKILL; time from the kill until the group has nothing pending.
 */
async function recoveryRun(ctx: BenchContext, side: 'raw' | 'lib'): Promise<{ ms: number; heldMs: number }> {
  const { recoveryHeld: held, claimIdleMs, reclaimIntervalMs } = ctx.sizes;
  const stream = await fillStream(ctx.client, held, `recovery-${side}`);
  const group = freshName('g');
  await createGroup(ctx.monitor, stream.key, group);
  const goKey = `${group}:go`;
  const peer = startChild('recovery-peer', { url: ctx.url, side, topic: stream.topic.name, group, consumer: 'peer', goKey, claimIdleMs, reclaimIntervalMs });
  const victim = startChild('recovery-victim', { url: ctx.url, topic: stream.topic.name, group, consumer: 'victim', held });
  try {
    await Promise.all([victim.script.waitForOutput(/^HOLDING\b/, 60_000), peer.ready()]);
    const heldAt = performance.now();
    // The peer starts reading (and its reclaim loop starts) only now, so the victim holds them all.
    await ctx.monitor.sendCommand(['LPUSH', goKey, 'go']);
    await peer.script.waitForOutput(/^STARTED\b/, 30_000);
    const killedAt = performance.now();
    await victim.kill();
    await waitConsumed(ctx.monitor, stream.key, group, stream.lastId, { intervalMs: 5, timeoutMs: claimIdleMs * 10 + 30_000 });
    const ms = performance.now() - killedAt;
    await peer.terminate();
    const { handled } = await peer.result<{ handled: number }>();
    if (handled < held) throw new Error(`${side}: the peer handled ${handled} of ${held} held messages`);
    return { ms, heldMs: killedAt - heldAt };
  } finally {
    await Promise.all([victim.kill(), peer.kill()]);
    await ctx.monitor.sendCommand(['UNLINK', stream.key, goKey]);
  }
}

export const recoveryScenario: Scenario = {
  name: 'recovery',
  title: '8. recovery time after kill -9 of a worker holding pending messages',
  async run(ctx) {
    const { processRounds: rounds, claimIdleMs, reclaimIntervalMs, recoveryHeld: held } = ctx.sizes;
    const runs = await alternate(rounds, () => recoveryRun(ctx, 'raw'), () => recoveryRun(ctx, 'lib'));
    const r = { raw: runs.raw.map((x) => x.ms), lib: runs.lib.map((x) => x.ms) };
    const heldMs = Math.max(...runs.raw.map((x) => x.heldMs), ...runs.lib.map((x) => x.heldMs));
    ctx.log(`raw ${r.raw.map(Math.round).join(', ')} ms | lib ${r.lib.map(Math.round).join(', ')} ms (messages held ≤ ${Math.round(heldMs)} ms before the kill)`);
    const bound = claimIdleMs + reclaimIntervalMs;
    const worst = Math.max(...r.lib);
    const rows: ResultRow[] = [{
      scenario: '8. recovery after kill -9',
      metric: 'ms to all processed',
      baselineName: 'raw XAUTOCLAIM sweep',
      baseline: median(r.raw),
      lib: median(r.lib),
      ratio: median(r.lib) / median(r.raw),
      roundRatios: roundRatios(r.raw, r.lib),
      target: { text: `lib ≤ ${bound} ms (claim ${claimIdleMs} + 1 interval ${reclaimIntervalMs}), every round`, pass: worst <= bound },
      rounds,
      note: `A victim worker process holds ${held} messages (handler never returns) and is killed with SIGKILL; a peer process already running recovers them. Tributary: createWorker + createRecovery({ claimIdleMs: ${claimIdleMs}, reclaimIntervalMs: ${reclaimIntervalMs} }). Raw: an XAUTOCLAIM sweep every ${reclaimIntervalMs} ms with min-idle ${claimIdleMs}. The peer starts (reclaim loop included) once the victim holds every message, and the victim is killed as soon as the peer runs (messages held at most ${Math.round(heldMs)} ms before the kill); timed from the kill to pending = 0 (polled every 5 ms). Bound: claim time + one interval. Worst Tributary round: ${Math.round(worst)} ms.`,
    }];
    return rows;
  },
};
