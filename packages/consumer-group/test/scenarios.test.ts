/**
 * The four producer/consumer scenarios of the consumer-group article (seed 002): 1→1, 1→N, N→1
 * and N→N. Every produced message is processed exactly once and the counts reconcile.
 */
import { waitFor } from '@tributary/test-utils';
import { pendingCount, pingTopic, pings, publish, range, sleep, streamLength, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

/** A message label unique across producers: `<producer>:<n>`. */
const label = (m: { data: { n: number; from?: string } }) => `${m.data.from ?? '-'}:${m.data.n}`;

/** `producers` connections each publishing `perProducer` messages at the same time, in chunks. */
async function produceConcurrently(topic: ReturnType<typeof pingTopic>, producers: number, perProducer: number): Promise<void> {
  const connections = await Promise.all(range(producers).map(() => redis.connect()));
  await Promise.all(connections.map(async (connection, p) => {
    for (let i = 0; i < perProducer; i += 100) {
      await publish(connection, topic, pings(Math.min(100, perProducer - i), i, `p${p}`));
      await sleep(0); // interleave with the other producers
    }
  }));
}

test('1 producer → 1 consumer: every message once, in order', async () => {
  const topic = pingTopic();
  const got: number[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', concurrency: 1, blockMs: 500, handlers: { ping: (m) => { got.push(m.data.n); } } });
  await worker.start();
  await publish(redis.client, topic, pings(500));
  await waitFor(() => got.length >= 500);
  await sleep(50);
  expect(got).toEqual(range(500));
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('1 producer → N consumers (3 in one group): each message to exactly one consumer, split roughly evenly', async () => {
  const topic = pingTopic();
  const total = 3000;
  const byConsumer = new Map<string, number[]>();
  const all = new Tally();
  const workers = ['c1', 'c2', 'c3'].map((consumer) => {
    byConsumer.set(consumer, []);
    return redis.worker({
      topic, group: 'g', consumer, concurrency: 10, blockMs: 500,
      handlers: { ping: async (m, ctx) => { await sleep(1); byConsumer.get(ctx.consumer)!.push(m.data.n); all.add(m.data.n); } },
    });
  });
  await Promise.all(workers.map((w) => w.start()));
  await publish(redis.client, topic, pings(total));
  await waitFor(() => all.total >= total, { timeoutMs: 30_000 });
  await sleep(50);
  expect(all.total).toBe(total);
  expect(all.duplicates()).toEqual([]);
  expect(new Set(all.counts.keys())).toEqual(new Set(range(total)));
  for (const [consumer, got] of byConsumer) {
    expect({ consumer, share: got.length >= total * 0.15 }).toEqual({ consumer, share: true });
  }
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('N producers (3, concurrent) → 1 consumer: everything arrives, each producer\'s order preserved', async () => {
  const topic = pingTopic();
  const perProducer = 500;
  const got: { from: string; n: number }[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', concurrency: 1, blockMs: 500, handlers: { ping: (m) => { got.push({ from: m.data.from!, n: m.data.n }); } } });
  await worker.start();
  await produceConcurrently(topic, 3, perProducer);
  await waitFor(() => got.length >= 3 * perProducer, { timeoutMs: 30_000 });
  await sleep(50);
  expect(got).toHaveLength(3 * perProducer);
  for (const from of ['p0', 'p1', 'p2']) expect(got.filter((g) => g.from === from).map((g) => g.n)).toEqual(range(perProducer));
  // Really concurrent: the producers' messages are interleaved in the stream.
  const switches = got.filter((g, i) => i > 0 && got[i - 1]!.from !== g.from).length;
  expect(switches).toBeGreaterThan(2);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('N producers → N consumers: produced = processed, no duplicates, nothing pending', async () => {
  const topic = pingTopic();
  const producers = 3;
  const perProducer = 1000;
  const processed = new Tally<string>();
  const perConsumer = new Tally<string>();
  const workers = ['c1', 'c2', 'c3'].map((consumer) => redis.worker({
    topic, group: 'g', consumer, concurrency: 10, blockMs: 500,
    handlers: { ping: async (m, ctx) => { await sleep(0); processed.add(label(m)); perConsumer.add(ctx.consumer); } },
  }));
  await Promise.all(workers.map((w) => w.start()));
  await produceConcurrently(topic, producers, perProducer);
  const produced = await streamLength(redis.commander, topic);
  expect(produced).toBe(producers * perProducer);
  await waitFor(() => processed.total >= produced, { timeoutMs: 30_000 });
  await Promise.all(workers.map((w) => w.stop()));
  expect(processed.total).toBe(produced);
  expect(processed.distinct).toBe(produced);
  expect(processed.duplicates()).toEqual([]);
  expect(perConsumer.distinct).toBe(3); // everyone took part
  expect(workers.reduce((sum, w) => sum + w.stats().acked, 0)).toBe(produced);
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});
