// Malformed entries, handler outcomes (ctx.retry / ctx.deadLetter), the dead-letter script's
// idempotency and the onDeadLetter hook.
import type { WorkerEvents } from '@tributary/consumer-group';
import { waitFor } from '@tributary/test-utils';
import {
  createRecovery,
  type DeadLetter,
  deadLetter,
  DeadLetterField,
  listDeadLetters,
} from '@tributary/recovery';
import { jobTopic, pendingCount, publish, publishRaw, readAll, readAsConsumer, trackWorker, useRedis } from './recovery-helpers.js';

const redis = useRedis();

test('decode, validation and unhandled-type failures go to the DLQ at once, and the worker carries on', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { claimIdleMs: 60_000 });
  const handled: number[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: { job: async (m) => { handled.push(m.data.n); } }, // no handler for `other`
  });
  const junk = await publishRaw(redis.commander, topic, ['type', 'job', 'data', '{not json']);
  const invalid = await publishRaw(redis.commander, topic, ['type', 'job', 'data', '{"n":"x"}', 'id', 'bad-1']);
  const unhandled = await publish(redis.commander, topic, { type: 'other', data: { text: 'hi' } });
  const noType = await publishRaw(redis.commander, topic, ['foo', 'bar']);
  await publish(redis.commander, topic, { type: 'job', data: { n: 7 } });
  await worker.start();
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 4);
  await waitFor(() => handled.length === 1);
  const letters = await listDeadLetters(redis.client, { topic });
  const byId = new Map(letters.map((l) => [l.sourceId, l]));
  expect(byId.get(junk)).toMatchObject({ reason: 'decode', deliveries: 1, errorName: 'DecodeError', fields: { type: 'job', data: '{not json' } });
  expect(byId.get(junk)!.decodeError?.code).toBe('ERR_DECODE');
  expect(byId.get(invalid)).toMatchObject({ reason: 'validation', errorName: 'ValidationError', fields: { id: 'bad-1' } });
  expect(byId.get(unhandled)).toMatchObject({ reason: 'unhandled-type', message: { type: 'other', data: { text: 'hi' } } });
  expect(byId.get(noType)).toMatchObject({ reason: 'decode', fields: { foo: 'bar' } });
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});

test("malformed: 'leave-pending' retries them like handler errors, then max-deliveries", async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { malformed: 'leave-pending', maxDeliveries: 2, backoff: [10], claimIdleMs: 400, reclaimIntervalMs: 100 });
  const worker = trackWorker(redis, { topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery, handlers: { job: async () => undefined } });
  const outcomes: string[] = [];
  worker.on('failure', (f: WorkerEvents['failure'][0]) => outcomes.push(`${f.kind}:${f.outcome}:${f.deliveries}`));
  await publish(redis.commander, topic, { type: 'other', data: { text: 'later' } });
  await worker.start();
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 1, { timeoutMs: 5000 });
  expect(outcomes).toEqual(['unhandled-type:pending:1', 'unhandled-type:dead-lettered:2']);
  const [letter] = await listDeadLetters(redis.client, { topic });
  expect(letter).toMatchObject({ reason: 'max-deliveries', deliveries: 2 });
});

test('ctx.retry({ delayMs }) retries after the delay; ctx.deadLetter(reason) moves it now', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { claimIdleMs: 1000, reclaimIntervalMs: 500 });
  const seen: { n: number; at: number; deliveries: number }[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: {
      job: async (m, ctx) => {
        seen.push({ n: m.data.n, at: Date.now(), deliveries: ctx.deliveries });
        if (m.data.n === 1 && ctx.deliveries === 1) ctx.retry({ delayMs: 250 });
        if (m.data.n === 2) ctx.deadLetter('customer account closed');
      },
    },
  });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await publish(redis.commander, topic, { type: 'job', data: { n: 2 } });
  await worker.start();
  await waitFor(() => seen.filter((s) => s.n === 1).length === 2, { timeoutMs: 5000 });
  const ones = seen.filter((s) => s.n === 1);
  expect(ones[1]!.deliveries).toBe(2);
  expect(ones[1]!.at - ones[0]!.at).toBeGreaterThanOrEqual(230);
  expect(ones[1]!.at - ones[0]!.at).toBeLessThan(900);
  const letters = await listDeadLetters(redis.client, { topic });
  expect(letters).toHaveLength(1);
  expect(letters[0]).toMatchObject({ reason: 'explicit', errorMessage: 'customer account closed', deliveries: 1, message: { data: { n: 2 } } });
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test('a retry delay longer than claimIdleMs is capped at claimIdleMs', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { claimIdleMs: 400, reclaimIntervalMs: 100, backoff: [60_000] });
  expect(recovery.backoffFor(1)).toBe(400);
  const times: number[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: { job: async () => { times.push(Date.now()); if (times.length === 1) throw new Error('once'); } },
  });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await worker.start();
  await waitFor(() => times.length === 2, { timeoutMs: 5000 });
  expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(380);
});

