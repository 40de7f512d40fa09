// Retries with backoff and the move to the dead-letter stream after maxDeliveries, through a
// real worker on a real Redis.
import { waitFor } from '@tributary/test-utils';
import { createRecovery, DeadLetterField, listDeadLetters } from '@tributary/recovery';
import { jobTopic, pendingCount, publish, readAll, trackWorker, useRedis } from './recovery-helpers.js';

const redis = useRedis();

test('a poison message reaches the DLQ after exactly maxDeliveries attempts, with its metadata', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { maxDeliveries: 3, backoff: [50], claimIdleMs: 600, reclaimIntervalMs: 100 });
  const attempts: number[] = [];
  const dlqEvents: unknown[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: {
      job: async (msg, ctx) => {
        attempts.push(ctx.deliveries);
        if (msg.data.n === 13) throw new TypeError(`unlucky ${msg.data.n}`);
      },
    },
  });
  worker.on('dead-lettered', (letter) => dlqEvents.push(letter));
  const sourceId = await publish(redis.commander, topic, { type: 'job', data: { n: 13 }, id: 'app-13', headers: { trace: 't1' } });
  const before = Date.now();
  await worker.start();
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 1, { timeoutMs: 10_000 });
  expect(attempts).toEqual([1, 2, 3]);
  const [letter] = await listDeadLetters(redis.client, { topic });
  expect(letter).toMatchObject({
    sourceId,
    source: topic.keys.stream,
    group: 'g',
    consumer: 'c1',
    deliveries: 3,
    reason: 'max-deliveries',
    errorName: 'TypeError',
    errorMessage: 'unlucky 13',
  });
  expect(letter!.firstFailureTs).toBeGreaterThanOrEqual(before - 1000);
  expect(letter!.firstFailureTs!).toBeLessThanOrEqual(letter!.lastFailureTs!);
  expect(letter!.lastFailureTs! - letter!.firstFailureTs!).toBeGreaterThanOrEqual(50);
  expect(letter!.message).toMatchObject({ type: 'job', data: { n: 13 }, id: 'app-13', headers: { trace: 't1' } });
  // The original fields are intact, in order, followed by the metadata.
  const [raw] = await readAll(redis.commander, topic.keys.deadLetter);
  const [original] = await readAll(redis.commander, topic.keys.stream);
  for (const [name, value] of Object.entries(original!.fields)) expect(raw!.fields[name]).toBe(value);
  expect(raw!.fields[DeadLetterField.SourceId]).toBe(sourceId);
  expect(raw!.fields[DeadLetterField.Deliveries]).toBe('3');
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
  // The failure-time record is gone with the move.
  expect(await redis.commander.send(topic.keys.stream, ['HLEN', `${topic.keys.stream}:failures:g`])).toBe(0);
  expect(dlqEvents).toHaveLength(1);
  expect(worker.stats().deadLettered).toBe(1);
});

test('retries follow the backoff schedule', async () => {
  const topic = jobTopic();
  const schedule = [300, 600];
  const recovery = createRecovery(redis.client, { maxDeliveries: 3, backoff: schedule, claimIdleMs: 2000, reclaimIntervalMs: 1000 });
  const times: number[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: { job: async () => { times.push(Date.now()); throw new Error('always'); } },
  });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await worker.start();
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 1, { timeoutMs: 10_000 });
  expect(times).toHaveLength(3);
  const gaps = [times[1]! - times[0]!, times[2]! - times[1]!];
  // At least the backoff, and well before the reclaim period would have allowed by itself.
  expect(gaps[0]).toBeGreaterThanOrEqual(schedule[0]! - 20);
  expect(gaps[1]).toBeGreaterThanOrEqual(schedule[1]! - 20);
  expect(gaps[0]).toBeLessThan(schedule[0]! + 700);
  expect(gaps[1]).toBeLessThan(schedule[1]! + 700);
});

test('resend on error: fails twice, then succeeds once, is acked and never dead-lettered', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { maxDeliveries: 5, backoff: [30], claimIdleMs: 500, reclaimIntervalMs: 100 });
  const calls = new Map<number, number>();
  const succeeded: number[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: {
      job: async (msg) => {
        const n = (calls.get(msg.data.n) ?? 0) + 1;
        calls.set(msg.data.n, n);
        if (n <= 2) throw new Error(`attempt ${n} fails`);
        succeeded.push(msg.data.n);
      },
    },
  });
  for (let i = 0; i < 5; i++) await publish(redis.commander, topic, { type: 'job', data: { n: i } });
  await worker.start();
  await waitFor(() => succeeded.length === 5, { timeoutMs: 10_000 });
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
  expect(succeeded.sort()).toEqual([0, 1, 2, 3, 4]);
  expect([...calls.values()]).toEqual([3, 3, 3, 3, 3]);
  expect(await listDeadLetters(redis.client, { topic })).toEqual([]);
  // Stale first-failure times of messages that later succeeded are pruned by the reclaim loop.
  await waitFor(async () => Number(await redis.commander.send(topic.keys.stream, ['HLEN', `${topic.keys.stream}:failures:g`])) === 0, { timeoutMs: 5000 });
});

test('continue after errors: failing messages interleaved with good ones never block the good ones', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { maxDeliveries: 2, backoff: [20], claimIdleMs: 400, reclaimIntervalMs: 100 });
  const good = new Set<number>();
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', concurrency: 5, failureHandler: recovery,
    handlers: {
      job: async (msg) => {
        if (msg.data.n % 3 === 0) throw new Error('bad');
        good.add(msg.data.n);
      },
    },
  });
  await worker.start();
  for (let i = 0; i < 300; i++) await publish(redis.commander, topic, { type: 'job', data: { n: i } });
  await waitFor(() => good.size === 200, { timeoutMs: 15_000 });
  await waitFor(async () => (await listDeadLetters(redis.client, { topic, count: 1000 })).length === 100, { timeoutMs: 15_000 });
  const letters = await listDeadLetters(redis.client, { topic, count: 1000 });
  expect(new Set(letters.map((l) => (l.message as { data: { n: number } }).data.n)).size).toBe(100);
  expect(letters.every((l) => l.reason === 'max-deliveries' && l.deliveries === 2)).toBe(true);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('a handler timeout counts as a failure and is retried', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { maxDeliveries: 2, backoff: [20], claimIdleMs: 500, reclaimIntervalMs: 100 });
  let calls = 0;
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery, handlerTimeoutMs: 50,
    handlers: { job: async (_m, ctx) => { calls++; await new Promise((r) => setTimeout(r, 200)); void ctx; } },
  });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await worker.start();
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 1, { timeoutMs: 10_000 });
  const [letter] = await listDeadLetters(redis.client, { topic });
  expect(calls).toBe(2);
  expect(letter).toMatchObject({ reason: 'max-deliveries', errorName: 'TimeoutError', deliveries: 2 });
});
