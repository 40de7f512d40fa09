// Pending inspection, stale-consumer cleanup (also racing a live worker), trim detection and
// the safe trim.
import { waitFor } from '@tributary/test-utils';
import {
  checkTrim,
  cleanupConsumers,
  createRecovery,
  listDeadLetters,
  listPending,
  pendingSummary,
  safeTrim,
} from '@tributary/recovery';
import { agePending, jobTopic, pendingCount, publish, readAll, readAsConsumer, sleep, trackWorker, useRedis } from './recovery-helpers.js';

const redis = useRedis();

async function createGroup(topic: ReturnType<typeof jobTopic>, group = 'g', start = '0'): Promise<void> {
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATE', topic.keys.stream, group, start, 'MKSTREAM']);
}

async function publishMany(topic: ReturnType<typeof jobTopic>, n: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await publish(redis.commander, topic, { type: 'job', data: { n: from + i } }));
  return ids;
}

test('pendingSummary and listPending show counts, holders, idle times and delivery counts', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  expect(await pendingSummary(redis.client, { topic, group: 'g' })).toEqual({ count: 0, consumers: [] });
  const ids = await publishMany(topic, 6);
  await readAsConsumer(redis.commander, topic, 'g', 'alice', 4);
  await readAsConsumer(redis.commander, topic, 'g', 'bob', 2);
  await agePending(redis.commander, topic, 'g', [ids[0]!]);
  const summary = await pendingSummary(redis.client, { topic, group: 'g' });
  expect(summary).toMatchObject({ count: 6, minId: ids[0], maxId: ids[5] });
  expect(summary.oldestIdleMs).toBeGreaterThanOrEqual(3_600_000);
  expect(summary.consumers.sort((a, b) => a.name.localeCompare(b.name))).toEqual([{ name: 'alice', pending: 4 }, { name: 'bob', pending: 2 }]);

  const all = await listPending(redis.client, { topic, group: 'g' });
  expect(all.map((p) => p.streamId)).toEqual(ids);
  expect(all[0]).toMatchObject({ consumer: 'alice', deliveries: 1 });
  expect(all[0]!.idleMs).toBeGreaterThanOrEqual(3_600_000);
  expect((await listPending(redis.client, { topic, group: 'g', consumer: 'bob' })).map((p) => p.streamId)).toEqual(ids.slice(4));
  expect((await listPending(redis.client, { topic, group: 'g', minIdleMs: 60_000 })).map((p) => p.streamId)).toEqual([ids[0]]);
  expect((await listPending(redis.client, { topic, group: 'g', start: `(${ids[1]}`, end: ids[3], count: 10 })).map((p) => p.streamId)).toEqual(ids.slice(2, 4));
  expect(await listPending(redis.client, { topic, group: 'g', count: 2 })).toHaveLength(2);
  await expect(pendingSummary(redis.client, { topic, group: 'nope' })).rejects.toMatchObject({ code: 'ERR_NOGROUP' });
  await expect(listPending(redis.client, { topic, group: 'g', count: -1 })).rejects.toMatchObject({ field: 'ListPendingOptions.count' });
});

test('cleanupConsumers deletes only idle consumers with zero pending entries', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  await publishMany(topic, 3);
  await readAsConsumer(redis.commander, topic, 'g', 'holder', 3); // has pending entries
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATECONSUMER', topic.keys.stream, 'g', 'idle-empty']); // zero pending
  await sleep(120);
  await redis.commander.send(topic.keys.stream, ['XGROUP', 'CREATECONSUMER', topic.keys.stream, 'g', 'active-empty']); // zero pending, just created
  const result = await cleanupConsumers(redis.client, { topic, group: 'g', idleMs: 100 });
  expect(result.deleted).toEqual(['idle-empty']);
  expect(result.kept.map((k) => k.name).sort()).toEqual(['active-empty', 'holder']);
  expect(result.kept.find((k) => k.name === 'holder')).toMatchObject({ pending: 3 });
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(3);
});

