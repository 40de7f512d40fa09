// Reclaim: crashed consumers' messages, the XAUTOCLAIM window, lost (trimmed) entries, and
// entries whose consumers kept crashing.
import { waitFor } from '@tributary/test-utils';
import { createRecovery, listDeadLetters, reclaimIdle } from '@tributary/recovery';
import { claimOwned, releaseClaims } from '../src/reclaim.js';
import {
  agePending,
  jobTopic,
  pendingCount,
  publish,
  readAsConsumer,
  sleep,
  trackWorker,
  useRedis,
} from './recovery-helpers.js';

const redis = useRedis();

async function createGroup(topic: ReturnType<typeof jobTopic>, group = 'g'): Promise<void> {
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATE', topic.keys.stream, group, '0', 'MKSTREAM']);
}

test("a crashed consumer's messages are reclaimed by a live worker after claimIdleMs", async () => {
  const topic = jobTopic();
  await createGroup(topic);
  for (let i = 0; i < 20; i++) await publish(redis.commander, topic, { type: 'job', data: { n: i } });
  // `crashed` reads everything and never acks (it died).
  expect(await readAsConsumer(redis.commander, topic, 'g', 'crashed', 100)).toHaveLength(20);
  const recovery = createRecovery(redis.client, { claimIdleMs: 600, reclaimIntervalMs: 100 });
  const done: { n: number; deliveries: number; at: number }[] = [];
  const reclaimed: number[] = [];
  const crashedAt = Date.now();
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'live', concurrency: 7, failureHandler: recovery,
    handlers: { job: async (m, ctx) => { done.push({ n: m.data.n, deliveries: ctx.deliveries, at: Date.now() }); } },
  });
  worker.on('reclaimed', (e) => reclaimed.push((e as { count: number }).count));
  await worker.start();
  await waitFor(() => done.length === 20, { timeoutMs: 5000 });
  expect(new Set(done.map((d) => d.n)).size).toBe(20);
  expect(done.every((d) => d.deliveries === 2)).toBe(true);
  expect(Math.min(...done.map((d) => d.at)) - crashedAt).toBeGreaterThanOrEqual(550);
  expect(reclaimed.reduce((a, b) => a + b, 0)).toBe(20);
  expect(Math.max(...reclaimed)).toBeLessThanOrEqual(7); // never more than the free slots
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('more than COUNT×10 non-reclaimable entries ahead of reclaimable ones: all reclaimable ones are still reclaimed', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  const key = topic.keys.stream;
  // 2,000 entries pending with a busy (live, recently active) consumer, then 30 of a dead one.
  for (let i = 0; i < 2000; i += 500) {
    const batch = Array.from({ length: 500 }, (_, j) => redis.commander.send(key, ['XADD', key, '*', 'type', 'job', 'data', JSON.stringify({ n: i + j }), 'id', `busy-${i + j}`]));
    await Promise.all(batch);
  }
  expect(await readAsConsumer(redis.commander, topic, 'g', 'busy', 5000)).toHaveLength(2000);
  for (let i = 0; i < 30; i++) await publish(redis.commander, topic, { type: 'job', data: { n: 10_000 + i } });
  const deadIds = await readAsConsumer(redis.commander, topic, 'g', 'dead', 100);
  expect(deadIds).toHaveLength(30);
  await agePending(redis.commander, topic, 'g', deadIds);
  const recovery = createRecovery(redis.client, { claimIdleMs: 20_000, reclaimIntervalMs: 100 });
  const handled: number[] = [];
  // concurrency 5: XAUTOCLAIM COUNT 5 inspects at most 50 entries per call.
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'live', concurrency: 5, failureHandler: recovery,
    handlers: { job: async (m) => { handled.push(m.data.n); } },
  });
  await worker.start();
  await waitFor(() => handled.length === 30, { timeoutMs: 10_000 });
  expect(handled.every((n) => n >= 10_000)).toBe(true);
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(2000);
});

test('entries deleted while pending are reported as lost and recorded in the DLQ (reason trimmed)', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await publish(redis.commander, topic, { type: 'job', data: { n: i } }));
  await readAsConsumer(redis.commander, topic, 'g', 'crashed', 10);
  await redis.commander.send(topic.keys.stream, ['XDEL', topic.keys.stream, ids[1]!, ids[3]!]);
  const recovery = createRecovery(redis.client, { claimIdleMs: 300, reclaimIntervalMs: 50 });
  const lost: { streamIds: string[]; deadLetterIds: string[] }[] = [];
  const handled: number[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'live', failureHandler: recovery,
    handlers: { job: async (m) => { handled.push(m.data.n); } },
  });
  worker.on('lost', (e) => lost.push(e as { streamIds: string[]; deadLetterIds: string[] }));
  await worker.start();
  await waitFor(() => handled.length === 3 && lost.length > 0, { timeoutMs: 5000 });
  expect(handled.sort()).toEqual([0, 2, 4]);
  expect(lost.flatMap((l) => l.streamIds).sort()).toEqual([ids[1], ids[3]].sort());
  expect(lost.flatMap((l) => l.deadLetterIds)).toHaveLength(2);
  const letters = await listDeadLetters(redis.client, { topic });
  expect(letters.map((l) => l.sourceId).sort()).toEqual([ids[1], ids[3]].sort());
  for (const letter of letters) {
    expect(letter).toMatchObject({ reason: 'trimmed', group: 'g', errorName: 'DataLost', fields: {} });
    expect(letter.decodeError?.code).toBe('ERR_DECODE');
  }
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('an entry whose consumers crashed more than maxDeliveries times is dead-lettered without running', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  const id = await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await readAsConsumer(redis.commander, topic, 'g', 'crashed', 10);
  // Delivered 3 times so far (every consumer died on it), and idle for long.
  await redis.commander.send(topic.keys.stream, ['XCLAIM', topic.keys.stream, 'g', 'crashed', '0', id, 'IDLE', '3600000', 'RETRYCOUNT', '3', 'JUSTID']);
  const recovery = createRecovery(redis.client, { maxDeliveries: 3, claimIdleMs: 1000, reclaimIntervalMs: 50 });
  let ran = 0;
  const worker = trackWorker(redis, { topic, group: 'g', consumer: 'live', failureHandler: recovery, handlers: { job: async () => { ran++; } } });
  await worker.start();
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 1, { timeoutMs: 5000 });
  const [letter] = await listDeadLetters(redis.client, { topic });
  expect(letter).toMatchObject({ sourceId: id, reason: 'max-deliveries', deliveries: 4, consumer: 'live', errorName: 'MaxDeliveriesExceeded', message: { data: { n: 1 } } });
  expect(ran).toBe(0);
});

