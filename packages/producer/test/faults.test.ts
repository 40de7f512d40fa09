import { ErrorCode, type RedisClientLike, TimeoutError } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { type RedisServer, startRedis, waitFor } from '@tributary/test-utils';
import { createClient } from 'redis';
import { created, ordersTopic, recordCommands, type TestClient, xlen } from './fixtures.js';

let server: RedisServer;
let client: TestClient;

beforeAll(async () => {
  server = await startRedis();
});

beforeEach(async () => {
  client = createClient({ url: server.url, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {
    // Expected while the server is down; node-redis reconnects by itself.
  });
  await client.connect();
});

afterEach(async () => {
  if (client.isOpen) client.destroy();
});

afterAll(async () => {
  await server?.stop();
});

describe('connection faults', () => {
  it('reports a publish that got no reply in time as ERR_TIMEOUT with an unknown outcome, and recovers', async () => {
    const topic = ordersTopic();
    const { redis: recorded, sent } = recordCommands(client as unknown as RedisClientLike);
    const producer = createProducer(recorded, { topic, timeoutMs: 200, maxBatchSize: 2 });
    await producer.publish(created(0));
    await server.kill();

    const error = await producer.publish(created(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCode.Timeout, data: { written: 'unknown' } });
    // Publishes batched into one script call are timed as one command; each gets the same error.
    const batched = await Promise.allSettled([created(5), created(6), created(7), created(8)].map((m) => producer.publish(m)));
    expect(sent.slice(-3)).toEqual(['XADD', 'XADD', 'batch×2']);
    for (const s of batched) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
      expect((s as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.Timeout, data: { written: 'unknown' } });
    }
    const results = await producer.publishMany([created(2), created(3)]);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: ErrorCode.Timeout, data: { written: 'unknown' } } });

    // The server comes back empty (no persistence): the client reconnects and publishing resumes.
    await server.restart();
    await waitFor(() => client.isReady, { message: 'client reconnected' });
    await expect(producer.publish(created(4))).resolves.toMatchObject({ duplicate: false });
    expect(await xlen(client, topic.keys.stream)).toBe(1);
  });

  it('reports publishing on a closed client as ERR_REDIS, not written', async () => {
    const { redis: recorded, sent } = recordCommands(client as unknown as RedisClientLike);
    const producer = createProducer(recorded, { topic: ordersTopic(), maxBatchSize: 2 });
    await client.close();
    await expect(producer.publish(created(1))).rejects.toMatchObject({ code: ErrorCode.Redis, data: { written: false } });
    await expect(producer.publish(created(1), { idempotencyKey: 'k' })).rejects.toMatchObject({ data: { written: false } });
    const batched = await Promise.allSettled([created(2), created(3), created(4), created(5)].map((m) => producer.publish(m)));
    for (const s of batched) expect(s).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.Redis, data: { written: false } } });
    expect(sent).toContain('batch×2');
    const [result] = await producer.publishMany([created(1)]);
    expect(result).toMatchObject({ ok: false, error: { data: { written: false } } });
    await producer.close();
  });
});
