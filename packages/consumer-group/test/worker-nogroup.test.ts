/**
 * NOGROUP under a running worker (the group destroyed or the stream deleted), and read errors.
 */
import { ErrorCode } from '@tributary/core';
import { destroyGroup, getGroupInfo, type WorkerEvents } from '@tributary/consumer-group';
import { waitFor } from '@tributary/test-utils';
import { pingTopic, pings, publish, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

test.each([
  ['XGROUP DESTROY', 'destroy'],
  ['DEL of the stream', 'del'],
] as const)("%s under a running worker: 'group-recreated' and new messages are still processed", async (_label, how) => {
  const topic = pingTopic();
  const seen = new Tally();
  const recreated: WorkerEvents['group-recreated'][0][] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 200, handlers: { ping: (m) => { seen.add(m.data.n); } } });
  worker.on('group-recreated', (e) => recreated.push(e));
  await worker.start();
  await publish(redis.client, topic, pings(10));
  await waitFor(() => seen.distinct === 10);

  if (how === 'destroy') expect(await destroyGroup(redis.client, topic, 'g')).toBe(true);
  else await redis.commander.send(topic.keys.stream, ['DEL', topic.keys.stream]);
  await waitFor(() => recreated.length === 1, { timeoutMs: 5000 });
  expect(recreated[0]).toMatchObject({ group: 'g', startId: '0' });
  expect(recreated[0]!.error.code).toBe(ErrorCode.NoGroup);
  expect(await getGroupInfo(redis.client, topic, 'g')).toBeDefined();

  await publish(redis.client, topic, pings(10, 100));
  await waitFor(() => [...seen.counts.keys()].filter((n) => n >= 100).length === 10);
  expect(worker.running).toBe(true);
});

test("onNoGroup 'fail': the worker reports the NOGROUP error and stops", async () => {
  const topic = pingTopic();
  const errors: WorkerEvents['worker-error'][0][] = [];
  const recreated: unknown[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 200, onNoGroup: 'fail', handlers: { ping: () => undefined } });
  worker.on('worker-error', (e) => errors.push(e));
  worker.on('group-recreated', (e) => recreated.push(e));
  const stopped = new Promise((resolve) => worker.once('stopped', resolve));
  await worker.start();
  await destroyGroup(redis.client, topic, 'g');
  await stopped;
  expect(worker.running).toBe(false);
  expect(recreated).toEqual([]);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ stage: 'read', error: { code: ErrorCode.NoGroup } });
  expect(await getGroupInfo(redis.client, topic, 'g')).toBeUndefined();
  await worker.stop(); // idempotent after stopping on its own
});

test("createGroup: false on a missing group with onNoGroup 'fail' stops at the first read", async () => {
  const topic = pingTopic();
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 200, createGroup: false, onNoGroup: 'fail', handlers: { ping: () => undefined } });
  const stopped = new Promise((resolve) => worker.once('stopped', resolve));
  await worker.start();
  await stopped;
  expect(await getGroupInfo(redis.client, topic, 'g')).toBeUndefined();
});

test('a read error (the key replaced by a string) is reported and retried; the worker resumes when the stream is back', async () => {
  const topic = pingTopic();
  const seen = new Tally();
  const errors: WorkerEvents['worker-error'][0][] = [];
  const recreated: unknown[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 200, handlers: { ping: (m) => { seen.add(m.data.n); } } });
  worker.on('worker-error', (e) => errors.push(e));
  worker.on('group-recreated', (e) => recreated.push(e));
  await worker.start();
  const key = topic.keys.stream;
  await redis.commander.send(key, ['DEL', key]);
  await redis.commander.send(key, ['SET', key, 'not a stream']);
  await waitFor(() => errors.length >= 2, { timeoutMs: 5000 });
  expect(errors.every((e) => e.stage === 'read' && (e.error as Error).message.includes('WRONGTYPE'))).toBe(true);
  expect(worker.running).toBe(true);
  await redis.commander.send(key, ['DEL', key]);
  await waitFor(() => recreated.length === 1, { timeoutMs: 5000 });
  await publish(redis.client, topic, pings(5));
  await waitFor(() => seen.distinct === 5);
  const t0 = Date.now();
  await worker.stop();
  expect(Date.now() - t0).toBeLessThan(1000);
});
