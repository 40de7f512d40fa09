/**
 * Each example's bounded run, as a child process against a redis-server of its own: what the
 * script prints (its `summary:` line) and what it leaves in Redis.
 */
import { createClient, type RedisClientType } from 'redis';
import { type RedisServer, startRedis } from '@tributary/test-utils';
import { type ExampleRun, explain, finished, parseSummary, runExample, startExample } from './run-example.js';

jest.setTimeout(180_000);

let server: RedisServer;
let client: RedisClientType;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startRedis();
  client = createClient({ url: server.url });
  await client.connect();
  env = { REDIS_URL: server.url };
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

function expectSuccess(run: ExampleRun): void {
  if (run.code !== 0) throw new Error(explain(run));
}

/** Keys whose name starts with a topic's hash tag. */
async function topicKeys(tag: string): Promise<string[]> {
  return (await client.keys(`${tag}*`)).sort();
}

describe('consumer-group-readable', () => {
  test('--messages 30: three members share the events, each gets different ones, nothing is left', async () => {
    const run = await runExample('consumer-group-readable.ts', { args: ['--messages', '30'], env });
    expectSuccess(run);
    const s = run.summary;
    expect({ published: s['published'], handled: s['handled'], duplicates: s['duplicates'], pending: s['pending'] })
      .toEqual({ published: '30', handled: '30', duplicates: '0', pending: '0' });
    const shares = ['consumer-1', 'consumer-2', 'consumer-3'].map((id) => Number(s[id]));
    expect(shares.reduce((a, b) => a + b, 0)).toBe(30);
    for (const share of shares) expect(share).toBeGreaterThan(0);
    expect(run.output).toContain('consumer-1: an event with type "my-event" was received:');
    expect(await topicKeys('{example-my-stream-topic}')).toEqual([]);
  });

  test('--readable --keep: members consume through a Readable; every entry is acked', async () => {
    const run = await runExample('consumer-group-readable.ts', { args: ['--messages', '12', '--members', '2', '--readable', '--keep'], env });
    expectSuccess(run);
    expect(run.summary).toMatchObject({ published: '12', handled: '12', duplicates: '0', pending: '0' });
    const groups = await client.xInfoGroups('{example-my-stream-topic}');
    expect(groups.map((g) => [g.name, Number(g.consumers), Number(g.pending)])).toEqual([['some-consumer-group', 2, 0]]);
    await client.del(await topicKeys('{example-my-stream-topic}'));
  });

  test('members in separate processes each get different events; SIGTERM stops them gracefully', async () => {
    const members = ['consumer-1', 'consumer-2'].map((id) => startExample('consumer-group-readable.ts', { args: ['--member', id], env }));
    await Promise.all(members.map((m) => m.waitForOutput('is listening', 60_000)));
    const producer = await runExample('consumer-group-readable.ts', { args: ['--produce', '20'], env });
    expectSuccess(producer);
    expect(producer.summary).toEqual({ published: '20' });
    // Every event delivered to the group and acked.
    await waitForGroup('{example-my-stream-topic}', 'some-consumer-group', (g) => g.entriesRead === 20 && g.pending === 0);
    for (const m of members) m.signal('SIGTERM');
    const runs = await Promise.all(members.map((m) => finished(m, 30_000)));
    for (const run of runs) expectSuccess(run);
    const handled = runs.map((r) => Number(r.summary['handled']));
    expect(handled[0]! + handled[1]!).toBe(20);
    expect(Math.min(...handled)).toBeGreaterThan(0);
    const seen = runs.flatMap((r) => [...r.output.matchAll(/"n":(\d+)/g)].map((m) => Number(m[1])));
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await client.del(await topicKeys('{example-my-stream-topic}'));
  });
});

