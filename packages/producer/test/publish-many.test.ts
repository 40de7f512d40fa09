import { ErrorCode, InvalidArgumentError, TributaryError, ValidationError } from '@tributary/core';
import { createProducer, type PublishManyResult } from '@tributary/producer';
import { created, exists, failingScriptCall, ordersTopic, payloads, useRedis, xlen, xrange } from './fixtures.js';

const redis = useRedis();

const okIds = (results: readonly PublishManyResult[]) => results.flatMap((r) => (r.ok ? [r.streamId] : []));

describe('publishMany', () => {
  it('writes the valid messages in order and reports each invalid one at its index', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const messages = [
      created(0),
      { type: 'order.created', data: { orderId: 'bad', amount: -1 } },
      created(2),
      { type: 'order.refunded', data: {} },
      { type: 'order.cancelled', data: { orderId: 'o-4', reason: 'fraud' }, headers: { source: 'test' } },
      null,
      created(6),
    ] as unknown as Parameters<typeof producer.publishMany>[0];
    const results = await producer.publishMany(messages);

    expect(results).toHaveLength(7);
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false, true, false, true]);
    expect(results[1]).toEqual({ ok: false, index: 1, error: expect.any(ValidationError) });
    expect(results[3]).toMatchObject({ ok: false, index: 3, error: { code: ErrorCode.InvalidArgument, field: 'type' } });
    expect(results[5]).toMatchObject({ ok: false, index: 5, error: { code: ErrorCode.InvalidArgument } });
    const entries = await xrange(redis.client, topic.keys.stream);
    expect(entries.map(([id]) => id)).toEqual(okIds(results));
    expect(await payloads(redis.client, topic.keys.stream)).toEqual([created(0).data, created(2).data, { orderId: 'o-4', reason: 'fraud' }, created(6).data]);
    expect(entries[2]![1]).toEqual(['type', 'order.cancelled', 'data', '{"orderId":"o-4","reason":"fraud"}', 'id', expect.any(String), 'ts', expect.any(String), 'h:source', 'test']);
    for (const r of results) if (r.ok) expect(r.duplicate).toBe(false);
    // Each ok result carries the ID stored in its entry.
    expect(entries.map(([, f]) => f[5])).toEqual(results.flatMap((r) => (r.ok ? [r.id] : [])));
  });

  it('splits big batches into chunks and keeps the order across them', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    const results = await producer.publishMany(Array.from({ length: 1234 }, (_, n) => created(n)), { chunkSize: 100 });
    expect(results.every((r) => r.ok)).toBe(true);
    const entries = await xrange(redis.client, topic.keys.stream);
    expect(entries.map(([id]) => id)).toEqual(okIds(results));
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 1234 }, (_, n) => created(n).data));
  });

  it('handles a chunk far beyond Lua’s unpack limit', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    const headers = Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`h${k}`, `v${k}`]));
    const results = await producer.publishMany(Array.from({ length: 5000 }, (_, n) => ({ ...created(n), headers })), { chunkSize: 5000 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await xlen(redis.client, topic.keys.stream)).toBe(5000);
  });

  it('returns [] for an empty batch and creates nothing', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    expect(await producer.publishMany([])).toEqual([]);
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);
  });

  it('rejects bad arguments with InvalidArgumentError naming the field', async () => {
    const producer = createProducer(redis.redis, { topic: ordersTopic() });
    // @ts-expect-error not an array
    await expect(producer.publishMany(created(1))).rejects.toMatchObject({ code: ErrorCode.InvalidArgument, field: 'messages' });
    await expect(producer.publishMany([created(1)], { chunkSize: 0 })).rejects.toMatchObject({ field: 'PublishManyOptions.chunkSize' });
    await expect(producer.publishMany([created(1)], { chunkSize: 1e6 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(producer.publishMany([created(1)], { retention: { maxAgeMs: -1 } })).rejects.toMatchObject({ field: 'PublishManyOptions.retention.maxAgeMs' });
  });

  it('reports NOMKSTREAM on a missing stream per message, writing nothing', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic, noMkStream: true });
    const results = await producer.publishMany([created(1), { type: 'order.created', data: { orderId: 'x', amount: -1 } }, created(3)], { chunkSize: 1 });
    expect(results).toEqual([
      { ok: false, index: 0, error: expect.objectContaining({ code: ErrorCode.Redis, data: expect.objectContaining({ reason: 'stream-missing', written: false }) }) },
      { ok: false, index: 1, error: expect.any(ValidationError) },
      { ok: false, index: 2, error: expect.objectContaining({ code: ErrorCode.Redis, data: expect.objectContaining({ written: false }) }) },
    ]);
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);
  });

  it('reports a server error inside the script as not written', async () => {
    const topic = ordersTopic();
    await redis.client.sendCommand(['SET', topic.keys.stream, 'not a stream']);
    const producer = createProducer(redis.redis, { topic });
    const results = await producer.publishMany([created(1), created(2)]);
    for (const [index, r] of results.entries()) {
      expect(r).toEqual({ ok: false, index, error: expect.any(TributaryError) });
      if (!r.ok) expect(r.error).toMatchObject({ code: ErrorCode.Redis, message: expect.stringContaining('WRONGTYPE'), data: { written: false } });
    }
  });

  it('keeps earlier chunks when a later one is lost with the connection, and marks its outcome unknown', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(failingScriptCall(redis.redis, 3, 'lost-after-send'), { topic });
    const results = await producer.publishMany(Array.from({ length: 60 }, (_, n) => created(n)), { chunkSize: 10 });

    expect(results.slice(0, 20).every((r) => r.ok)).toBe(true);
    for (const r of results.slice(20, 30)) {
      expect(r).toMatchObject({ ok: false, error: { code: ErrorCode.Redis, data: { written: 'unknown' } } });
    }
    // The chunk behind the failed one may already be in flight: it is reported as it happened.
    const behind = results.slice(30, 40);
    expect(behind.every((r) => r.ok) || behind.every((r) => !r.ok && r.error.data.written === false)).toBe(true);
    for (const r of results.slice(40)) expect(r).toMatchObject({ ok: false, error: { data: { written: false } } });
    // Here the lost chunk did reach Redis, which is why its result says 'unknown' rather than false.
    const written = Array.from({ length: behind[0]!.ok ? 40 : 30 }, (_, n) => created(n).data);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(written);
    const ids = (await xrange(redis.client, topic.keys.stream)).map(([id]) => id);
    expect([...ids.slice(0, 20), ...ids.slice(30)]).toEqual(okIds(results));
  });

  it('marks a refused chunk and every later one not sent as not written', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(failingScriptCall(redis.redis, 2, 'refused'), { topic });
    const results = await producer.publishMany(Array.from({ length: 35 }, (_, n) => created(n)), { chunkSize: 10 });
    expect(results.slice(0, 10).every((r) => r.ok)).toBe(true);
    for (const r of results.slice(10, 20)) expect(r).toMatchObject({ ok: false, error: { message: expect.stringContaining('injected'), data: { written: false } } });
    const behind = results.slice(20, 30);
    expect(behind.every((r) => r.ok) || behind.every((r) => !r.ok)).toBe(true);
    for (const r of results.slice(30)) expect(r).toMatchObject({ ok: false, error: { data: { written: false } } });
    expect(await xlen(redis.client, topic.keys.stream)).toBe(okIds(results).length);
  });

  it('never sends more than one chunk after a failed one', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(failingScriptCall(redis.redis, 1, 'refused'), { topic });
    const results = await producer.publishMany(Array.from({ length: 100 }, (_, n) => created(n)), { chunkSize: 10 });
    expect(okIds(results).length).toBeLessThanOrEqual(10);
    expect(await xlen(redis.client, topic.keys.stream)).toBe(okIds(results).length);
  });
});
