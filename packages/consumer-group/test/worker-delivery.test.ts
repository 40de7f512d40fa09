/**
 * Delivery semantics of one worker on real Redis: bounded prefetch, own pending list first on
 * restart, graceful stop under load, BLOCK interruption, counters.
 */
import { toCommander } from '@tributary/core';
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
