/**
 * Delivery semantics of one worker on real Redis: bounded prefetch, own pending list first on
 * restart, graceful stop under load, BLOCK interruption, counters.
 */
import { toCommander } from '@tributary/core';
import type { WorkerHandle } from '@tributary/consumer-group';
import { waitFor } from '@tributary/test-utils';
import { pendingCount, pendingEntries, pingTopic, pings, publish, range, sleep, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

test('prefetch is bounded by concurrency: the consumer never holds more than `concurrency` pending entries', async () => {
  const topic = pingTopic();
  const done = new Tally();
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 3, blockMs: 1000,
    handlers: { ping: async (m) => { await sleep(5 + (m.data.n % 4) * 5); done.add(m.data.n); } },
  });
  await worker.start();
  await publish(redis.client, topic, pings(150));
  // Sample the pending list from another connection as fast as it answers while the worker runs.
  const sampler = toCommander(await redis.connect());
  const samples: number[] = [];
  const sampling = (async () => {
    while (done.distinct < 150) samples.push((await pendingEntries(sampler, topic, 'g', 'c1')).length);
  })();
  await waitFor(() => done.distinct === 150, { timeoutMs: 20_000 });
  await sampling;
  expect(samples.length).toBeGreaterThan(50);
  expect(Math.max(...samples)).toBeLessThanOrEqual(3);
  expect(Math.max(...samples)).toBe(3); // it did fill its slots (the bound is not vacuous)
  expect(done.duplicates()).toEqual([]);
});

test('prefetch stays bounded while reads go out ahead on a backlog (fast handlers, 3000 queued)', async () => {
  const topic = pingTopic();
  await publish(redis.client, topic, pings(3000));
  const done = new Tally();
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', concurrency: 20, batchSize: 8, startId: '0', handlers: { ping: (m) => { done.add(m.data.n); } } });
  const sampler = toCommander(await redis.connect());
  const samples: number[] = [];
  await worker.start();
  const sampling = (async () => {
    while (done.distinct < 3000) samples.push(await pendingCount(sampler, topic, 'g'));
  })();
  await waitFor(() => done.distinct === 3000, { timeoutMs: 20_000 });
  await sampling;
  await worker.stop();
  expect(samples.length).toBeGreaterThan(10);
  expect(Math.max(...samples)).toBeLessThanOrEqual(20);
  expect(done.duplicates()).toEqual([]);
  expect([...done.counts.keys()]).toEqual(range(3000)); // stream order: batches start in the order they were read
  expect(await pendingCount(sampler, topic, 'g')).toBe(0);
});

test('a plug-in dispatching while the read loop yields within a batch cannot exceed concurrency', async () => {
  // The read loop yields every 64 entries of a batch; the entries it has not started yet keep
  // their slots reserved. A plug-in that dispatches reclaimed entries during such a yield must
  // find no free slot, or in-flight would exceed `concurrency` once the batch is started.
  const topic = pingTopic();
  await publish(redis.client, topic, pings(200));
  const extra = await publish(redis.client, topic, pings(100)); // stand-ins for reclaimed entries
  const fieldsOf = new Map((await redis.commander.send<[string, string[]][]>(topic.keys.stream, ['XRANGE', topic.keys.stream, '-', '+']))
    .map(([id, fields]) => [id, fields]));
  let handle: WorkerHandle | undefined;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => { release = resolve; });
  let maxInFlight = 0;
  let dispatched = false;
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', startId: '0', concurrency: 200, batchSize: 200, blockMs: 500,
    failureHandler: { onFailure: async () => 'pending', attach: (h) => { handle = h; } },
    handlers: {
      ping: async () => {
        if (!dispatched) {
          dispatched = true;
          // Runs at the loop's first yield, 64 entries into the batch of 200.
          queueMicrotask(() => void handle!.dispatch(extra.map((id) => ({ id, fields: fieldsOf.get(id)!, deliveries: 2 }))));
        }
        maxInFlight = Math.max(maxInFlight, worker.stats().inFlight);
        await held;
      },
    },
  });
  await worker.start();
  await waitFor(() => worker.stats().inFlight >= 200);
  await sleep(50);
  expect(dispatched).toBe(true);
  expect(maxInFlight).toBeLessThanOrEqual(200);
  expect(worker.stats().inFlight).toBe(200);
  release();
});

