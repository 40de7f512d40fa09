// Dead-letter stream operations: list (decoded), redrive (all, filter, ids, dry run, rate,
// idempotent, keeps the application id), purge; plus redriven messages being processed again.
import { waitFor } from '@tributary/test-utils';
import {
  createRecovery,
  deadLetter,
  listDeadLetters,
  purgeDeadLetters,
  redrive,
} from '@tributary/recovery';
import { jobTopic, publish, publishRaw, readAll, readAsConsumer, trackWorker, useRedis } from './recovery-helpers.js';

const redis = useRedis();

/** Publishes `n` job messages, reads them as a dead consumer and dead-letters each. */
async function fillDeadLetters(topic: ReturnType<typeof jobTopic>, n: number): Promise<string[]> {
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATE', topic.keys.stream, 'g', '$', 'MKSTREAM']);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await publish(redis.commander, topic, { type: 'job', data: { n: i }, id: `app-${i}` }));
  await readAsConsumer(redis.commander, topic, 'g', 'dead', n);
  const dlqIds: string[] = [];
  for (const [i, id] of ids.entries()) {
    const r = await deadLetter(redis.client, { topic, group: 'g', consumer: 'dead', streamId: id, reason: i % 2 === 0 ? 'max-deliveries' : 'validation', error: new Error(`e${i}`) });
    dlqIds.push(r.deadLetterId!);
  }
  return dlqIds;
}

test('listDeadLetters decodes entries, pages, and reads newest first', async () => {
  const topic = jobTopic();
  const dlqIds = await fillDeadLetters(topic, 5);
  const all = await listDeadLetters(redis.client, { topic });
  expect(all.map((l) => l.deadLetterId)).toEqual(dlqIds);
  expect(all.map((l) => l.message?.id)).toEqual(['app-0', 'app-1', 'app-2', 'app-3', 'app-4']);
  expect(all[1]).toMatchObject({ reason: 'validation', errorMessage: 'e1', group: 'g', consumer: 'dead', deliveries: 1 });
  expect(all[0]!.fields).toEqual({ type: 'job', data: '{"n":0}', id: 'app-0', ts: expect.stringMatching(/^\d+$/) });
  const page = await listDeadLetters(redis.client, { topic, start: `(${dlqIds[1]}`, count: 2 });
  expect(page.map((l) => l.deadLetterId)).toEqual(dlqIds.slice(2, 4));
  const newest = await listDeadLetters(redis.client, { topic, reverse: true, count: 2 });
  expect(newest.map((l) => l.deadLetterId)).toEqual([dlqIds[4], dlqIds[3]]);
  expect(await listDeadLetters(redis.client, { topic: jobTopic() })).toEqual([]);
});

test('redrive: dry run writes nothing, then moves all back keeping the application id, idempotently', async () => {
  const topic = jobTopic();
  const dlqIds = await fillDeadLetters(topic, 6);
  const streamBefore = await readAll(redis.commander, topic.keys.stream);
  const progress: { moved: number; total: number }[] = [];
  const dry = await redrive(redis.client, { topic, dryRun: true });
  expect(dry).toMatchObject({ dryRun: true, moved: 0, ids: dlqIds, streamIds: [] });
  expect(await readAll(redis.commander, topic.keys.stream)).toEqual(streamBefore);
  expect(await listDeadLetters(redis.client, { topic })).toHaveLength(6);

  const done = await redrive(redis.client, { topic, onProgress: (p) => progress.push(p) });
  expect(done).toMatchObject({ dryRun: false, moved: 6, skipped: 0, ids: dlqIds });
  expect(progress.at(-1)).toEqual({ moved: 6, total: 6 });
  expect(await listDeadLetters(redis.client, { topic })).toEqual([]);
  const stream = await readAll(redis.commander, topic.keys.stream);
  const redriven = stream.slice(6);
  expect(redriven.map((e) => e.id)).toEqual(done.streamIds);
  expect(redriven.map((e) => e.fields['id'])).toEqual(['app-0', 'app-1', 'app-2', 'app-3', 'app-4', 'app-5']);
  for (const [i, entry] of redriven.entries()) {
    expect(entry.fields).toEqual(streamBefore[i]!.fields); // the original fields, no dlq:* metadata
  }
  expect(await redrive(redis.client, { topic })).toMatchObject({ moved: 0, skipped: 0 });
  expect(await redrive(redis.client, { topic, ids: dlqIds })).toMatchObject({ moved: 0, skipped: 6 });
});

test('redrive by filter, by ids and with a limit', async () => {
  const topic = jobTopic();
  const dlqIds = await fillDeadLetters(topic, 8);
  const byFilter = await redrive(redis.client, { topic, filter: (l) => l.reason === 'validation' });
  expect(byFilter.moved).toBe(4);
  expect(byFilter.ids).toEqual([dlqIds[1], dlqIds[3], dlqIds[5], dlqIds[7]]);
  const byIds = await redrive(redis.client, { topic, ids: [dlqIds[0]!, dlqIds[1]!, '1-1'] });
  expect(byIds).toMatchObject({ moved: 1, skipped: 2, ids: [dlqIds[0]] });
  const limited = await redrive(redis.client, { topic, limit: 2 });
  expect(limited.ids).toEqual([dlqIds[2], dlqIds[4]]);
  expect((await listDeadLetters(redis.client, { topic })).map((l) => l.deadLetterId)).toEqual([dlqIds[6]]);
  const typed = await redrive(redis.client, { topic, filter: (l) => l.message?.type === 'job' && l.message.data.n === 6 });
  expect(typed.moved).toBe(1);
});

