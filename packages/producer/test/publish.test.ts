import { compareStreamIds, ErrorCode, InvalidArgumentError, TributaryError, ValidationError } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { created, exists, ordersTopic, useRedis, xlen, xrange } from './fixtures.js';

const redis = useRedis();

describe('publish', () => {
  it('writes the wire fields type, data, id, ts and h:<name> with one XADD', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const result = await producer.publish({
      type: 'order.created',
      data: { orderId: 'o-1', amount: 42 },
      id: 'msg-1',
      ts: 1_700_000_000_000,
      headers: { traceparent: '00-abc-def-01', tenant: 'acme' },
    });
    expect(result).toEqual({ streamId: expect.stringMatching(/^\d+-\d+$/), id: 'msg-1', duplicate: false });
    const entries = await xrange(redis.client, topic.keys.stream);
    expect(entries).toEqual([
      [
        result.streamId,
        ['type', 'order.created', 'data', '{"orderId":"o-1","amount":42}', 'id', 'msg-1', 'ts', '1700000000000', 'h:traceparent', '00-abc-def-01', 'h:tenant', 'acme'],
      ],
    ]);
  });

  it('defaults id to a UUID and ts to now', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const before = Date.now();
    const result = await producer.publish(created(1));
    const [[, fields]] = (await xrange(redis.client, topic.keys.stream)) as [[string, string[]]];
    expect(result.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(fields[fields.indexOf('id') + 1]).toBe(result.id);
    const ts = Number(fields[fields.indexOf('ts') + 1]);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(Date.now());
  });

  it('rejects an invalid payload with ERR_VALIDATION and writes nothing', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const error = await producer.publish({ type: 'order.created', data: { orderId: 'o-1', amount: -5 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe(ErrorCode.Validation);
    expect((error as ValidationError).issues).toEqual([expect.objectContaining({ path: 'amount' })]);
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);

    await producer.publish(created(1));
    // @ts-expect-error amount must be a number
    await expect(producer.publish({ type: 'order.created', data: { orderId: 'o-2', amount: '3' } })).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    expect(await xlen(redis.client, topic.keys.stream)).toBe(1);
  });

  it('rejects an undeclared type, a bad header or a non-object with ERR_INVALID_ARGUMENT', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    // @ts-expect-error not a declared type
    await expect(producer.publish({ type: 'order.shipped', data: {} })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'type' });
    await expect(producer.publish({ ...created(1), headers: { 'bad name': 'x' } })).rejects.toBeInstanceOf(InvalidArgumentError);
    // @ts-expect-error not a message
    await expect(producer.publish(null)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'message' });
    await expect(producer.publish({ ...created(1), ts: -1 })).rejects.toMatchObject({ field: 'ts' });
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);
  });

  it('lands 2,000 concurrent publishes with unique IDs, in call order', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    const results = await Promise.all(Array.from({ length: 2000 }, (_, n) => producer.publish(created(n))));
    const entries = await xrange(redis.client, topic.keys.stream);
    expect(entries).toHaveLength(2000);
    expect(new Set(results.map((r) => r.streamId)).size).toBe(2000);
    expect(new Set(results.map((r) => r.id)).size).toBe(2000);
    // Pipelining keeps call order: the n-th call got the n-th entry.
    expect(entries.map(([id]) => id)).toEqual(results.map((r) => r.streamId));
    entries.forEach(([, fields], n) => expect(JSON.parse(fields[3]!)).toEqual({ orderId: `o-${n}`, amount: n }));
    for (let n = 1; n < results.length; n++) expect(compareStreamIds(results[n - 1]!.streamId, results[n]!.streamId)).toBeLessThan(0);
  });

  it('reports NOMKSTREAM on a missing stream as ERR_REDIS with reason stream-missing, creating nothing', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic, noMkStream: true });
    const error = await producer.publish(created(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: ErrorCode.Redis, data: { reason: 'stream-missing', stream: topic.keys.stream, written: false } });
    expect((error as Error).message).toContain('NOMKSTREAM');
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);

    // Once the stream exists, NOMKSTREAM publishes go through.
    await createProducer(redis.redis, { topic }).publish(created(2));
    await expect(producer.publish(created(3))).resolves.toMatchObject({ duplicate: false });
    expect(await xlen(redis.client, topic.keys.stream)).toBe(2);
  });

  it('takes noMkStream per publish', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    await expect(producer.publish(created(1), { noMkStream: true })).rejects.toMatchObject({ data: { reason: 'stream-missing' } });
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);
    await producer.publish(created(2), { noMkStream: false });
    expect(await xlen(redis.client, topic.keys.stream)).toBe(1);
  });

  it('turns server errors into typed errors', async () => {
    const topic = ordersTopic();
    await redis.client.sendCommand(['SET', topic.keys.stream, 'not a stream']);
    const producer = createProducer(redis.redis, { topic });
    const error = await producer.publish(created(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: ErrorCode.Redis, message: expect.stringContaining('WRONGTYPE') });
    expect((error as Error).message).toContain(`XADD ${topic.keys.stream}`);
  });

  it('sends commands with the per-command timeout when timeoutMs is set', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic, timeoutMs: 0 });
    const results = await Promise.all([1, 2, 3].map((n) => producer.publish(created(n))));
    expect(results.map((r) => r.streamId)).toEqual((await xrange(redis.client, topic.keys.stream)).map(([id]) => id));
  });

  it('validates per-publish options, naming the field, before writing', async () => {
    const topic = ordersTopic();
    const producer = createProducer(redis.redis, { topic });
    await expect(producer.publish(created(1), { retention: { maxLen: 0 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      field: 'PublishOptions.retention.maxLen',
    });
    await expect(producer.publish(created(1), { idempotencyKey: '' })).rejects.toMatchObject({ field: 'PublishOptions.idempotencyKey' });
    // @ts-expect-error unknown option
    await expect(producer.publish(created(1), { maxLen: 5 })).rejects.toMatchObject({ field: 'PublishOptions.maxLen' });
    expect(await exists(redis.client, topic.keys.stream)).toBe(false);
  });
});
