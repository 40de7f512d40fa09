/**
 * Ports of Watermill's universal Pub/Sub tests (the ones that need no recovery plug-in):
 * publish/subscribe, concurrent subscribers, many topics, topic isolation, publisher close,
 * new groups replaying old messages, and fan-out to several groups.
 */
import { z } from 'zod';
import { defineTopic } from '@tributary/core';
import { getGroupInfo } from '@tributary/consumer-group';
import { uniqueName, waitFor } from '@tributary/test-utils';
import { pendingCount, pingTopic, pings, publish, range, sleep, streamLength, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

test('publish/subscribe: 100 messages with headers arrive intact and in order (concurrency 1)', async () => {
  const topic = defineTopic({ name: uniqueName('pubsub'), types: { note: z.object({ n: z.number(), text: z.string() }) } });
  const sent = range(100).map((n) => ({
    type: 'note' as const,
    data: { n, text: `héllo ${n} ✓` },
    id: `msg-${n}`,
    ts: 1_700_000_000_000 + n,
    headers: { traceparent: `00-${String(n).padStart(32, '0')}-00f067aa0ba902b7-01`, 'x-tenant': n % 2 ? 'odd' : 'even', empty: '' },
  }));
  const got: unknown[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 1, blockMs: 500,
    handlers: { note: (m) => { got.push({ type: m.type, data: m.data, id: m.id, ts: m.ts, headers: m.headers }); } },
  });
  await worker.start();
  const streamIds = await publish(redis.client, topic, sent);
  await waitFor(() => got.length >= 100);
  await sleep(50);
  expect(got).toEqual(sent);
  expect(new Set(streamIds).size).toBe(100);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('concurrent subscribe: 5,000 messages, 10 workers × concurrency 20, all exactly once', async () => {
  const topic = pingTopic();
  const total = 5000;
  const seen = new Tally();
  const workers = range(10).map((i) => redis.worker({
    topic, group: 'g', consumer: `c${i}`, concurrency: 20, blockMs: 500,
    handlers: { ping: async (m) => { await sleep(0); seen.add(m.data.n); } },
  }));
  await Promise.all(workers.map((w) => w.start()));
  await publish(redis.client, topic, pings(total));
  await waitFor(() => seen.total >= total, { timeoutMs: 30_000 });
  await Promise.all(workers.map((w) => w.stop()));
  expect(seen.total).toBe(total);
  expect(seen.duplicates()).toEqual([]);
  expect(new Set(seen.counts.keys())).toEqual(new Set(range(total)));
  expect(workers.filter((w) => w.stats().succeeded > 0).length).toBeGreaterThan(1);
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});

test('many topics: 20 topics × 100 messages, published and consumed concurrently', async () => {
  const topics = range(20).map(() => pingTopic('many'));
  const seen = topics.map(() => new Tally());
  await Promise.all(topics.map((topic, t) => redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 5, blockMs: 500,
    handlers: { ping: (m) => { expect(m.data.from).toBe(`t${t}`); seen[t]!.add(m.data.n); } },
  }).start()));
  await Promise.all(topics.map((topic, t) => publish(redis.client, topic, pings(100, 0, `t${t}`))));
  await waitFor(() => seen.every((s) => s.total >= 100), { timeoutMs: 30_000 });
  await sleep(50);
  for (const s of seen) {
    expect(s.total).toBe(100);
    expect(s.duplicates()).toEqual([]);
  }
  for (const topic of topics) expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});

test('topic isolation: a worker on topic A never sees messages of topic B', async () => {
  const a = pingTopic('iso-a');
  const b = pingTopic('iso-b');
  const seen: string[] = [];
  const worker = redis.worker({ topic: a, group: 'g', consumer: 'c1', blockMs: 500, handlers: { ping: (m) => { seen.push(m.data.from!); } } });
  await worker.start();
  await Promise.all([publish(redis.client, a, pings(50, 0, 'A')), publish(redis.client, b, pings(50, 0, 'B'))]);
  await waitFor(() => seen.length >= 50);
  await sleep(200);
  expect(seen).toHaveLength(50);
  expect(new Set(seen)).toEqual(new Set(['A']));
  // B was not touched: no group was created on it and its entries are all still there.
  expect(await getGroupInfo(redis.client, b, 'g')).toBeUndefined();
  expect(await streamLength(redis.commander, b)).toBe(50);
});

test('publisher close: everything XADDed before the publisher closed is processed', async () => {
  const topic = pingTopic();
  const seen = new Tally();
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', concurrency: 20, blockMs: 500, handlers: { ping: (m) => { seen.add(m.data.n); } } });
  await worker.start();
  const publisher = await redis.connect();
  const ids = await publish(publisher, topic, pings(1000));
  await publisher.close();
  expect(ids).toHaveLength(1000);
  await waitFor(() => seen.total >= 1000);
  await sleep(50);
  expect(seen.total).toBe(1000);
  expect(seen.duplicates()).toEqual([]);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test("new groups replay old messages with startId '0'; the default '$' starts after them", async () => {
  const topic = pingTopic();
  await publish(redis.client, topic, pings(50));
  const replayed = new Tally();
  const fresh = new Tally();
  await redis.worker({ topic, group: 'replay', consumer: 'c1', startId: '0', blockMs: 500, handlers: { ping: (m) => { replayed.add(m.data.n); } } }).start();
  await redis.worker({ topic, group: 'fresh', consumer: 'c1', blockMs: 500, handlers: { ping: (m) => { fresh.add(m.data.n); } } }).start();
  await publish(redis.client, topic, pings(5, 50));
  await waitFor(() => replayed.total >= 55 && fresh.total >= 5);
  await sleep(50);
  expect([...replayed.counts.keys()]).toEqual(range(55));
  expect([...fresh.counts.keys()]).toEqual(range(5, 50));
});

test('consumer groups each get everything: 3 groups on one stream each process all messages', async () => {
  const topic = pingTopic();
  const total = 600;
  const groups = ['billing', 'shipping', 'audit'];
  const seen = new Map(groups.map((g) => [g, new Tally()]));
  for (const group of groups) {
    for (const consumer of ['c1', 'c2']) {
      await redis.worker({ topic, group, consumer, concurrency: 10, blockMs: 500, handlers: { ping: (m, ctx) => { seen.get(ctx.group)!.add(m.data.n); } } }).start();
    }
  }
  await publish(redis.client, topic, pings(total));
  await waitFor(() => [...seen.values()].every((s) => s.total >= total), { timeoutMs: 30_000 });
  await sleep(50);
  for (const group of groups) {
    const s = seen.get(group)!;
    expect({ group, total: s.total, duplicates: s.duplicates() }).toEqual({ group, total, duplicates: [] });
    await waitFor(async () => (await pendingCount(redis.commander, topic, group)) === 0);
  }
});
