// The Tributary demo: the orders service with three consumers under a producer load that
// includes poison messages and random failures, with live progress, then a reconciliation
// proving every produced message ended processed or dead-lettered (lost = 0).
//
// Run:  yarn demo                  (30 s; Ctrl-C stops early: the load stops, the consumers drain)
//       yarn demo --seconds 20 --rate 200
// Redis: REDIS_URL if a server answers there (default redis://127.0.0.1:6379), otherwise a
// redis-server from PATH on a free port, stopped on exit. Everything the demo writes lives under
// its own topic `{tributary-demo-<random>}` and is deleted at the end.
// Ends with `reconciliation: produced=… processed=… dead-lettered=… lost=0`; exit code 0 iff lost = 0.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { getGroupInfo } from '@tributary/consumer-group';
import { startLoad } from './demo/load.js';
import { ProgressView, type Snapshot } from './demo/progress.js';
import { findRedis, noRedisMessage } from './demo/redis.js';
import { deleteTopicKeys, finish, parseFlags, positiveInt, sleep } from './lib/cli.js';
import { reconcile, reconciliationLine } from './orders/reconcile.js';
import { startOrdersService } from './orders/service.js';
import { ORDER_GROUP, ordersTopic } from './orders/topic.js';

const USAGE = 'yarn demo [--seconds N] [--rate ORDERS_PER_SECOND]';
const args = parseFlags(() => parseArgs({ options: { seconds: { type: 'string' }, rate: { type: 'string' } } }).values, USAGE);
const seconds = positiveInt(args.seconds, 'seconds', USAGE, 30);
const rate = positiveInt(args.rate, 'rate', USAGE, 100);
/** How long the consumers may take to finish retries after the load stopped. */
const DRAIN_TIMEOUT_MS = 30_000;

// Ctrl-C once: stop the load and drain. Twice: skip the drain (the reconciliation will show
// what was unfinished). Three times: exit at once.
const loadStop = new AbortController();
const drainStop = new AbortController();
let signals = 0;
const onSignal = (name: NodeJS.Signals) => {
  signals++;
  if (signals === 1) loadStop.abort();
  else if (signals === 2) drainStop.abort();
  else process.exit(130);
  process.stderr.write(`\n${name}: ${signals === 1 ? 'stopping the load, draining (Ctrl-C again to skip)' : 'skipping the drain'}\n`);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const redis = await findRedis();
if (!redis) {
  console.error(noRedisMessage(process.env.REDIS_URL || 'redis://127.0.0.1:6379'));
  process.exit(1);
}
const { client } = redis;
const topic = ordersTopic(`tributary-demo-${randomBytes(3).toString('hex')}`);
let code = 1;
/** The reconciliation line, printed last. */
let verdict = 'reconciliation: not reached';
try {
  code = await run();
} catch (error) {
  console.error(`demo failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  const deleted = await deleteTopicKeys(client, topic).catch(() => -1);
  console.log(deleted >= 0 ? `cleaned up: deleted ${deleted} keys of ${topic.keys.stream}` : `could not delete the keys of ${topic.keys.stream}`);
  await redis.close();
}
console.log(verdict);
finish(code);

async function run(): Promise<number> {
  const info = await client.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  const service = await startOrdersService({
    client,
    topic,
    port: 0,
    consumers: 3,
    failureRate: 0.03,
    workMs: [2, 12],
    recovery: { maxDeliveries: 3, backoff: [200, 600], claimIdleMs: 5000, reclaimIntervalMs: 500 },
  });
  console.log(`Tributary demo: orders service ${service.url} with 3 consumers in group ${ORDER_GROUP}`);
  console.log(`Redis ${version} at ${redis!.url} (${redis!.origin}); topic ${topic.keys.stream}`);
  console.log(`load: ${rate} orders/s for ${seconds} s, with invalid orders (400), poison orders, junk entries and 3% random failures; Ctrl-C to stop early`);
  console.log(`while it runs, try: curl ${service.url}/stream/info   or   curl ${service.url}/dlq?count=3`);

  const view = new ProgressView(seconds);
  const load = startLoad({ url: service.url, client, topic, ratePerSecond: rate });
  const began = Date.now();
  let phase = 'running';
  let last = { at: began, processed: 0 };
  let rateNow = 0;
  const snapshot = async (): Promise<Snapshot> => {
    const [group, deadLettered] = await Promise.all([getGroupInfo(client, topic, ORDER_GROUP), client.xLen(topic.keys.deadLetter)]);
    const stats = service.stats();
    const now = Date.now();
    if (now - last.at >= 1000) {
      rateNow = ((stats.processed - last.processed) * 1000) / (now - last.at);
      last = { at: now, processed: stats.processed };
    }
    const produced = load.stats();
    return {
      elapsedMs: now - began,
      produced: produced.produced,
      processed: stats.processed,
      retried: stats.retried,
      pending: group?.pending ?? 0,
      deadLettered,
      lag: group?.lag,
      rate: rateNow,
      rejected: produced.rejected,
      phase,
      byConsumer: stats.byConsumer,
    };
  };
  const refresh = async (force = false) => {
    try {
      view.render(await snapshot(), force);
    } catch (error) {
      console.error(`progress: ${(error as Error).message}`);
    }
  };
  const refreshEvery = view.tty ? 250 : 500;
  const ticker = setInterval(() => void refresh(), refreshEvery);

  await sleep(seconds * 1000, loadStop.signal);
  phase = 'draining';
  await load.stop();
  const produced = load.stats().produced;
  // Drained when every produced message was processed or dead-lettered and nothing is pending.
  const drainStart = Date.now();
  while (Date.now() - drainStart < DRAIN_TIMEOUT_MS && !drainStop.signal.aborted) {
    const s = service.stats();
    const pending = (await getGroupInfo(client, topic, ORDER_GROUP))?.pending ?? 0;
    if (s.processed + s.deadLettered >= produced && pending === 0) break;
    await sleep(100, drainStop.signal);
  }
  phase = 'done';
  clearInterval(ticker);
  await refresh(true);
  view.close();
  await service.stop();

  const stats = service.stats();
  const loadStats = load.stats();
  const r = await reconcile(client, topic, load.producedIds());
  console.log(`drained in ${((Date.now() - drainStart) / 1000).toFixed(1)} s; ${loadStats.rejected} invalid orders rejected with 400 (never produced), ${loadStats.errors} request errors`);
  console.log(`retried deliveries: ${stats.retried}; duplicates skipped: ${stats.duplicates}`);
  console.log(`processed per consumer: ${Object.entries(stats.byConsumer).map(([name, n]) => `${name}=${n}`).join(' ')}`);
  console.log(`dead letters by reason: ${Object.entries(r.reasons).map(([reason, n]) => `${reason}=${n}`).join(' ') || 'none'} (poison orders: ${loadStats.poison}, junk entries: ${loadStats.junk})`);
  if (r.lost > 0) console.log(`unaccounted for (still pending when the demo stopped, or lost): ${r.lostIds.join(', ')}${r.lost > r.lostIds.length ? ', …' : ''}`);
  if (r.inBoth > 0) console.log(`both processed and dead-lettered: ${r.inBoth}`);
  verdict = reconciliationLine(r);
  return r.lost === 0 && r.inBoth === 0 ? 0 : 1;
}