test('the ack of a finished handler goes out at once while the read loop waits for busy slots', async () => {
  // Acks wait to ride with the next read, but with 7 of 8 slots busy (a read needs 2 free) the
  // loop waits on the handlers: held acks must then go out within the hold bound, not when the
  // slow handlers end.
  const topic = pingTopic();
  await publish(redis.client, topic, pings(8));
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const done = new Tally();
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', startId: '0', concurrency: 8, blockMs: 1000,
    handlers: {
      ping: async (m) => {
        if (m.data.n !== 0) await held;
        done.add(m.data.n);
      },
    },
  });
  await worker.start();
  try {
    await waitFor(() => done.distinct === 1 && worker.stats().inFlight === 7);
    const t0 = Date.now();
    await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 7, { timeoutMs: 3000, intervalMs: 5 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(worker.stats().inFlight).toBe(7); // the slow ones still run: the ack did not wait for them
  } finally {
    release();
  }
  await waitFor(() => done.distinct === 8);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('stop() interrupts a BLOCK at once (blockMs 10000)', async () => {
  const topic = pingTopic();
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 10_000, handlers: { ping: () => undefined } });
  await worker.start();
  await sleep(100); // let it block
  const t0 = Date.now();
  await worker.stop();
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(worker.running).toBe(false);
});

test('stop() under load is quick whatever the read loop is doing (repeated, blockMs 10000)', async () => {
  for (let round = 0; round < 15; round++) {
    const topic = pingTopic();
    const done = new Tally();
    const worker = redis.worker({
      topic, group: 'g', consumer: 'c1', blockMs: 10_000, concurrency: 4,
      handlers: { ping: (m) => { done.add(m.data.n); } },
    });
    await worker.start();
    let publishing = true;
    const publisher = (async () => {
      let n = 0;
      while (publishing) {
        await publish(redis.client, topic, pings(3, n));
        n += 3;
        await sleep(1);
      }
    })();
    await sleep(20 + round * 7);
    const t0 = Date.now();
    await worker.stop();
    const took = Date.now() - t0;
    publishing = false;
    await publisher;
    expect(took).toBeLessThan(1000);
  }
});

