import { ClosedError, ErrorCode, TributaryError, ValidationError } from '@tributary/core';
import { createProducer, type PublishResult } from '@tributary/producer';
import { BATCH_FROM_IN_FLIGHT as QUEUE_FROM, MIN_BATCH_SIZE as MIN_BATCH } from '../src/producer-options.js';
import {
  created,
  exists,
  failingScriptCall,
  ordersTopic,
  payloads,
  recordCommands,
  useRedis,
  xlen,
  xrange,
} from './fixtures.js';

const redis = useRedis();

/** The last stream ID there is: a stream whose top entry has it can take no more entries. */
const LAST_ID = '18446744073709551615-18446744073709551615';

/** Resolves after the current tick and the I/O phase after it: a queued batch is sent by then. */
const nextIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `n` plain XADDs, as {@link recordCommands} reports them. */
const xadds = (n: number) => Array.from({ length: n }, () => 'XADD');

/** Settles the promises and says, for each, `ok` or its error code. */
async function outcomes(promises: readonly Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : String((s.reason as TributaryError).code)));
}

describe('batching of concurrent publishes', () => {
  it('sends publishes beyond the first 128 in flight as batch script calls of at most maxBatchSize; each gets its own entry, in call order', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const results = await Promise.all(Array.from({ length: 1200 }, (_, n) => producer.publish(created(n))));
    // Until QUEUE_FROM are in flight, publishes go out as XADDs at once, as without batching.
    expect(sent).toEqual([...xadds(QUEUE_FROM), 'batch×500', 'batch×500', `batch×${1200 - QUEUE_FROM - 1000}`]);

    const entries = await xrange(redis.client, topic.keys.stream);
    expect(entries.map(([id]) => id)).toEqual(results.map((r) => r.streamId));
    expect(entries.map(([, fields]) => fields[5])).toEqual(results.map((r) => r.id));
    expect(new Set(results.map((r) => r.id)).size).toBe(1200);
    for (const r of results) expect(r.duplicate).toBe(false);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 1200 }, (_, n) => created(n).data));
  });

  it('writes the same entry a plain XADD writes, headers included', async () => {
    const topic = ordersTopic();
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic, maxBatchSize: 2 });
    const message = { ...created(1), id: 'msg-1', ts: 1_700_000_000_000, headers: { traceparent: '00-abc-01', tenant: 'acme' } };
    const [, , batched] = await Promise.all([producer.publish(created(0)), producer.publish(created(1)), producer.publish(message), producer.publish(created(3))]);
    const alone = await producer.publish({ ...message, id: 'msg-2' });
    const entries = await xrange(redis.client, topic.keys.stream);
    expect(sent).toEqual(['XADD', 'XADD', 'batch×2', 'XADD']);
    expect(entries[2]).toEqual([batched!.streamId, ['type', 'order.created', 'data', '{"orderId":"o-1","amount":1}', 'id', 'msg-1', 'ts', '1700000000000', 'h:traceparent', '00-abc-01', 'h:tenant', 'acme']]);
    expect(entries[4]).toEqual([alone.streamId, [...entries[2]![1].slice(0, 5), 'msg-2', ...entries[2]![1].slice(6)]]);
  });

  it('sends a publish alone in its tick as a plain XADD, so one-at-a-time publishing is unchanged', async () => {
    const topic = ordersTopic();
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    for (let n = 0; n < 5; n++) await producer.publish(created(n));
    expect(sent).toEqual(['XADD', 'XADD', 'XADD', 'XADD', 'XADD']);
    expect(await xlen(redis.client, topic.keys.stream)).toBe(5);
  });

  it('sends publishes at once while few are in flight, and queues the rest until the tick ends', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const publishes = Array.from({ length: 2 * QUEUE_FROM }, (_, n) => producer.publish(created(n)));
    expect(sent).toEqual(xadds(QUEUE_FROM));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(sent).toEqual([...xadds(QUEUE_FROM), `batch×${QUEUE_FROM}`]);
    await Promise.all(publishes);
    // Nothing in flight any more: plain XADDs again.
    await Promise.all([producer.publish(created(1001)), producer.publish(created(1002))]);
    expect(sent.slice(QUEUE_FROM + 1)).toEqual(['XADD', 'XADD']);
  });

  it('sends a queue smaller than a batch is worth as plain XADDs', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const count = QUEUE_FROM + MIN_BATCH - 1;
    const results = await Promise.all(Array.from({ length: count }, (_, n) => producer.publish(created(n))));
    expect(sent).toEqual(xadds(count));
    expect((await xrange(redis.client, topic.keys.stream)).map(([id]) => id)).toEqual(results.map((r) => r.streamId));
  });

  it('sends a full batch at once, without waiting for the tick to end', async () => {
    const topic = ordersTopic();
    const { redis: recorded, sent } = recordCommands(redis.redis);
    // A smaller maxBatchSize also lowers the in-flight count that starts batching, and the
    // smallest batch: three here.
    const producer = createProducer(recorded, { topic, maxBatchSize: 3 });
    const publishes = Array.from({ length: 11 }, (_, n) => producer.publish(created(n)));
    expect(sent).toEqual(['XADD', 'XADD', 'XADD', 'batch×3', 'batch×3']);
    await Promise.all(publishes);
    // The last two were too few for a batch when the tick ended.
    expect(sent).toEqual(['XADD', 'XADD', 'XADD', 'batch×3', 'batch×3', 'XADD', 'XADD']);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 11 }, (_, n) => created(n).data));
  });

  it('does not batch with maxBatchSize 1: every publish is its own XADD, sent at once', async () => {
    const topic = ordersTopic();
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic, maxBatchSize: 1 });
    const publishes = Array.from({ length: 4 }, (_, n) => producer.publish(created(n)));
    expect(sent).toEqual(['XADD', 'XADD', 'XADD', 'XADD']);
    const results = await Promise.all(publishes);
    expect((await xrange(redis.client, topic.keys.stream)).map(([id]) => id)).toEqual(results.map((r) => r.streamId));
  });

  it('rejects invalid messages at once and writes the valid ones of the same tick, in order', async () => {
    const topic = ordersTopic();
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic, maxBatchSize: 3 });
    const invalid = { type: 'order.created', data: { orderId: 'bad', amount: -1 } } as const;
    const publishes = [
      producer.publish(created(100)),
      producer.publish(created(101)),
      producer.publish(created(102)),
      producer.publish(created(0)),
      producer.publish(invalid),
      producer.publish(created(2)),
      // @ts-expect-error not a declared type
      producer.publish({ type: 'order.refunded', data: {} }),
      producer.publish({ ...created(4), headers: { 'bad name': 'x' } }),
      producer.publish(created(5)),
    ];
    // Rejected before anything was sent.
    const early = await Promise.race([publishes[4]!.catch((error: unknown) => error), nextIo().then(() => 'still pending')]);
    expect(early).toBeInstanceOf(ValidationError);

    expect(await outcomes(publishes)).toEqual(['ok', 'ok', 'ok', 'ok', ErrorCode.Validation, 'ok', ErrorCode.InvalidArgument, ErrorCode.InvalidArgument, 'ok']);
    expect(sent).toEqual(['XADD', 'XADD', 'XADD', 'batch×3']);
    const results = await Promise.all([0, 1, 2, 3, 5, 8].map((k) => publishes[k]!));
    expect((await xrange(redis.client, topic.keys.stream)).map(([id]) => id)).toEqual(results.map((r) => r.streamId));
    expect(await payloads(redis.client, topic.keys.stream)).toEqual([100, 101, 102, 0, 2, 5].map((n) => created(n).data));
  });

  it('batches only publishes with the same effective options and keeps call order across them', async () => {
    // Load the idempotency script first: a NOSCRIPT retry would land after later calls.
    await createProducer(redis.redis, { topic: ordersTopic() }).publish(created(0), { idempotencyKey: 'load' });
    const topic = ordersTopic({ maxLen: 10_000 });
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const group = MIN_BATCH + 8;
    let n = 0;
    const run = (count: number, options?: Parameters<typeof producer.publish>[1]) =>
      Array.from({ length: count }, () => producer.publish(created(n++), options));
    const publishes = [
      ...run(QUEUE_FROM),
      ...run(group),
      ...run(group, { retention: 'none' }),
      // Options equal to the producer's: same effective options, same batch as the next run.
      ...run(group, { noMkStream: false, retention: { maxLen: 10_000 } }),
      ...run(group),
      ...run(1, { idempotencyKey: 'k' }),
      ...run(10, { noMkStream: true }),
      ...run(group),
    ];
    const results = await Promise.all(publishes);
    expect(sent).toEqual([
      ...xadds(QUEUE_FROM),
      `batch×${group}`,
      `batch×${group}`,
      `batch×${2 * group}`,
      // The idempotent publish is one script call of its own.
      'EVALSHA',
      // Ten are too few for a batch.
      ...xadds(10),
      `batch×${group}`,
    ]);
    expect((await xrange(redis.client, topic.keys.stream)).map(([id]) => id)).toEqual(results.map((r) => r.streamId));
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: n }, (_, k) => created(k).data));
  });

  it('applies each batch’s retention: exact maxLen per batch and maxAgeMs computed from now', async () => {
    const topic = ordersTopic();
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic, retention: { maxLen: 5, exact: true }, maxBatchSize: 4 });
    await Promise.all(Array.from({ length: 12 }, (_, n) => producer.publish(created(n))));
    expect(sent).toEqual(['XADD', 'XADD', 'XADD', 'XADD', 'batch×4', 'batch×4']);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 5 }, (_, k) => created(7 + k).data));

    const aged = ordersTopic();
    for (let seq = 0; seq < 5; seq++) {
      await redis.client.sendCommand(['XADD', aged.keys.stream, `${Date.now() - 3_600_000}-${seq}`, 'type', 'order.created', 'data', '{}']);
    }
    const byAge = createProducer(recorded, { topic: aged, retention: { maxAgeMs: 60_000, exact: true }, maxBatchSize: 3 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, n) => byAge.publish(created(n))));
    expect(sent.slice(6)).toEqual(['XADD', 'XADD', 'XADD', 'batch×3']);
    expect((await xrange(redis.client, aged.keys.stream)).map(([id]) => id)).toEqual(results.map((r) => r.streamId));
  });

  it('resolves the entries a batch wrote and rejects the rest when the script stops part-way', async () => {
    const topic = ordersTopic();
    // Room for six more entries: the four sent as XADDs and two of the batch of four.
    const seed = '18446744073709551615-18446744073709551609';
    await redis.client.sendCommand(['XADD', topic.keys.stream, seed, 'type', 'seed', 'data', '{}']);
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic, maxBatchSize: 4 });
    const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, n) => producer.publish(created(n))));
    expect(sent).toEqual(['XADD', 'XADD', 'XADD', 'XADD', 'batch×4']);

    const written = settled.slice(0, 6).map((s) => (s.status === 'fulfilled' ? s.value : s.reason as unknown));
    expect(written.map((r) => (r as PublishResult).streamId)).toEqual([10, 11, 12, 13, 14, 15].map((seq) => `18446744073709551615-184467440737095516${seq}`));
    expect(written[5]).toEqual({ streamId: LAST_ID, id: expect.any(String), duplicate: false });
    for (const s of settled.slice(6)) {
      expect(s.status).toBe('rejected');
      const error = (s as PromiseRejectedResult).reason as TributaryError;
      expect(error).toBeInstanceOf(TributaryError);
      expect(error).toMatchObject({ code: ErrorCode.Redis, data: { written: false, stream: topic.keys.stream } });
      expect(error.message).toMatch(/exhausted/);
      expect(error.message).toContain('publish 3 of 4 batched in one script call failed; it and the 1 after it were not written');
    }
    const entries = await xrange(redis.client, topic.keys.stream);
    expect(entries.map(([id]) => id)).toEqual([seed, ...written.map((r) => (r as PublishResult).streamId)]);
    expect(entries.slice(1).map(([, fields]) => fields[5])).toEqual(written.map((r) => (r as PublishResult).id));
  });

  it('rejects every publish of a batch whose first XADD fails: wrong type, or NOMKSTREAM on a missing stream', async () => {
    const wrongType = ordersTopic();
    await redis.client.sendCommand(['SET', wrongType.keys.stream, 'not a stream']);
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic: wrongType, maxBatchSize: 2 });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => producer.publish(created(n))));
    for (const s of settled) {
      expect(s).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.Redis, message: expect.stringContaining('WRONGTYPE'), data: { written: false } } });
    }
    expect(await redis.client.sendCommand(['GET', wrongType.keys.stream])).toBe('not a stream');

    const missing = ordersTopic();
    const noMk = createProducer(recorded, { topic: missing, noMkStream: true, maxBatchSize: 2 });
    const both = await Promise.allSettled([1, 2, 3, 4].map((n) => noMk.publish(created(n))));
    for (const s of both) {
      expect(s).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.Redis, data: { reason: 'stream-missing', written: false } } });
    }
    expect(await exists(redis.client, missing.keys.stream)).toBe(false);
    expect(sent).toEqual(['XADD', 'XADD', 'batch×2', 'XADD', 'XADD', 'batch×2']);
  });

  it('reports a refused batch as not written and a lost one as unknown, for each of its publishes', async () => {
    const refusedTopic = ordersTopic();
    const refused = createProducer(failingScriptCall(redis.redis, 1, 'refused'), { topic: refusedTopic, maxBatchSize: 3 });
    const a = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => refused.publish(created(n))));
    expect(a.slice(0, 3).map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    for (const s of a.slice(3)) {
      expect(s).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.Redis, message: expect.stringContaining('injected'), data: { written: false } } });
    }
    expect(await xlen(redis.client, refusedTopic.keys.stream)).toBe(3);

    const lostTopic = ordersTopic();
    const lost = createProducer(failingScriptCall(redis.redis, 1, 'lost-after-send'), { topic: lostTopic, maxBatchSize: 3 });
    const b = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => lost.publish(created(n))));
    expect(b.slice(0, 3).map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    for (const s of b.slice(3)) expect(s).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.Redis, data: { written: 'unknown' } } });
    // It did reach Redis, which is why the outcome is 'unknown' rather than false.
    expect(await xlen(redis.client, lostTopic.keys.stream)).toBe(6);
  });

  it('keeps call order between publish and publishMany', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic, maxBatchSize: 2 });
    const before = [0, 1].map((n) => producer.publish(created(n)));
    const many = producer.publishMany([created(2), created(3), created(4)]);
    const after = [5, 6].map((n) => producer.publish(created(n)));
    const many2 = producer.publishMany([created(7)]);
    const last = producer.publish(created(8));
    await Promise.all([...before, many, ...after, many2, last]);
    expect(sent).toEqual(['XADD', 'XADD', 'batch×3', 'batch×2', 'batch×1', 'XADD']);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 9 }, (_, n) => created(n).data));
  });

  it('sends a message with more headers than a script takes as its own XADD, in order', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const headers = Object.fromEntries(Array.from({ length: 3600 }, (_, k) => [`h${k}`, 'v']));
    const messages = [...Array.from({ length: QUEUE_FROM + MIN_BATCH }, (_, n) => created(n)), { ...created(1001), headers }, created(1002)];
    const results = await Promise.all(messages.map((m) => producer.publish(m)));
    expect(sent).toEqual([...xadds(QUEUE_FROM), `batch×${MIN_BATCH}`, 'XADD', 'XADD']);
    expect((await xrange(redis.client, topic.keys.stream)).map(([id]) => id)).toEqual(results.map((r) => r.streamId));
  });

  it('sends a batch early once its messages are large, so one call never carries megabytes', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const big = (n: number) => ({ type: 'order.cancelled' as const, data: { orderId: `o-${n}`, reason: 'x'.repeat(20_000) } });
    const results = await Promise.all(Array.from({ length: 300 }, (_, n) => producer.publish(big(n))));
    const batches = sent.filter((c) => c.startsWith('batch×')).map((c) => Number(c.slice('batch×'.length)));
    expect(batches.length).toBeGreaterThanOrEqual(2);
    // At most about 1 MiB of field text per script call.
    for (const size of batches) expect(size * 20_000).toBeLessThan(1.05 * 2 ** 20);
    expect(batches.reduce((a, b) => a + b, 0) + sent.filter((c) => c === 'XADD').length).toBe(300);
    expect((await xrange(redis.client, topic.keys.stream)).map(([id]) => id)).toEqual(results.map((r) => r.streamId));
  });

  it('close() during a pending flush waits for the queued publishes, which are written', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const publishes = Array.from({ length: 300 }, (_, n) => producer.publish(created(n)));
    const closing = producer.close();
    const late = producer.publish(created(300)).catch((error: unknown) => error);
    expect(sent).toEqual(xadds(QUEUE_FROM));
    await closing;
    // Read before awaiting the publishes: close() alone must have waited for them.
    expect(await xlen(redis.client, topic.keys.stream)).toBe(300);
    expect(sent).toEqual([...xadds(QUEUE_FROM), `batch×${300 - QUEUE_FROM}`]);
    expect(await outcomes(publishes)).toEqual(Array.from({ length: 300 }, () => 'ok'));
    expect(await late).toBeInstanceOf(ClosedError);
  });

  it('batches a Writable’s messages too', async () => {
    const topic = ordersTopic('none');
    const { redis: recorded, sent } = recordCommands(redis.redis);
    const producer = createProducer(recorded, { topic });
    const stream = producer.writable({ highWaterMark: 200 });
    const finished = new Promise((resolve, reject) => stream.on('finish', resolve).on('error', reject));
    for (let n = 0; n < 2000; n++) stream.write(created(n));
    stream.end();
    await finished;
    expect(await payloads(redis.client, topic.keys.stream)).toEqual(Array.from({ length: 2000 }, (_, n) => created(n).data));
    expect(sent.some((c) => c.startsWith('batch×'))).toBe(true);
    expect(sent.length).toBeLessThan(1500);
  });
});
