/**
 * The orders API example as a user meets it: its bounded self-test, then the running service
 * driven over HTTP with fetch (validation, replay, pending, stream info, dead letters and
 * redrive), and a second instance on another port sharing the group's work.
 */
import { createClient, type RedisClientType } from 'redis';
import { type ChildScript, getFreePort, type RedisServer, startRedis, waitFor } from '@tributary/test-utils';
import { type ExampleRun, explain, finished, runExample, startExample } from './run-example.js';

jest.setTimeout(180_000);

let server: RedisServer;
let client: RedisClientType;

beforeAll(async () => {
  server = await startRedis();
  client = createClient({ url: server.url });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

test('--messages 30: posts orders to itself; each accepted one ends processed or dead-lettered', async () => {
  const run = await runExample('orders-api.ts', {
    args: ['--messages', '30'],
    env: { REDIS_URL: server.url, PORT: '0', TOPIC: 'orders-bounded', FAILURE_RATE: '0.2' },
  });
  if (run.code !== 0) throw new Error(explain(run));
  const s = run.summary;
  expect(s).toMatchObject({ posted: '30', accepted: '27', rejected: '3', poison: '3', pending: '0', lost: '0' });
  expect(Number(s['processed']) + Number(s['dead-lettered'])).toBe(27);
  expect(Number(s['dead-lettered'])).toBeGreaterThanOrEqual(3);
  expect(run.output).toContain('order 1010 rejected: quantity:');
  expect(await client.xLen('{orders-bounded}:dlq')).toBe(Number(s['dead-lettered']));
  expect(await client.sCard('{orders-bounded}:processed')).toBe(Number(s['processed']));
  expect(Number((await client.xPending('{orders-bounded}', 'order-processors')).pending)).toBe(0);
});

describe('the running service over HTTP', () => {
  const TOPIC = 'orders-http';
  let a: ChildScript;
  let url: string;
  let port: number;

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const get = async <T = Record<string, unknown>>(path: string, base = url) => {
    const response = await fetch(`${base}${path}`);
    return { status: response.status, body: (await response.json()) as T };
  };
  const order = (orderId: number, product = 'Laptop') => ({ orderId, product, quantity: 2, userId: 42 });

  function serviceEnv(p: number): Record<string, string> {
    return { REDIS_URL: server.url, PORT: String(p), TOPIC, FAILURE_RATE: '0', CONSUMERS: '1', WORK_MS: '20-40' };
  }

  beforeAll(async () => {
    port = await getFreePort();
    url = `http://127.0.0.1:${port}`;
    a = startExample('orders-api.ts', { env: serviceEnv(port) });
    await a.waitForOutput('orders api listening on', 60_000);
  });

  afterAll(async () => {
    if (!a) return;
    a.signal('SIGTERM');
    const run = await finished(a, 30_000);
    if (run.code !== 0) throw new Error(`SIGTERM did not stop the service cleanly: ${explain(run)}`);
    expect(run.output).toMatch(/stopped: processed=\d+/);
  });

  test('POST /orders: a valid order gets 202 and its IDs; an invalid one a 400 with every reason, and nothing is written', async () => {
    const ok = await post('/orders', order(1001));
    expect(ok.status).toBe(202);
    expect(ok.body).toEqual({ streamId: expect.stringMatching(/^\d+-\d+$/), id: expect.any(String), duplicate: false });

    const before = await client.xLen(`{${TOPIC}}`);
    const bad = await post('/orders', { orderId: 'x', quantity: 0, userId: 42, color: 'red' });
    expect(bad.status).toBe(400);
    expect(bad.body['error']).toBe('invalid order');
    const paths = (bad.body['issues'] as { path: string; message: string }[]).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['orderId', 'product', 'quantity']));
    expect((await post('/orders', ['not', 'an', 'order'])).status).toBe(400);
    expect(await client.xLen(`{${TOPIC}}`)).toBe(before);

    // An Idempotency-Key makes a retried POST publish once.
    const first = await post('/orders', order(1002), { 'idempotency-key': 'order-1002' });
    const again = await post('/orders', order(1002), { 'idempotency-key': 'order-1002' });
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    expect(await client.xLen(`{${TOPIC}}`)).toBe(before + 1);
  });

  test('GET /orders/history: replay newest or oldest first, by range, page by page; bad parameters get a 400', async () => {
    for (let i = 1; i <= 5; i++) expect((await post('/orders', order(2000 + i))).status).toBe(202);
    type Page = { count: number; messages: { streamId: string; id: string; data: { orderId: number } }[]; next?: string };
    const newest = await get<Page>('/orders/history?count=3');
    expect(newest.body.messages.map((m) => m.data.orderId)).toEqual([2005, 2004, 2003]);
    const oldest = await get<Page>('/orders/history?count=2&order=asc');
    expect(oldest.body.messages.map((m) => m.data.orderId)).toEqual([1001, 1002]);
    const nextPage = await get<Page>(`/orders/history?count=2&order=asc&start=${encodeURIComponent(oldest.body.next!)}`);
    expect(nextPage.body.messages.map((m) => m.data.orderId)).toEqual([2001, 2002]);
    const one = newest.body.messages[1]!.streamId;
    const range = await get<Page>(`/orders/history?start=${one}&end=${one}`);
    expect(range.body.messages.map((m) => m.data.orderId)).toEqual([2004]);
    expect((await get('/orders/history?count=abc')).status).toBe(400);
    expect((await get('/orders/history?start=yesterday')).status).toBe(400);
  });

  test('GET /stream/info and /orders/pending: groups, consumers, lag, pending, dead-letter size', async () => {
    type Info = { length: number; groups: { name: string; pending: number; lag: number | null; consumers: { name: string }[] }[]; deadLetters: { length: number } };
    await waitFor(async () => {
      const info = (await get<Info>('/stream/info')).body;
      return info.groups[0]?.pending === 0 && info.groups[0]?.lag === 0;
    }, { timeoutMs: 30_000, message: 'orders processed' });
    const info = (await get<Info>('/stream/info')).body;
    expect(info.length).toBe(7);
    expect(info.groups.map((g) => g.name)).toEqual(['order-processors']);
    expect(info.groups[0]!.consumers.map((c) => c.name)).toEqual([expect.stringMatching(new RegExp(`-${port}-c1$`))]);
    expect(info.deadLetters.length).toBe(0);
    expect((await get('/orders/pending')).body).toMatchObject({ group: 'order-processors', count: 0, entries: [] });

    // A poison order is pending (with its delivery count) while it waits for a retry.
    expect((await post('/orders', order(3001, 'poison'))).status).toBe(202);
    type Pending = { count: number; entries: { streamId: string; consumer: string; deliveries: number }[] };
    await waitFor(async () => {
      const pending = (await get<Pending>('/orders/pending')).body;
      return pending.count === 1 && pending.entries[0]!.deliveries >= 1;
    }, { timeoutMs: 30_000, message: 'the poison order pending' });
  });

  test('GET /dlq lists the poison order after 3 attempts; POST /dlq/redrive moves it back with its ID', async () => {
    type Letters = { count: number; total: number; letters: { deadLetterId: string; reason: string; deliveries: number; error: string; message: { id: string; data: { orderId: number; product: string } } }[] };
    await waitFor(async () => (await get<Letters>('/dlq')).body.total === 1, { timeoutMs: 30_000, message: 'poison order dead-lettered' });
    const [letter] = (await get<Letters>('/dlq')).body.letters;
    expect(letter).toMatchObject({ reason: 'max-deliveries', deliveries: 3, message: { data: { orderId: 3001, product: 'poison' } } });
    expect(letter!.error).toContain('cannot be shipped');
    expect((await get('/orders/pending')).body['count']).toBe(0);

    const dry = await post('/dlq/redrive', { dryRun: true });
    expect(dry.body).toMatchObject({ dryRun: true, moved: 0, ids: [letter!.deadLetterId] });
    expect(await client.xLen(`{${TOPIC}}:dlq`)).toBe(1);

    const moved = await post('/dlq/redrive', { reason: 'max-deliveries' });
    expect(moved.body).toMatchObject({ dryRun: false, moved: 1, ids: [letter!.deadLetterId] });
    const newStreamId = (moved.body['streamIds'] as string[])[0]!;
    const [entry] = (await client.xRange(`{${TOPIC}}`, newStreamId, newStreamId)) ?? [];
    expect(entry!.message['id']).toBe(letter!.message.id);
    // Still poison: it fails its 3 attempts again and comes back, same application ID.
    await waitFor(async () => (await get<Letters>('/dlq')).body.total === 1 && (await client.xLen(`{${TOPIC}}:dlq`)) === 1, { timeoutMs: 30_000, message: 'dead-lettered again' });
    expect((await get<Letters>('/dlq')).body.letters[0]!.message.id).toBe(letter!.message.id);

    expect((await post('/dlq/redrive', { ids: ['not-an-id'] })).status).toBe(400);
  });

  test('a second instance on another PORT joins the group and shares the work', async () => {
    const portB = await getFreePort();
    const b = startExample('orders-api.ts', { env: serviceEnv(portB) });
    let stopped: ExampleRun;
    try {
      await b.waitForOutput('orders api listening on', 60_000);
      type Stats = { instance: string; processed: number };
      const urlB = `http://127.0.0.1:${portB}`;
      const before = [(await get<Stats>('/stats')).body.processed, (await get<Stats>('/stats', urlB)).body.processed];
      for (let i = 1; i <= 30; i++) expect((await post('/orders', order(4000 + i))).status).toBe(202);
      let after = before;
      await waitFor(async () => {
        after = [(await get<Stats>('/stats')).body.processed, (await get<Stats>('/stats', urlB)).body.processed];
        return after[0]! - before[0]! + after[1]! - before[1]! === 30;
      }, { timeoutMs: 30_000, message: '30 orders processed by the two instances' });
      expect(after[0]! - before[0]!).toBeGreaterThan(0);
      expect(after[1]! - before[1]!).toBeGreaterThan(0);
      type Info = { groups: { consumers: { name: string }[] }[] };
      const consumers = (await get<Info>('/stream/info')).body.groups[0]!.consumers.map((c) => c.name);
      expect(consumers).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`-${port}-c1$`)), expect.stringMatching(new RegExp(`-${portB}-c1$`))]));
    } finally {
      b.signal('SIGTERM');
      stopped = await finished(b, 30_000);
    }
    if (stopped.code !== 0) throw new Error(`SIGTERM did not stop instance B cleanly: ${explain(stopped)}`);
  });
});
