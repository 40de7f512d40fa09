/**
 * Workers on a local 3-master Redis Cluster: the topic's keys share one slot, reads go to its
 * node, and stop() interrupts a BLOCK there too.
 */
import { connectRedisCluster, toCommander } from '@tributary/core';
import { createWorker, type Worker } from '@tributary/consumer-group';
import { type RedisCluster, startRedisCluster, waitFor } from '@tributary/test-utils';
import { pendingCount, pingTopic, pings, publish, range, sleep, Tally } from './helpers/worker-harness.js';

let cluster: RedisCluster;
let client: Awaited<ReturnType<typeof connectRedisCluster>>;
const workers: Worker<never>[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = await connectRedisCluster({ rootNodes: cluster.rootNodes.map((n) => n.url) });
}, 60_000);
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 200 })));
});
afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

function track<W>(worker: W): W {
  workers.push(worker as unknown as Worker<never>);
  return worker;
}

test('2 workers on a cluster process every published message exactly once', async () => {
  const topics = [pingTopic('cl'), pingTopic('cl'), pingTopic('cl')]; // likely on different nodes
  for (const topic of topics) {
    const seen = new Tally();
    const group = [
      createWorker(client, { topic, group: 'g', consumer: 'c1', concurrency: 10, blockMs: 500, handlers: { ping: async (m) => { await sleep(0); seen.add(m.data.n); } } }),
      createWorker(client, { topic, group: 'g', consumer: 'c2', concurrency: 10, blockMs: 500, handlers: { ping: async (m) => { await sleep(0); seen.add(m.data.n); } } }),
    ];
    group.forEach(track);
    await Promise.all(group.map((w) => w.start()));
    await publish(client, topic, pings(500));
    await waitFor(() => seen.total >= 500, { timeoutMs: 20_000 });
    await Promise.all(group.map((w) => w.stop()));
    expect(seen.total).toBe(500);
    expect(seen.duplicates()).toEqual([]);
    expect(new Set(seen.counts.keys())).toEqual(new Set(range(500)));
    expect(group.every((w) => w.stats().succeeded > 0)).toBe(true);
    expect(await pendingCount(toCommander(client), topic, 'g')).toBe(0);
  }
});

test('stop() interrupts the BLOCK on a cluster quickly (blockMs 10000)', async () => {
  const topic = pingTopic('cl');
  const seen = new Tally();
  const worker = track(createWorker(client, { topic, group: 'g', consumer: 'c1', blockMs: 10_000, handlers: { ping: (m) => { seen.add(m.data.n); } } }));
  await worker.start();
  await publish(client, topic, pings(5));
  await waitFor(() => seen.total === 5);
  await sleep(100); // blocked again
  const t0 = Date.now();
  await worker.stop();
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(worker.running).toBe(false);
  // The user's cluster client is untouched by the worker's stop.
  expect(await pendingCount(toCommander(client), topic, 'g')).toBe(0);
});
