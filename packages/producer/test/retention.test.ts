import { createProducer } from '@tributary/producer';
import { created, ordersTopic, payloads, useRedis, xlen, xrange } from './fixtures.js';

const redis = useRedis();

/** Entries per radix-tree node (`stream-node-max-entries`, default 100): the slack of `~`. */
async function nodeSize(): Promise<number> {
  const reply = (await redis.client.sendCommand(['CONFIG', 'GET', 'stream-node-max-entries'])) as unknown;
  const flat = Array.isArray(reply) ? reply : Object.entries(reply as Record<string, string>).flat();
  return Number(flat[1]);
}

/** Appends `count` entries with explicit stream IDs at time `ms`, as another tool would. */
async function appendOld(key: string, ms: number, count: number): Promise<void> {
  for (let seq = 0; seq < count; seq++) {
    await redis.client.sendCommand(['XADD', key, `${ms}-${seq}`, 'type', 'order.created', 'data', '{"orderId":"old","amount":0}']);
  }
}

describe('retention', () => {
  it('maxLen (approximate, the default mode) keeps the stream bounded', async () => {
    const topic = ordersTopic({ maxLen: 100 });
    const producer = createProducer(redis.redis, { topic });
    await Promise.all(Array.from({ length: 2000 }, (_, n) => producer.publish(created(n))));
    const length = await xlen(redis.client, topic.keys.stream);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(100 + (await nodeSize()));
  });

  it('exact maxLen keeps exactly the newest n', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic, retention: { maxLen: 50, exact: true } });
    await Promise.all(Array.from({ length: 500 }, (_, n) => producer.publish(created(n))));
    expect(await xlen(redis.client, topic.keys.stream)).toBe(50);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 50 }, (_, k) => created(450 + k).data));
  });

  it('maxAgeMs trims entries whose stream-ID time is older (MINID)', async () => {
    const topic = ordersTopic();
    await appendOld(topic.keys.stream, Date.now() - 3_600_000, 5);
    const producer = createProducer(redis.redis, { topic, retention: { maxAgeMs: 60_000, exact: true } });
    const { streamId } = await producer.publish(created(1));
    expect((await xrange(redis.client, topic.keys.stream)).map(([id]) => id)).toEqual([streamId]);
  });

  it('approximate maxAgeMs removes whole nodes of old entries', async () => {
    const topic = ordersTopic();
    const size = await nodeSize();
    await appendOld(topic.keys.stream, Date.now() - 3_600_000, size * 3);
    const producer = createProducer(redis.redis, { topic, retention: { maxAgeMs: 60_000 } });
    await producer.publish(created(1));
    // `~` leaves at most one partly old node behind.
    expect(await xlen(redis.client, topic.keys.stream)).toBeLessThanOrEqual(size + 1);
  });

  it("'none' never trims", async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    await Promise.all(Array.from({ length: 300 }, (_, n) => producer.publish(created(n))));
    expect(await xlen(redis.client, topic.keys.stream)).toBe(300);
  });

  it('takes the topic retention by default and a per-publish override', async () => {
    const topic = ordersTopic({ maxLen: 3, exact: true });
    const producer = createProducer(redis.redis, { topic });
    for (let n = 0; n < 5; n++) await producer.publish(created(n));
    expect(await xlen(redis.client, topic.keys.stream)).toBe(3);
    await producer.publish(created(5), { retention: 'none' });
    expect(await xlen(redis.client, topic.keys.stream)).toBe(4);
    await producer.publish(created(6), { retention: { maxLen: 2, exact: true } });
    expect(await payloads(redis.client, topic.keys.stream)).toEqual([created(5).data, created(6).data]);
  });

  it('applies to publishMany and to idempotent publishes', async () => {
    const topic = ordersTopic({ maxLen: 10, exact: true });
    const producer = createProducer(redis.redis, { topic });
    const results = await producer.publishMany(Array.from({ length: 100 }, (_, n) => created(n)), { chunkSize: 30 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 10 }, (_, k) => created(90 + k).data));
    await producer.publishMany([created(100), created(101)], { retention: { maxLen: 1, exact: true } });
    expect(await payloads(redis.client, topic.keys.stream)).toEqual([created(101).data]);
    for (let n = 0; n < 20; n++) await producer.publish(created(200 + n), { idempotencyKey: `k-${n}` });
    expect(await xlen(redis.client, topic.keys.stream)).toBe(10);
  });
});