test('messages being handled are not reclaimed by a peer while their lease is renewed', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { claimIdleMs: 300, reclaimIntervalMs: 50 });
  const runs: string[] = [];
  const handler = (name: string) => async () => {
    runs.push(name);
    await sleep(1200);
  };
  const a = trackWorker(redis, { topic, group: 'g', consumer: 'a', startId: '0', leaseRenewMs: 100, failureHandler: recovery, handlers: { job: handler('a') } });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await a.start();
  await waitFor(() => runs.length === 1);
  const b = trackWorker(redis, { topic, group: 'g', consumer: 'b', leaseRenewMs: 100, failureHandler: recovery, handlers: { job: handler('b') } });
  await b.start();
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0, { timeoutMs: 5000 });
  expect(runs).toEqual(['a']);
});

test('reclaimIdle walks the whole pending list without a worker', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  const ids: string[] = [];
  for (let i = 0; i < 45; i++) ids.push(await publish(redis.commander, topic, { type: 'job', data: { n: i } }));
  await readAsConsumer(redis.commander, topic, 'g', 'fresh', 40); // recent: not idle enough
  const old = await readAsConsumer(redis.commander, topic, 'g', 'old', 10);
  await agePending(redis.commander, topic, 'g', old);
  await redis.commander.send(topic.keys.stream, ['XDEL', topic.keys.stream, old[0]!]);
  const result = await reclaimIdle(redis.client, { topic, group: 'g', consumer: 'admin', minIdleMs: 60_000, count: 2 });
  expect(result.claimed.map((e) => e.id)).toEqual(old.slice(1));
  expect(result.claimed.every((e) => e.deliveries === 2 && e.fields !== null)).toBe(true);
  expect(result.deleted).toEqual([old[0]]);
  const letters = await listDeadLetters(redis.client, { topic });
  expect(letters.map((l) => [l.sourceId, l.reason])).toEqual([[old[0], 'trimmed']]);
  const limited = await reclaimIdle(redis.client, { topic, group: 'g', consumer: 'other', minIdleMs: 0, limit: 3 });
  expect(limited.claimed).toHaveLength(3);
});

test('claimOwned reports owned entries with no data as vanished (the XCLAIM path, as on Redis 6.2)', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  const a = await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  const b = await publish(redis.commander, topic, { type: 'job', data: { n: 2 } });
  await readAsConsumer(redis.commander, topic, 'g', 'me', 10);
  await redis.commander.send(topic.keys.stream, ['XDEL', topic.keys.stream, a]);
  const result = await claimOwned(redis.commander, topic, 'g', 'me', [a, b]);
  expect(result.vanished).toEqual([a]);
  expect(result.claimed.map((e) => [e.id, e.deliveries])).toEqual([[b, 2]]);
  // Not ours: left alone.
  expect(await claimOwned(redis.commander, topic, 'g', 'someone-else', [b])).toEqual({ claimed: [], vanished: [] });
});

test('releaseClaims gives entries back due at once, restoring counters of claims that never ran', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  const a = await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  const b = await publish(redis.commander, topic, { type: 'job', data: { n: 2 } });
  await readAsConsumer(redis.commander, topic, 'g', 'me', 10);
  const claimed = await claimOwned(redis.commander, topic, 'g', 'me', [a, b]); // counters 2
  expect(claimed.claimed.map((e) => e.deliveries)).toEqual([2, 2]);
  const released = await releaseClaims(redis.commander, {
    topic, group: 'g', consumer: 'me', idleMs: 5000, entries: [{ id: a, deliveries: 1 }, { id: b }],
  });
  expect(released).toBe(2);
  const pending = await redis.commander.send<[string, string, number, number][]>(topic.keys.stream, ['XPENDING', topic.keys.stream, 'g', '-', '+', '10']);
  expect(pending.map((p) => [p[0], p[1], Number(p[3])])).toEqual([[a, 'me', 1], [b, 'me', 2]]);
  expect(pending.every((p) => Number(p[2]) >= 5000)).toBe(true);
  // Not ours any more: untouched.
  expect(await releaseClaims(redis.commander, { topic, group: 'g', consumer: 'other', idleMs: 0, entries: [{ id: a }] })).toBe(0);
});
