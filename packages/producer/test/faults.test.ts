import { ErrorCode, type RedisClientLike } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { type RedisServer, startRedis, waitFor } from '@tributary/test-utils';
import { createClient } from 'redis';
import { created, ordersTopic, type TestClient, xlen } from './fixtures.js';

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
    const producer = createProducer(client as unknown as RedisClientLike, { topic, timeoutMs: 200 });
    await producer.publish(created(0));
    await server.kill();

    const error = await producer.publish(created(1)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.Timeout, data: { written: 'unknown' } });
    const results = await producer.publishMany([created(2), created(3)]);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: ErrorCode.Timeout, data: { written: 'unknown' } } });

    // The server comes back empty (no persistence): the client reconnects and publishing resumes.
    await server.restart();
    await waitFor(() => client.isReady, { message: 'client reconnected' });
    await expect(producer.publish(created(4))).resolves.toMatchObject({ duplicate: false });
    expect(await xlen(client, topic.keys.stream)).toBe(1);
  });

  it('reports publishing on a closed client as ERR_REDIS, not written', async () => {
    const producer = createProducer(client as unknown as RedisClientLike, { topic: ordersTopic() });
    await client.close();
    await expect(producer.publish(created(1))).rejects.toMatchObject({ code: ErrorCode.Redis, data: { written: false } });
    await expect(producer.publish(created(1), { idempotencyKey: 'k' })).rejects.toMatchObject({ data: { written: false } });
    const [result] = await producer.publishMany([created(1)]);
    expect(result).toMatchObject({ ok: false, error: { data: { written: false } } });
    await producer.close();
  });
});
