import { createClient } from 'redis';
import { z } from 'zod';
import { defineTopic, encodeMessage, toCommander } from '@tributary/core';
import { createWorker } from '@tributary/consumer-group';
import { startRedis, uniqueName, waitFor, type RedisServer } from '@tributary/test-utils';

let server: RedisServer;
let client: ReturnType<typeof createClient>;
beforeAll(async () => {
  server = await startRedis();
  client = createClient({ url: server.url });
  await client.connect();
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

test('smoke: worker handles, acks, stops', async () => {
  const topic = defineTopic({ name: uniqueName('t'), types: { ping: z.object({ n: z.number() }) } });
  const seen: number[] = [];
  const worker = createWorker(client, {
    topic, group: 'g', consumer: 'c1', blockMs: 2000,
    handlers: { ping: async (m) => { seen.push(m.data.n); } },
  });
  await worker.start();
  const c = toCommander(client);
  for (let i = 0; i < 50; i++) await c.send(topic.keys.stream, ['XADD', topic.keys.stream, '*', ...encodeMessage(topic, { type: 'ping', data: { n: i } })]);
  await waitFor(() => seen.length === 50);
  const t0 = Date.now();
  await worker.stop();
  expect(Date.now() - t0).toBeLessThan(1500);
  const pending = await c.send<unknown[]>(topic.keys.stream, ['XPENDING', topic.keys.stream, 'g']);
  expect(Number(pending[0])).toBe(0);
  expect(worker.stats().acked).toBe(50);
});

test('smoke: for await iteration', async () => {
  const topic = defineTopic({ name: uniqueName('t'), types: { ping: z.object({ n: z.number() }) } });
  const c = toCommander(client);
  const worker = createWorker(client, { topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500 });
  for (let i = 0; i < 10; i++) await c.send(topic.keys.stream, ['XADD', topic.keys.stream, '*', ...encodeMessage(topic, { type: 'ping', data: { n: i } })]);
  const got: number[] = [];
  for await (const msg of worker) {
    got.push(msg.data.n);
    if (got.length === 5) break;
  }
  expect(got).toEqual([0, 1, 2, 3, 4]);
  const pending = await c.send<unknown[]>(topic.keys.stream, ['XPENDING', topic.keys.stream, 'g']);
  // 4 acked; the 5th was released by break; anything else prefetched stays pending too.
  const info = await c.send<unknown[]>(topic.keys.stream, ['XINFO', 'GROUPS', topic.keys.stream]);
  expect(Number(pending[0])).toBeGreaterThanOrEqual(1);
  expect(info).toBeDefined();
});