test('the dead-letter move is idempotent: a second call writes nothing', async () => {
  const topic = jobTopic();
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATE', topic.keys.stream, 'g', '0', 'MKSTREAM']);
  const id = await publish(redis.commander, topic, { type: 'job', data: { n: 5 } });
  await readAsConsumer(redis.commander, topic, 'g', 'dead-consumer', 10);
  const first = await deadLetter(redis.client, { topic, group: 'g', consumer: 'ops', streamId: id, reason: 'explicit', error: new RangeError('by hand') });
  const second = await deadLetter(redis.client, { topic, group: 'g', consumer: 'ops', streamId: id, reason: 'explicit', error: new RangeError('by hand') });
  expect(first.moved).toBe(true);
  expect(first.deadLetterId).toMatch(/^\d+-\d+$/);
  expect(second).toEqual({ moved: false });
  const letters = await listDeadLetters(redis.client, { topic });
  expect(letters).toHaveLength(1);
  expect(letters[0]).toMatchObject({ deliveries: 1, consumer: 'ops', errorName: 'RangeError', errorMessage: 'by hand' });
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
  // Never-delivered or acked entries are not pending: nothing to move.
  const fresh = await publish(redis.commander, topic, { type: 'job', data: { n: 6 } });
  expect(await deadLetter(redis.client, { topic, group: 'g', consumer: 'ops', streamId: fresh, reason: 'explicit' })).toEqual({ moved: false });
});

test('error messages are truncated to maxErrorLength', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { maxDeliveries: 1, maxErrorLength: 20 });
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: { job: async () => { throw new Error('x'.repeat(500)); } },
  });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await worker.start();
  await waitFor(async () => (await readAll(redis.commander, topic.keys.deadLetter)).length === 1);
  const [raw] = await readAll(redis.commander, topic.keys.deadLetter);
  expect(raw!.fields[DeadLetterField.ErrorMessage]!.length).toBe(20);
  expect(raw!.fields[DeadLetterField.ErrorMessage]!.endsWith('…')).toBe(true);
});

test('onDeadLetter is called for each dead letter; a throwing hook loses nothing', async () => {
  const topic = jobTopic();
  const hooked: DeadLetter[] = [];
  const recovery = createRecovery(redis.client, {
    maxDeliveries: 1,
    onDeadLetter: async (letter) => {
      hooked.push(letter);
      if (letter.reason === 'decode') throw new Error('hook broke');
    },
  });
  const errors: unknown[] = [];
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: { job: async () => { throw new Error('dead'); } },
  });
  worker.on('worker-error', (e: WorkerEvents['worker-error'][0]) => errors.push(e.error));
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await publishRaw(redis.commander, topic, ['type', 'job', 'data', '<<<']);
  await worker.start();
  await waitFor(() => hooked.length === 2);
  expect(hooked.map((l) => l.reason).sort()).toEqual(['decode', 'max-deliveries']);
  const dead = hooked.find((l) => l.reason === 'max-deliveries')!;
  expect(dead.message).toMatchObject({ type: 'job', data: { n: 1 } });
  expect(dead.deadLetterId).toMatch(/^\d+-\d+$/);
  expect(dead.lastFailureTs).toBeGreaterThan(0);
  await waitFor(() => errors.length === 1);
  expect((errors[0] as Error).message).toBe('hook broke');
  expect(await listDeadLetters(redis.client, { topic })).toHaveLength(2);
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});

test('an entry read back from its own pending list with no data left is dead-lettered as deleted, loudly', async () => {
  const topic = jobTopic();
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATE', topic.keys.stream, 'g', '0', 'MKSTREAM']);
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  const gone = await publish(redis.commander, topic, { type: 'job', data: { n: 2 } });
  await readAsConsumer(redis.commander, topic, 'g', 'c1', 10); // c1 crashed after reading
  await redis.commander.send(topic.keys.stream, ['XDEL', topic.keys.stream, gone]);
  const recovery = createRecovery(redis.client, { claimIdleMs: 60_000 });
  const handled: number[] = [];
  const lost: unknown[] = [];
  // Restarted under the same name: it re-reads its own pending list first.
  const worker = trackWorker(redis, { topic, group: 'g', consumer: 'c1', failureHandler: recovery, handlers: { job: async (m) => { handled.push(m.data.n); } } });
  worker.on('lost', (e) => lost.push(e));
  await worker.start();
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 1);
  await waitFor(() => handled.length === 1 && lost.length === 1);
  const [letter] = await listDeadLetters(redis.client, { topic });
  expect(letter).toMatchObject({ sourceId: gone, reason: 'deleted', fields: {}, deliveries: 1 }); // reading a deleted entry back does not bump its counter
  expect(lost[0]).toMatchObject({ streamIds: [gone], reason: 'deleted', deadLetterIds: [letter!.deadLetterId] });
  expect(handled).toEqual([1]);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});