test('a restart under the same consumer name resumes its own pending messages first (deliveries = 2)', async () => {
  const topic = pingTopic();
  const stuck = new Tally();
  const first = redis.worker({
    topic, group: 'g', consumer: 'same', concurrency: 5, blockMs: 500,
    // A handler that never resolves: its messages can only stay pending.
    handlers: { ping: (m) => { stuck.add(m.data.n); return new Promise(() => undefined); } },
  });
  const timedOut: string[][] = [];
  first.on('stop-timeout', ({ streamIds }) => timedOut.push([...streamIds]));
  await first.start();
  const oldIds = await publish(redis.client, topic, pings(5));
  await waitFor(() => stuck.distinct === 5);
  await first.stop({ timeoutMs: 50 });
  expect(timedOut).toEqual([oldIds]);
  expect((await pendingEntries(redis.commander, topic, 'g', 'same')).map((p) => p.id)).toEqual(oldIds);

  const newIds = await publish(redis.client, topic, pings(5, 100));
  const order: { id: string; n: number; deliveries: number }[] = [];
  const second = redis.worker({
    topic, group: 'g', consumer: 'same', concurrency: 1, blockMs: 500,
    handlers: { ping: (m, ctx) => { order.push({ id: m.streamId, n: m.data.n, deliveries: ctx.deliveries }); } },
  });
  await second.start();
  await waitFor(() => order.length === 10);
  // Its own pending list first, each redelivered once more; then the new messages.
  expect(order.slice(0, 5)).toEqual(oldIds.map((id, i) => ({ id, n: i, deliveries: 2 })));
  expect(order.slice(5)).toEqual(newIds.map((id, i) => ({ id, n: 100 + i, deliveries: 1 })));
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('a worker with another name does not take over pending messages of a stopped consumer', async () => {
  const topic = pingTopic();
  const first = redis.worker({ topic, group: 'g', consumer: 'a', concurrency: 3, blockMs: 500, handlers: { ping: () => new Promise(() => undefined) } });
  await first.start();
  await publish(redis.client, topic, pings(3));
  await waitFor(async () => (await pendingEntries(redis.commander, topic, 'g', 'a')).length === 3);
  await first.stop({ timeoutMs: 10 });
  const seen = new Tally();
  const other = redis.worker({ topic, group: 'g', consumer: 'b', blockMs: 500, handlers: { ping: (m) => { seen.add(m.data.n); } } });
  await other.start();
  await publish(redis.client, topic, pings(2, 10));
  await waitFor(() => seen.distinct === 2);
  await sleep(100);
  // Reclaiming another consumer's pending entries is the recovery package's job.
  expect([...seen.counts.keys()].sort((x, y) => x - y)).toEqual([10, 11]);
  expect(await pendingEntries(redis.commander, topic, 'g', 'a')).toHaveLength(3);
});

test('graceful stop under load loses nothing and flushes every finished handler\'s ack', async () => {
  const topic = pingTopic();
  const total = 1000;
  const ids = await publish(redis.client, topic, pings(total));
  const handled = new Map<number, string>();
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 20, blockMs: 5000, startId: '0',
    handlers: { ping: async (m) => { await sleep(1 + (m.data.n % 5)); handled.set(m.data.n, m.streamId); } },
  });
  const stopped: unknown[] = [];
  worker.on('stopped', (s) => stopped.push(s));
  await worker.start();
  await waitFor(() => handled.size >= 300);
  const t0 = Date.now();
  await worker.stop();
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(stopped).toEqual([worker.stats()]);
  expect(worker.stats().inFlight).toBe(0);
  const afterStop = handled.size;
  expect(afterStop).toBeLessThan(total); // really stopped mid-stream
  // Every finished handler's ack reached Redis before stop() resolved: none of them is pending.
  const pendingAfterStop = await pendingEntries(redis.commander, topic, 'g');
  const handledIds = new Set(handled.values());
  expect(pendingAfterStop.filter((p) => handledIds.has(p.id))).toEqual([]);
  // Nothing fetched was left unstarted either (bounded prefetch): the pending list is empty.
  expect(pendingAfterStop).toEqual([]);
  expect(worker.stats()).toMatchObject({ succeeded: afterStop, acked: afterStop, failed: 0 });

  // The rest is still there for the group: another member handles exactly the remainder.
  const rest = new Tally();
  const next = redis.worker({ topic, group: 'g', consumer: 'c2', concurrency: 20, blockMs: 500, handlers: { ping: (m) => { rest.add(m.data.n); } } });
  await next.start();
  await waitFor(() => handled.size + rest.distinct === total);
  expect(rest.duplicates()).toEqual([]);
  expect([...rest.counts.keys()].filter((n) => handled.has(n))).toEqual([]);
  expect(new Set([...handled.keys(), ...rest.counts.keys()])).toEqual(new Set(range(total)));
  expect(ids).toHaveLength(total);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('stats() counts successes, failures, acks and messages in flight', async () => {
  const topic = pingTopic();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 10, blockMs: 500,
    handlers: {
      ping: async (m) => {
        if (m.data.n === 0) throw new Error('boom');
        if (m.data.n >= 8) await gate;
      },
    },
  });
  expect(worker.stats()).toEqual({ succeeded: 0, failed: 0, deadLettered: 0, acked: 0, inFlight: 0 });
  await worker.start();
  await publish(redis.client, topic, pings(10));
  await waitFor(() => worker.stats().succeeded === 7);
  expect(worker.stats()).toEqual({ succeeded: 7, failed: 1, deadLettered: 0, acked: 7, inFlight: 2 });
  release();
  await waitFor(() => worker.stats().inFlight === 0);
  expect(worker.stats()).toEqual({ succeeded: 9, failed: 1, deadLettered: 0, acked: 9, inFlight: 0 });
  await worker.stop();
  // The failed one stays pending (no failure handler); the others are acked.
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(1);
});