test('cleanup racing a live worker loses nothing', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { claimIdleMs: 5000, reclaimIntervalMs: 200 });
  const done = new Set<number>();
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'racer', startId: '0', concurrency: 20, blockMs: 50, failureHandler: recovery,
    handlers: { job: async (m) => { await sleep(m.data.n % 3); done.add(m.data.n); } },
  });
  await worker.start();
  let stop = false;
  let deletions = 0;
  const cleaner = (async () => {
    while (!stop) {
      deletions += (await cleanupConsumers(redis.client, { topic, group: 'g', idleMs: 0 })).deleted.length;
    }
  })();
  const key = topic.keys.stream;
  for (let i = 0; i < 2000; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => redis.commander.send(key, ['XADD', key, '*', 'type', 'job', 'data', JSON.stringify({ n: i + j })])));
    await sleep(5);
    // Halfway, make sure the cleaner has deleted the live worker's consumer at least once (on
    // a loaded machine the worker may never be seen idle with nothing pending otherwise): the
    // second half is then read by a consumer deleted under it.
    if (i === 1000) await waitFor(() => deletions > 0, { timeoutMs: 20_000 });
  }
  await waitFor(() => done.size === 2000, { timeoutMs: 30_000 });
  stop = true;
  await cleaner;
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
  expect(await listDeadLetters(redis.client, { topic })).toEqual([]);
  expect(deletions).toBeGreaterThan(0); // the race really happened
});

test('checkTrim detects MAXLEN-trimmed undelivered and pending entries (Redis 7)', async () => {
  const topic = jobTopic();
  await createGroup(topic, 'fast');
  await createGroup(topic, 'slow');
  const ids = await publishMany(topic, 10);
  expect(await checkTrim(redis.client, { topic })).toMatchObject({ unsafe: false });
  await readAsConsumer(redis.commander, topic, 'fast', 'f', 10);
  await redis.commander.send(topic.keys.stream, ['XACK', topic.keys.stream, 'fast', ...ids.slice(0, 5)]); // 5 still pending
  await readAsConsumer(redis.commander, topic, 'slow', 's', 2); // read 2, 8 undelivered
  await redis.commander.send(topic.keys.stream, ['XTRIM', topic.keys.stream, 'MAXLEN', '=', '3']);
  const report = await checkTrim(redis.client, { topic });
  expect(report.unsafe).toBe(true);
  expect(report.firstEntryId).toBe(ids[7]);
  expect(report.maxDeletedEntryId).toBeUndefined(); // only XDEL sets it
  const fast = report.groups.find((g) => g.name === 'fast')!;
  const slow = report.groups.find((g) => g.name === 'slow')!;
  expect(fast).toMatchObject({ lastDeliveredId: ids[9], undeliveredDeleted: false, pendingDeleted: 2 });
  expect(slow).toMatchObject({ lastDeliveredId: ids[1], undeliveredDeleted: true, pendingDeleted: 2 });
  expect(await checkTrim(redis.client, { topic: jobTopic() })).toEqual({ unsafe: false, groups: [] });
  // XDEL of an entry the fast group has not received yet.
  const later = await publishMany(topic, 2, 100);
  await redis.commander.send(topic.keys.stream, ['XDEL', topic.keys.stream, later[0]!]);
  const again = await checkTrim(redis.client, { topic });
  expect(again.maxDeletedEntryId).toBe(later[0]);
  expect(again.groups.find((g) => g.name === 'fast')).toMatchObject({ undeliveredDeleted: true });
});

