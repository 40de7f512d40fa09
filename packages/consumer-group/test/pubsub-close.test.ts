/**
 * Watermill universal tests about closing: continue after a subscriber closes, concurrent
 * close, and subscribe cancellation (AbortSignal). Nothing is lost: unfinished work stays in the
 * stopped consumer's own pending list, and a worker under the same name resumes it.
 */
import { FailureKind } from '@tributary/consumer-group';
import { waitFor } from '@tributary/test-utils';
import { pendingCount, pendingEntries, pingTopic, pings, publish, range, sleep, sleepUnlessAborted, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

test('continue after a worker closes: a peer takes the rest, a worker under the same name resumes its unfinished work', async () => {
  const topic = pingTopic();
  const total = 300;
  const succeeded = new Tally();
  const abortedKinds: string[] = [];
  await publish(redis.client, topic, pings(total));
  const a = redis.worker({
    topic, group: 'g', consumer: 'a', concurrency: 10, blockMs: 500, startId: '0',
    handlers: { ping: async (m, ctx) => { await sleepUnlessAborted(40 + (m.data.n % 10) * 15, ctx.signal); succeeded.add(m.data.n); } },
  });
  a.on('failure', (f) => abortedKinds.push(f.kind));
  await a.start();
  // Mid-stream: some work done, and several handlers running right now.
  await waitFor(() => succeeded.distinct >= 20 && a.stats().inFlight >= 5, { intervalMs: 1 });
  await a.stop({ timeoutMs: 5 }); // gives up on the running handlers: they abort and stay pending
  const unfinished = await pendingEntries(redis.commander, topic, 'g', 'a');
  expect(unfinished.length).toBeGreaterThan(0);
  expect(unfinished.length).toBeLessThanOrEqual(10);
  expect(abortedKinds.every((k) => k === FailureKind.HandlerError)).toBe(true);

  const bSeen = new Tally();
  const b = redis.worker({ topic, group: 'g', consumer: 'b', concurrency: 10, blockMs: 500, handlers: { ping: (m) => { bSeen.add(m.data.n); succeeded.add(m.data.n); } } });
  await b.start();
  await waitFor(() => succeeded.distinct === total - unfinished.length);
  // b never touches a's pending entries (reclaiming them is recovery's job).
  expect(await pendingEntries(redis.commander, topic, 'g', 'a')).toEqual(unfinished.map((u) => expect.objectContaining({ id: u.id })));

  const resumed: { n: number; deliveries: number }[] = [];
  const a2 = redis.worker({ topic, group: 'g', consumer: 'a', blockMs: 500, handlers: { ping: (m, ctx) => { resumed.push({ n: m.data.n, deliveries: ctx.deliveries }); succeeded.add(m.data.n); } } });
  await a2.start();
  await waitFor(() => succeeded.distinct === total);
  expect(resumed).toHaveLength(unfinished.length);
  expect(resumed.every((r) => r.deliveries === 2)).toBe(true);
  // Nothing lost, and each message succeeded exactly once.
  expect(succeeded.duplicates()).toEqual([]);
  expect(new Set(succeeded.counts.keys())).toEqual(new Set(range(total)));
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('concurrent close: 5 workers stopped at once under load; workers with the same names then finish everything', async () => {
  const topic = pingTopic();
  const total = 500;
  const names = range(5).map((i) => `c${i}`);
  const succeeded = new Tally();
  await publish(redis.client, topic, pings(total));
  const first = names.map((consumer) => redis.worker({
    topic, group: 'g', consumer, concurrency: 5, blockMs: 10_000, startId: '0',
    handlers: { ping: async (m, ctx) => { await sleepUnlessAborted(5 + (m.data.n % 7) * 5, ctx.signal); succeeded.add(m.data.n); } },
  }));
  await Promise.all(first.map((w) => w.start()));
  await waitFor(() => succeeded.distinct >= 100);
  const t0 = Date.now();
  await Promise.all(first.map((w, i) => w.stop({ timeoutMs: i % 2 ? 5 : 5000 })));
  expect(Date.now() - t0).toBeLessThan(3000);
  const afterClose = succeeded.distinct;
  expect(afterClose).toBeLessThan(total);
  expect(first.every((w) => !w.running)).toBe(true);

  const second = names.map((consumer) => redis.worker({
    topic, group: 'g', consumer, concurrency: 5, blockMs: 500,
    handlers: { ping: (m) => { succeeded.add(m.data.n); } },
  }));
  await Promise.all(second.map((w) => w.start()));
  await waitFor(() => succeeded.distinct === total, { timeoutMs: 30_000 });
  await sleep(50);
  expect(succeeded.duplicates()).toEqual([]);
  expect(succeeded.total).toBe(total);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('subscribe cancellation: aborting the signal stops the worker; unstarted messages stay for the group', async () => {
  const topic = pingTopic();
  const total = 200;
  const controller = new AbortController();
  const done = new Tally();
  await publish(redis.client, topic, pings(total));
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 5, blockMs: 10_000, startId: '0', signal: controller.signal,
    handlers: { ping: async (m) => { await sleep(10); done.add(m.data.n); } },
  });
  const stopped = new Promise((resolve) => worker.once('stopped', resolve));
  await worker.start();
  await waitFor(() => done.distinct >= 20);
  const t0 = Date.now();
  controller.abort();
  await stopped;
  await worker.stop(); // resolves (the same stop)
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(worker.running).toBe(false);
  const handled = done.distinct;
  expect(handled).toBeLessThan(total);
  await sleep(100);
  expect(done.distinct).toBe(handled); // really stopped
  // In-flight handlers finished and were acked; nothing fetched was left unstarted.
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
  // The unstarted messages are still there for the group: another member gets exactly those.
  const rest = new Tally();
  await redis.worker({ topic, group: 'g', consumer: 'c2', concurrency: 20, blockMs: 500, handlers: { ping: (m) => { rest.add(m.data.n); } } }).start();
  await waitFor(() => done.distinct + rest.distinct === total);
  expect([...rest.counts.keys()].filter((n) => done.has(n))).toEqual([]);
  expect(rest.duplicates()).toEqual([]);
});