test('redrive respects ratePerSecond (roughly)', async () => {
  const topic = jobTopic();
  await fillDeadLetters(topic, 12);
  const started = Date.now();
  const result = await redrive(redis.client, { topic, ratePerSecond: 20 });
  const elapsed = Date.now() - started;
  expect(result.moved).toBe(12);
  // 12 entries at 20/s: the last batch may start at 11/20 s.
  expect(elapsed).toBeGreaterThanOrEqual(500);
  expect(elapsed).toBeLessThan(3000);
});

test('lost-data records are never redriven', async () => {
  const topic = jobTopic();
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATE', topic.keys.stream, 'g', '$', 'MKSTREAM']);
  const id = await publishRaw(redis.commander, topic, ['type', 'job', 'data', '{"n":1}']);
  await readAsConsumer(redis.commander, topic, 'g', 'dead', 1);
  await redis.commander.send(topic.keys.stream, ['XDEL', topic.keys.stream, id]);
  const r = await deadLetter(redis.client, { topic, group: 'g', consumer: 'dead', streamId: id, reason: 'trimmed' });
  expect(r.moved).toBe(true);
  expect(await redrive(redis.client, { topic })).toMatchObject({ moved: 0, skipped: 1 });
  expect(await listDeadLetters(redis.client, { topic })).toHaveLength(1);
});

test('redriven messages are processed again by a worker', async () => {
  const topic = jobTopic();
  let broken = true;
  const done: string[] = [];
  const recovery = createRecovery(redis.client, { maxDeliveries: 1 });
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', failureHandler: recovery,
    handlers: { job: async (m) => { if (broken) throw new Error('downstream down'); done.push(m.id); } },
  });
  await worker.start();
  for (let i = 0; i < 3; i++) await publish(redis.commander, topic, { type: 'job', data: { n: i }, id: `order-${i}` });
  await waitFor(async () => (await listDeadLetters(redis.client, { topic })).length === 3);
  broken = false;
  expect((await redrive(redis.client, { topic })).moved).toBe(3);
  await waitFor(() => done.length === 3);
  expect(done.sort()).toEqual(['order-0', 'order-1', 'order-2']);
  expect(await listDeadLetters(redis.client, { topic })).toEqual([]);
});

test('purgeDeadLetters by ids, by age, and all', async () => {
  const topic = jobTopic();
  const dlqIds = await fillDeadLetters(topic, 6);
  expect(await purgeDeadLetters(redis.client, { topic, ids: [dlqIds[0]!, dlqIds[1]!, '1-1'] })).toBe(2);
  expect(await purgeDeadLetters(redis.client, { topic, olderThanMs: 60_000 })).toBe(0);
  await new Promise((r) => setTimeout(r, 30));
  expect(await purgeDeadLetters(redis.client, { topic, olderThanMs: 10 })).toBe(4);
  await fillDeadLetters(jobTopic(), 1);
  const more = jobTopic();
  await fillDeadLetters(more, 3);
  expect(await purgeDeadLetters(redis.client, { topic: more, all: true })).toBe(3);
  expect(await listDeadLetters(redis.client, { topic: more })).toEqual([]);
  await expect(purgeDeadLetters(redis.client, { topic: more })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  await expect(purgeDeadLetters(redis.client, { topic: more, all: true, olderThanMs: 5 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
});

test('invalid arguments name the field', async () => {
  const topic = jobTopic();
  await expect(redrive(redis.client, { topic, limit: 0 })).rejects.toMatchObject({ field: 'RedriveOptions.limit' });
  await expect(redrive(redis.client, { topic, ratePerSecond: -1 })).rejects.toMatchObject({ field: 'RedriveOptions.ratePerSecond' });
  await expect(listDeadLetters(redis.client, { topic, count: 0 })).rejects.toMatchObject({ field: 'ListDeadLettersOptions.count' });
  await expect(listDeadLetters(redis.client, { topic, start: 'yesterday' })).rejects.toMatchObject({ field: 'ListDeadLettersOptions.start' });
  await expect(deadLetter(redis.client, { topic, group: 'g', consumer: 'c', streamId: 'x', reason: 'explicit' })).rejects.toMatchObject({ field: 'DeadLetterOptions.streamId' });
  await expect(deadLetter(redis.client, { topic, group: 'g', consumer: 'c', streamId: '1-1', reason: 'because' as never })).rejects.toMatchObject({ field: 'DeadLetterOptions.reason' });
  await expect(deadLetter(redis.client, { topic, group: 'a b', consumer: 'c', streamId: '1-1', reason: 'explicit' })).rejects.toMatchObject({ field: 'DeadLetterOptions.group' });
});