test('a worker reports trimming past its group position (undelivered-trimmed event)', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  await publishMany(topic, 10);
  const recovery = createRecovery(redis.client, { claimIdleMs: 5000, reclaimIntervalMs: 50 });
  const events: unknown[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const seen: number[] = [];
  // concurrency 1, first handler held: the group's position stays at the first entry.
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c', concurrency: 1, failureHandler: recovery,
    handlers: { job: async (m) => { seen.push(m.data.n); await held; } },
  });
  worker.on('undelivered-trimmed', (e) => events.push(e));
  await worker.start();
  await waitFor(() => seen.length === 1);
  await redis.commander.send(topic.keys.stream, ['XTRIM', topic.keys.stream, 'MAXLEN', '=', '4']);
  await waitFor(() => events.length === 1);
  const [first] = await readAll(redis.commander, topic.keys.stream);
  expect(events[0]).toMatchObject({ group: 'g', firstEntryId: first!.id });
  await sleep(200);
  expect(events).toHaveLength(1); // reported once per new loss
  release();
  await waitFor(() => seen.length === 5);
  expect(seen).toEqual([0, 6, 7, 8, 9]);
});

test('safeTrim never deletes pending or undelivered entries', async () => {
  const topic = jobTopic();
  const key = topic.keys.stream;
  const ids = await publishMany(topic, 20);
  // No group: trims as asked.
  const noGroup = jobTopic();
  await publishMany(noGroup, 10);
  expect(await safeTrim(redis.client, { topic: noGroup, maxLen: 4 })).toMatchObject({ trimmed: 6 });

  await createGroup(topic, 'a');
  await createGroup(topic, 'b');
  await readAsConsumer(redis.commander, topic, 'a', 'x', 20);
  await redis.commander.send(key, ['XACK', key, 'a', ...ids.filter((_, i) => i !== 7)]); // a: ids[7] pending
  await readAsConsumer(redis.commander, topic, 'b', 'y', 12);
  await redis.commander.send(key, ['XACK', key, 'b', ...ids.slice(0, 12)]); // b: delivered up to ids[11]

  // Asked to keep 3: but a still needs ids[7], so only ids[0..6] go.
  expect(await safeTrim(redis.client, { topic, maxLen: 3 })).toEqual({ trimmed: 7, minId: ids[7] });
  expect((await readAll(redis.commander, key)).map((e) => e.id)).toEqual(ids.slice(7));
  await redis.commander.send(key, ['XACK', key, 'a', ids[7]!]);
  // Now b's undelivered entries (after ids[11]) bound it.
  const second = await safeTrim(redis.client, { topic, maxLen: 3 });
  expect(second.trimmed).toBe(5);
  expect((await readAll(redis.commander, key)).map((e) => e.id)).toEqual(ids.slice(12));
  // Age bound: nothing is older than an hour.
  expect(await safeTrim(redis.client, { topic, maxAgeMs: 3_600_000 })).toEqual({ trimmed: 0, minId: expect.any(String) });
  // Within bounds: nothing to do.
  expect(await safeTrim(redis.client, { topic, maxLen: 100 })).toEqual({ trimmed: 0, minId: '' });
  expect(await safeTrim(redis.client, { topic: jobTopic(), maxLen: 1 })).toEqual({ trimmed: 0, minId: '' });
  await expect(safeTrim(redis.client, { topic })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  expect(await checkTrim(redis.client, { topic })).toMatchObject({ unsafe: false });
});

test('safeTrim by age trims old entries when every group is done with them', async () => {
  const topic = jobTopic();
  await createGroup(topic);
  const old = await publishMany(topic, 5);
  await sleep(300);
  const recent = await publishMany(topic, 3, 100);
  await readAsConsumer(redis.commander, topic, 'g', 'c', 100);
  await redis.commander.send(topic.keys.stream, ['XACK', topic.keys.stream, 'g', ...old, ...recent]);
  const result = await safeTrim(redis.client, { topic, maxAgeMs: 200 });
  expect(result.trimmed).toBe(5);
  expect((await readAll(redis.commander, topic.keys.stream)).map((e) => e.id)).toEqual(recent);
});
