import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { defineTopic, type RedisClientLike, type Topic } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { type RedisCluster, startRedisCluster, uniqueName } from '@tributary/test-utils';
import { createCluster } from 'redis';
import { created, orderTypes, recordCommands } from './fixtures.js';

type TestCluster = ReturnType<typeof createCluster>;

let cluster: RedisCluster;
let client: TestCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = createCluster({ rootNodes: [...cluster.rootNodes] });
  client.on('error', () => {
    // Failures surface as rejected commands in the tests.
  });
  await client.connect();
}, 120_000);

afterAll(async () => {
  if (client?.isOpen) await client.close();
  await cluster?.stop();
});

const send = async (key: string, args: string[]): Promise<unknown> => client.sendCommand(key, true, args);

/** The port of the master serving `key`'s slot. */
async function ownerOf(key: string): Promise<number> {
  const slot = Number(await send(key, ['CLUSTER', 'KEYSLOT', key]));
  const ranges = (await send(key, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number, ...unknown[]]][];
  const range = ranges.find(([from, to]) => slot >= Number(from) && slot <= Number(to));
  if (!range) throw new Error(`no node serves slot ${slot}`);
  return Number(range[2][1]);
}

/** Three topics whose streams live on three different masters. */
async function topicsOnEveryMaster(): Promise<Topic<typeof orderTypes>[]> {
  const byOwner = new Map<number, Topic<typeof orderTypes>>();
  while (byOwner.size < 3) {
    const topic = defineTopic({ name: uniqueName('orders'), types: orderTypes, retention: { maxLen: 1000 } });
    const owner = await ownerOf(topic.keys.stream);
    if (!byOwner.has(owner)) byOwner.set(owner, topic);
  }
  return [...byOwner.values()];
}

describe('on Redis Cluster', () => {
  it('publishes, batches and dedupes on topics spread over every master', async () => {
    const topics = await topicsOnEveryMaster();
    for (const topic of topics) {
      const producer = createProducer(client as unknown as RedisClientLike, { topic });
      expect(producer.topic).toBe(topic);
      const single = await Promise.all([0, 1, 2].map((n) => producer.publish(created(n))));
      const many = await producer.publishMany(Array.from({ length: 120 }, (_, n) => created(3 + n)), { chunkSize: 50 });
      expect(many.every((r) => r.ok)).toBe(true);
      const first = await producer.publish(created(200), { idempotencyKey: 'order-200' });
      const again = await producer.publish(created(200), { idempotencyKey: 'order-200' });
      expect(again).toEqual({ ...first, duplicate: true });
      await pipeline(Readable.from([created(201), created(202)]), producer.writable());
      await producer.close();

      const entries = (await send(topic.keys.stream, ['XRANGE', topic.keys.stream, '-', '+'])) as [string, string[]][];
      expect(entries).toHaveLength(3 + 120 + 1 + 2);
      expect(entries.slice(0, 3).map(([id]) => id)).toEqual(single.map((r) => r.streamId));
      expect(entries.slice(3, 123).map(([id]) => id)).toEqual(many.map((r) => (r.ok ? r.streamId : '')));
      expect(await send(topic.keys.stream, ['GET', topic.keys.idempotency('order-200')])).toBe(first.streamId);
    }
  });

  it('reports NOMKSTREAM on a missing stream and retention like standalone', async () => {
    const [topic] = await topicsOnEveryMaster();
    const producer = createProducer(client as unknown as RedisClientLike, { topic: topic!, noMkStream: true, retention: { maxLen: 5, exact: true } });
    await expect(producer.publish(created(1))).rejects.toMatchObject({ code: 'ERR_REDIS', data: { reason: 'stream-missing' } });
    await createProducer(client as unknown as RedisClientLike, { topic: topic! }).publish(created(0));
    const results = await producer.publishMany(Array.from({ length: 20 }, (_, n) => created(n)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(Number(await send(topic!.keys.stream, ['XLEN', topic!.keys.stream]))).toBe(5);
  });

  it('batches concurrent publishes into script calls on each topic’s node, in call order', async () => {
    const topics = await topicsOnEveryMaster();
    for (const topic of topics) {
      const { redis: recorded, sent } = recordCommands(client as unknown as RedisClientLike);
      const producer = createProducer(recorded, { topic, retention: 'none', maxBatchSize: 100 });
      // With maxBatchSize 100, batching starts once 100 are in flight.
      const count = 100 + 250;
      const results = await Promise.all(Array.from({ length: count }, (_, n) => producer.publish(created(n))));
      expect(sent).toEqual([...Array.from({ length: 100 }, () => 'XADD'), 'batch×100', 'batch×100', 'batch×50']);
      const entries = (await send(topic.keys.stream, ['XRANGE', topic.keys.stream, '-', '+'])) as [string, string[]][];
      expect(entries.map(([id]) => id)).toEqual(results.map((r) => r.streamId));
      expect(entries.map(([, fields]) => JSON.parse(fields[3]!) as unknown)).toEqual(Array.from({ length: count }, (_, n) => created(n).data));

      // A failing batch rejects each of its publishes and writes nothing.
      const missing = defineTopic({ name: `${topic.name}-missing`, types: orderTypes });
      const noMk = createProducer(recorded, { topic: missing, noMkStream: true, maxBatchSize: 2 });
      const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => noMk.publish(created(n))));
      for (const s of settled) expect(s).toMatchObject({ status: 'rejected', reason: { code: 'ERR_REDIS', data: { reason: 'stream-missing', written: false } } });
      expect(Number(await send(missing.keys.stream, ['EXISTS', missing.keys.stream]))).toBe(0);
      expect(sent.slice(-2)).toEqual(['XADD', 'batch×2']);
      await producer.close();
    }
  });
});
