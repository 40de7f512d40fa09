import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClosedError, ErrorCode } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { created, ordersTopic, useRedis, xlen } from './fixtures.js';

const redis = useRedis();

describe('close', () => {
  it('loses nothing: 1,000 publishes started before close() are all written when it resolves', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    const publishes = Array.from({ length: 1000 }, (_, n) => producer.publish(created(n)));
    await producer.close();
    // Read before awaiting the publishes: close() alone must have waited for them.
    expect(await xlen(redis.client, topic.keys.stream)).toBe(1000);
    const settled = await Promise.allSettled(publishes);
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
  });

  it('waits for in-flight batches and idempotent publishes', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    const batch = producer.publishMany(Array.from({ length: 3000 }, (_, n) => created(n)), { chunkSize: 100 });
    const idempotent = producer.publish(created(3000), { idempotencyKey: 'k' });
    await producer.close();
    expect(await xlen(redis.client, topic.keys.stream)).toBe(3001);
    expect((await batch).every((r) => r.ok)).toBe(true);
    await expect(idempotent).resolves.toMatchObject({ duplicate: false });
  });

  it('rejects every call afterwards with ERR_CLOSED, and is idempotent', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    await producer.publish(created(1));
    await producer.close();
    await producer.close();
    await expect(producer.publish(created(2))).rejects.toBeInstanceOf(ClosedError);
    await expect(producer.publish(created(2), { idempotencyKey: 'k' })).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(producer.publishMany([created(3)])).rejects.toMatchObject({ code: ErrorCode.Closed });
    expect(() => producer.writable()).toThrow(ClosedError);
    expect(await xlen(redis.client, topic.keys.stream)).toBe(1);
  });

  it('errors a Writable whose producer was closed', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const stream = producer.writable();
    await producer.close();
    await expect(pipeline(Readable.from([created(1)]), stream)).rejects.toMatchObject({ code: ErrorCode.Closed });
  });

  it('waits for a Writable’s in-flight writes', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    const stream = producer.writable({ highWaterMark: 2000 });
    for (let n = 0; n < 500; n++) stream.write(created(n));
    await producer.close();
    expect(await xlen(redis.client, topic.keys.stream)).toBe(500);
  });

  it('never closes the caller’s client', async () => {
    const producer = createProducer(redis.redis, { topic: ordersTopic() });
    await producer.close();
    expect(redis.client.isOpen).toBe(true);
    expect(await redis.client.sendCommand(['PING'])).toBe('PONG');
  });
});
