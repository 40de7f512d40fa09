import { ErrorCode } from '@tributary/core';
import { DEFAULT_IDEMPOTENCY_TTL_MS, createProducer } from '@tributary/producer';
import { waitFor } from '@tributary/test-utils';
import { created, exists, ordersTopic, useRedis, xlen, xrange } from './fixtures.js';

const redis = useRedis();

describe('idempotency key', () => {
  it('writes once: the second publish is a duplicate with the first entry', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const first = await producer.publish(created(1), { idempotencyKey: 'order-1' });
    const second = await producer.publish(created(2), { idempotencyKey: 'order-1' });
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ streamId: first.streamId, id: first.id, duplicate: true });
    const entries = await xrange(redis.client, topic.keys.stream);
    expect(entries.map(([id]) => id)).toEqual([first.streamId]);
    expect(entries[0]![1]).toEqual(['type', 'order.created', 'data', '{"orderId":"o-1","amount":1}', 'id', first.id, 'ts', expect.any(String)]);
  });

  it('stores the marker {topic}:idem:<key> with the stream ID and the TTL', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const { streamId } = await producer.publish(created(1), { idempotencyKey: 'req 42/α' });
    const marker = `${topic.keys.stream}:idem:req 42/α`;
    expect(await redis.client.sendCommand(['GET', marker])).toBe(streamId);
    const ttl = Number(await redis.client.sendCommand(['PTTL', marker]));
    expect(ttl).toBeGreaterThan(DEFAULT_IDEMPOTENCY_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(DEFAULT_IDEMPOTENCY_TTL_MS);
  });

  it('lets exactly one of 20 concurrent publishes with the same key write', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => producer.publish(created(n), { idempotencyKey: 'same' })));
    expect(await xlen(redis.client, topic.keys.stream)).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.streamId)).size).toBe(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
  });

  it('writes again once the key has expired (idempotencyTtlMs)', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic, idempotencyTtlMs: 100 });
    const first = await producer.publish(created(1), { idempotencyKey: 'k' });
    await waitFor(async () => !(await exists(redis.client, `${topic.keys.stream}:idem:k`)), { message: 'marker expired' });
    const second = await producer.publish(created(2), { idempotencyKey: 'k' });
    expect(second.duplicate).toBe(false);
    expect(second.streamId).not.toBe(first.streamId);
    expect(await xlen(redis.client, topic.keys.stream)).toBe(2);
  });

  it('keeps different keys apart, and plain publishes unaffected', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    await producer.publish(created(1), { idempotencyKey: 'a' });
    await producer.publish(created(2), { idempotencyKey: 'b' });
    await producer.publish(created(3));
    await producer.publish(created(3));
    expect(await xlen(redis.client, topic.keys.stream)).toBe(4);
  });

  it('reports a duplicate whose entry was trimmed with this call’s ID', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const first = await producer.publish(created(1), { idempotencyKey: 'gone' });
    await redis.client.sendCommand(['XDEL', topic.keys.stream, first.streamId]);
    const second = await producer.publish({ ...created(2), id: 'retry-id' }, { idempotencyKey: 'gone' });
    expect(second).toEqual({ streamId: first.streamId, id: 'retry-id', duplicate: true });
  });

  it('writes nothing and sets no marker for an invalid message or a missing stream with NOMKSTREAM', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const marker = `${topic.keys.stream}:idem:x`;
    await expect(producer.publish({ type: 'order.created', data: { orderId: 'o', amount: -1 } }, { idempotencyKey: 'x' })).rejects.toMatchObject({
      code: ErrorCode.Validation,
    });
    await expect(producer.publish(created(1), { idempotencyKey: 'x', noMkStream: true })).rejects.toMatchObject({
      code: ErrorCode.Redis,
      data: { reason: 'stream-missing' },
    });
    expect(await exists(redis.client, marker)).toBe(false);
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);
    // The key was not used up: a later publish with it writes.
    await expect(producer.publish(created(1), { idempotencyKey: 'x' })).resolves.toMatchObject({ duplicate: false });
  });

  it('types server errors from the script', async () => {
    const topic = ordersTopic();
    await redis.client.sendCommand(['SET', topic.keys.stream, 'not a stream']);
    const producer = createProducer(redis.redis, { topic });
    await expect(producer.publish(created(1), { idempotencyKey: 'x' })).rejects.toMatchObject({
      code: ErrorCode.Redis,
      message: expect.stringContaining('WRONGTYPE'),
    });
    expect(await exists(redis.client, `${topic.keys.stream}:idem:x`)).toBe(false);
  });
});