async function waitForGroup(stream: string, group: string, check: (g: { entriesRead: number; pending: number }) => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = (await client.xInfoGroups(stream)).find((g) => g.name === group);
    const state = { entriesRead: Number(info?.['entries-read'] ?? -1), pending: Number(info?.pending ?? -1) };
    if (info && check(state)) return;
    if (Date.now() > deadline) throw new Error(`group ${group} never reached the expected state: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('scenarios --messages 12: 1:1, 1:N, N:1, N:N deliver every message once, spread over the consumers', async () => {
  const run = await runExample('scenarios.ts', { args: ['--messages', '12'], env });
  expectSuccess(run);
  expect(run.summary).toMatchObject({ scenarios: '4', produced: '48', consumed: '48', duplicates: '0', lost: '0', '1:1': 'C1:12', 'N:1': 'C1:12' });
  for (const name of ['1:N', 'N:N']) {
    const shares = run.summary[name]!.split(',').map((p) => Number(p.split(':')[1]));
    expect(shares).toHaveLength(3);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(12);
    for (const share of shares) expect(share).toBeGreaterThan(0);
  }
  expect(run.output).toContain('N:N: 3 producers → 3 consumers in one group');
  expect(run.output).toMatch(/stream order: 1:P1→C\d/);
  expect(await client.keys('{example-scenario-*')).toEqual([]);
});

describe('checkpoint-reader', () => {
  const checkpointKey = '{example-checkpoint}:checkpoint:audit-log';

  test('--messages 6 twice: the second run resumes after the first one\'s last entry', async () => {
    const first = await runExample('checkpoint-reader.ts', { args: ['--messages', '6', '--reset'], env });
    expectSuccess(first);
    expect(first.summary).toMatchObject({
      'resumed-from': 'none', published: '6', handled: '6', 'first-seq': '1', 'last-seq': '6', restarts: '1', retried: '1', duplicates: '0', 'in-order': 'true',
    });
    expect(await client.get(checkpointKey)).toBe(first.summary['position']);
    const [last] = (await client.xRevRange('{example-checkpoint}', '+', '-', { COUNT: 1 })) ?? [];
    expect(first.summary['position']).toBe(last!.id);

    const second = await runExample('checkpoint-reader.ts', { args: ['--messages', '6'], env });
    expectSuccess(second);
    expect(second.summary).toMatchObject({
      'resumed-from': first.summary['position'], published: '6', handled: '6', 'first-seq': '7', 'last-seq': '12', duplicates: '0', 'in-order': 'true',
    });
    expect(second.output).toContain(`started after ${first.summary['position']}`);
    expect(await client.get(checkpointKey)).toBe(second.summary['position']);
  });

  test('unbounded, stopped with SIGTERM: exits 0 with the position stored at the last entry', async () => {
    const child = startExample('checkpoint-reader.ts', { env });
    const first = await child.waitForOutput(/entry #\d+ "event \d+"/, 60_000);
    const seq = Number(/entry #(\d+)/.exec(first)![1]);
    await child.waitForOutput(`entry #${seq + 1} `, 30_000);
    child.signal('SIGTERM');
    const run = await finished(child, 30_000);
    expectSuccess(run);
    const [last] = (await client.xRevRange('{example-checkpoint}', '+', '-', { COUNT: 1 })) ?? [];
    expect(run.summary['position']).toBe(last!.id);
    expect(await client.get(checkpointKey)).toBe(last!.id);
    expect(run.summary['duplicates']).toBe('0');
    await client.del(await topicKeys('{example-checkpoint}'));
  });
});

test('typed-worker --messages 20: normal, broken and dead handlers; the dead-letter stream holds broken + dead', async () => {
  const run = await runExample('typed-worker.ts', { args: ['--messages', '20', '--keep'], env });
  expectSuccess(run);
  // Events 7 and 17 always fail (dead after 4 deliveries); events 2, 6, 10, 14, 18 fail once.
  expect(run.summary).toEqual({ published: '20', broken: '2', processed: '18', failures: '13', dead: '2', dlq: '4', pending: '0' });
  expect(run.output).toMatch(/read event from mystream: id: \S+, retry: 1, body: \{"message":"message","name":"name","foo":2,/);
  expect(run.output).toMatch(/read broken event from mystream: .* err: /);
  expect(run.output).toMatch(/read from mystream is dead!!! id: \S+, retry: 3, body: \{[^}]*"foo":7,/);
  const letters = (await client.xRange('{example-mystream}:dlq', '-', '+')) ?? [];
  expect(letters.map((l) => l.message['dlq:reason']).sort()).toEqual(['decode', 'max-deliveries', 'max-deliveries', 'validation']);
  expect(letters.filter((l) => l.message['dlq:reason'] === 'max-deliveries').map((l) => l.message['dlq:deliveries'])).toEqual(['4', '4']);
  const pending = await client.xPending('{example-mystream}', 'mygroup');
  expect(Number(pending.pending)).toBe(0);
  await client.del(await topicKeys('{example-mystream}'));
});

describe('dlq-redrive', () => {
  test('--messages 12: EUR payments dead-lettered by the bug are redriven after the fix, keeping their IDs', async () => {
    const run = await runExample('dlq-redrive.ts', { args: ['--messages', '12', '--keep'], env });
    expectSuccess(run);
    expect(run.summary).toEqual({
      published: '12', junk: '1', 'dead-lettered': '4', 'would-move': '3', redriven: '3', processed: '12', duplicates: '0', 'dlq-left': '1', pending: '0',
    });
    expect(run.output).toMatch(/max-deliveries deliveries=2 {2}Error: unsupported currency EUR/);
    // Only the undecodable entry is left in the dead-letter stream.
    const letters = (await client.xRange('{example-payments}:dlq', '-', '+')) ?? [];
    expect(letters.map((l) => [l.message['dlq:reason'], l.message['id']])).toEqual([['decode', 'junk-1']]);
    // The redriven payments are in the stream twice (failed original + redriven copy) with the same application ID.
    const entries = (await client.xRange('{example-payments}', '-', '+')) ?? [];
    const ids = entries.map((e) => e.message['id']!);
    const repeated = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
    expect(repeated).toHaveLength(3);
    const payloads = entries.filter((e) => repeated.includes(e.message['id']!)).map((e) => JSON.parse(e.message['data']!) as { currency: string });
    expect(new Set(payloads.map((p) => p.currency))).toEqual(new Set(['EUR']));
    expect(Number((await client.xPending('{example-payments}', 'payments')).pending)).toBe(0);
  });

  test('--purge empties the dead-letter stream; without --keep no key is left', async () => {
    const run = await runExample('dlq-redrive.ts', { args: ['--messages', '8', '--purge'], env });
    expectSuccess(run);
    expect(run.summary).toMatchObject({ published: '8', redriven: '2', processed: '8', 'dlq-left': '0', pending: '0' });
    expect(await topicKeys('{example-payments}')).toEqual([]);
  });
});

test('parseSummary reads the last summary line', () => {
  expect(parseSummary('x\nsummary: a=1 b=c=d\nsummary: a=2 lost=0\n')).toEqual({ a: '2', lost: '0' });
});
