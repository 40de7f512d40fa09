import { resolve } from 'node:path';
import { createClient, createCluster } from 'redis';
import { z } from 'zod';
import {
  ClosedError,
  type Commander,
  DecodeFailure,
  defineTopic,
  encodeMessage,
  ErrorCode,
  InvalidArgumentError,
  toCommander,
  type Topic,
} from '@tributary/core';
import {
  type CheckpointReader,
  type CheckpointReaderEvents,
  type CheckpointReaderOptions,
  createCheckpointReader,
} from '@tributary/consumer-group';
import { type RedisCluster, type RedisServer, spawnScript, startRedis, startRedisCluster, uniqueName, waitFor } from '@tributary/test-utils';

const types = {
  tick: z.object({ n: z.number() }),
  note: z.object({ text: z.string() }),
};
type Types = typeof types;

const FIXTURE = resolve(__dirname, 'fixtures', 'checkpoint-worker.ts');
/** tsx in the child resolves `@tributary/*` through these `paths` (the packages' dist is not built). */
const TSCONFIG = resolve(__dirname, '..', '..', '..', 'tsconfig.test.json');

function newTopic(): Topic<Types> {
  return defineTopic({ name: uniqueName('ckpt'), types });
}

async function addTick(c: Commander, topic: Topic<Types>, n: number): Promise<string> {
  const key = topic.keys.stream;
  return String(await c.send(key, ['XADD', key, '*', ...encodeMessage(topic, { type: 'tick', data: { n } })]));
}

async function addTicks(c: Commander, topic: Topic<Types>, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < to; n++) ids.push(await addTick(c, topic, n));
  return ids;
}

/** Records every event of a reader, in order. */
function record<T extends Types>(reader: CheckpointReader<T>) {
  const events: { name: keyof CheckpointReaderEvents; payload: unknown }[] = [];
  for (const name of ['started', 'stopped', 'checkpoint', 'message-error', 'malformed', 'reader-error'] as const) {
    (reader.on as (e: string, l: (p: unknown) => void) => void)(name, (payload) => events.push({ name, payload }));
  }
  return {
    events,
    of: <K extends keyof CheckpointReaderEvents<T>>(name: K) =>
      events.filter((e) => e.name === name).map((e) => e.payload as CheckpointReaderEvents<T>[K][0]),
  };
}

describe('createCheckpointReader (standalone)', () => {
  let server: RedisServer;
  let client: ReturnType<typeof createClient>;
  let c: Commander;
  const readers: CheckpointReader<Types>[] = [];

  /** A reader stopped after the test whatever happens (stop() is idempotent). */
  function reader(options: Omit<CheckpointReaderOptions<Types>, 'blockMs'> & { blockMs?: number }): CheckpointReader<Types> {
    const created = createCheckpointReader(client, { blockMs: 500, retryDelayMs: 20, ...options });
    readers.push(created);
    return created;
  }

  beforeAll(async () => {
    server = await startRedis();
    client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    c = toCommander(client);
  });
  afterEach(async () => {
    await Promise.all(readers.splice(0).map((r) => r.stop({ timeoutMs: 1000 })));
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('handles messages in order, one at a time, and stores the position after each', async () => {
    const topic = newTopic();
    const ids = await addTicks(c, topic, 0, 20);
    const seen: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const r = reader({
      topic, name: 'indexer', startId: '0', batchSize: 7,
      handlers: {
        tick: async (m, ctx) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          expect(ctx).toMatchObject({ name: 'indexer', attempt: 1 });
          await new Promise((done) => setImmediate(done));
          seen.push(m.data.n);
          running--;
        },
      },
    });
    const log = record(r);
    expect(await r.position()).toBeUndefined();
    await r.start();
    expect(r.running).toBe(true);
    await waitFor(() => seen.length === 20);
    expect(seen).toEqual([...Array(20).keys()]);
    expect(maxRunning).toBe(1);
    await waitFor(async () => (await r.position()) === ids[19]);
    expect(String(await c.send(topic.keys.checkpoint('indexer'), ['GET', topic.keys.checkpoint('indexer')]))).toBe(ids[19]);
    expect(log.of('checkpoint').map((e) => e.position)).toEqual(ids);
    expect(log.of('started')).toEqual([{ name: 'indexer', position: '0-0' }]);
    expect(r.stats()).toEqual({ handled: 20, failedAttempts: 0, malformed: 0 });

    // New messages while blocked are picked up too.
    const more = await addTicks(c, topic, 20, 23);
    await waitFor(() => seen.length === 23);
    await r.stop();
    expect(r.running).toBe(false);
    expect(await r.position()).toBe(more[2]);
    expect(log.of('stopped')).toEqual([{ name: 'indexer', position: more[2], reason: 'requested', stats: { handled: 23, failedAttempts: 0, malformed: 0 } }]);
  });

  it('a new reader with the same name resumes after the stored position without reprocessing', async () => {
    const topic = newTopic();
    const first = await addTicks(c, topic, 0, 10);
    const seen1: number[] = [];
    const r1 = reader({ topic, name: 'projection', startId: '0', handlers: { tick: (m) => void seen1.push(m.data.n) } });
    await r1.start();
    await waitFor(() => seen1.length === 10);
    await r1.stop();
    expect(await r1.position()).toBe(first[9]);

    const second = await addTicks(c, topic, 10, 15);
    const seen2: number[] = [];
    const r2 = reader({ topic, name: 'projection', startId: '0', handlers: { tick: (m) => void seen2.push(m.data.n) } });
    const log = record(r2);
    await r2.start();
    expect(log.of('started')).toEqual([{ name: 'projection', position: first[9] }]);
    await waitFor(() => seen2.length === 5);
    await new Promise((done) => setTimeout(done, 100));
    expect(seen2).toEqual([10, 11, 12, 13, 14]);
    expect(await r2.position()).toBe(second[4]);
    expect(seen1).toEqual([...Array(10).keys()]);
  });

  it('retries a failing handler without advancing the checkpoint or the later messages, until it succeeds', async () => {
    const topic = newTopic();
    const ids = await addTicks(c, topic, 0, 4);
    const calls: string[] = [];
    let failuresLeft = 3;
    let positionWhileFailing: string | undefined;
    const r = reader({
      topic, name: 'flaky', startId: '0', retryDelayMs: 30, maxRetryDelayMs: 100,
      handlers: {
        tick: async (m, ctx) => {
          calls.push(`${m.data.n}#${ctx.attempt}`);
          if (m.data.n === 1 && failuresLeft-- > 0) {
            positionWhileFailing = await r.position();
            throw new Error(`boom ${ctx.attempt}`);
          }
        },
      },
    });
    const log = record(r);
    await r.start();
    await waitFor(async () => (await r.position()) === ids[3]);
    expect(calls).toEqual(['0#1', '1#1', '1#2', '1#3', '1#4', '2#1', '3#1']);
    expect(positionWhileFailing).toBe(ids[0]);
    const errors = log.of('message-error');
    expect(errors.map((e) => [e.streamId, e.attempt, e.retryInMs, (e.error as Error).message])).toEqual([
      [ids[1], 1, 30, 'boom 1'],
      [ids[1], 2, 60, 'boom 2'],
      [ids[1], 3, 100, 'boom 3'],
    ]);
    expect(errors[0]!.message).toMatchObject({ type: 'tick', data: { n: 1 } });
    // The checkpoint never moved past the failing message before it succeeded.
    expect(log.of('checkpoint').map((e) => e.position)).toEqual(ids);
    expect(r.stats()).toEqual({ handled: 4, failedAttempts: 3, malformed: 0 });
  });

  it('stop() during the retries of a failing message leaves the checkpoint before it', async () => {
    const topic = newTopic();
    const ids = await addTicks(c, topic, 0, 3);
    const r = reader({
      topic, name: 'stuck', startId: '0', retryDelayMs: 10_000,
      handlers: { tick: (m) => { if (m.data.n === 1) throw new Error('always'); } },
    });
    const log = record(r);
    await r.start();
    await waitFor(() => log.of('message-error').length === 1);
    const t0 = Date.now();
    await r.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await r.position()).toBe(ids[0]);
    expect(log.of('stopped')[0]).toMatchObject({ position: ids[0], reason: 'requested' });

    // The next run handles it again, then the rest.
    const seen: number[] = [];
    const again = reader({ topic, name: 'stuck', handlers: { tick: (m) => void seen.push(m.data.n) } });
    await again.start();
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([1, 2]);
  });

  it("without a checkpoint, startId '0' replays the stream and '$' (default) only takes new messages", async () => {
    const topic = newTopic();
    const old = await addTicks(c, topic, 0, 3);
    const fromStart: number[] = [];
    const fromNow: number[] = [];
    const all = reader({ topic, name: 'replayer', startId: '0', handlers: { tick: (m) => void fromStart.push(m.data.n) } });
    const fresh = reader({ topic, name: 'tailer', handlers: { tick: (m) => void fromNow.push(m.data.n) } });
    const freshLog = record(fresh);
    await all.start();
    await fresh.start();
    // '$' is resolved to the last entry at the first start and stored at once, so a restart
    // before any new message would not skip messages added meanwhile.
    expect(freshLog.of('started')).toEqual([{ name: 'tailer', position: old[2] }]);
    expect(await fresh.position()).toBe(old[2]);
    await addTicks(c, topic, 3, 5);
    await waitFor(() => fromStart.length === 5 && fromNow.length === 2);
    expect(fromStart).toEqual([0, 1, 2, 3, 4]);
    expect(fromNow).toEqual([3, 4]);

    // On an empty (absent) stream, '$' starts from the beginning of what comes.
    const empty = newTopic();
    const onEmpty: number[] = [];
    const r = reader({ topic: empty, name: 'early', handlers: { tick: (m) => void onEmpty.push(m.data.n) } });
    await r.start();
    expect(await r.position()).toBe('0-0');
    await addTicks(c, empty, 0, 2);
    await waitFor(() => onEmpty.length === 2);
  });

  it('stop() returns quickly while the read is blocked, and closes the dedicated connection', async () => {
    const topic = newTopic();
    // Connections are told apart by ID: earlier tests' readers may still be closing server-side,
    // so a plain count of clients can shrink under this test.
    const clients = async () =>
      new Map(String(await c.send(undefined, ['CLIENT', 'LIST'])).trim().split('\n').map((line) => [/\bid=(\d+)/.exec(line)![1]!, line]));
    const before = await clients();
    const r = reader({ topic, name: 'idle', blockMs: 30_000, handlers: { tick: () => {} } });
    await r.start();
    const opened = [...(await clients()).keys()].filter((id) => !before.has(id));
    expect(opened).toHaveLength(1);
    const [own] = opened as [string];
    // Blocked in its XREAD (flag b), not merely connected.
    await waitFor(async () => /\bflags=b\b.*\bcmd=xread\b/.test((await clients()).get(own) ?? ''));
    const t0 = Date.now();
    await r.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    await waitFor(async () => !(await clients()).has(own));
    await expect(r.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it('a read the server leaves unanswered past blockMs + 10 s is a reader-error (Timeout); after SIGCONT it reads on', async () => {
    const topic = newTopic();
    const seen: number[] = [];
    const r = reader({ topic, name: 'frozen', startId: '0', handlers: { tick: (m) => void seen.push(m.data.n) } });
    const log = record(r);
    await r.start();
    await waitFor(async () => /\bcmd=xread\b/.test(String(await c.send(undefined, ['CLIENT', 'LIST']))), { intervalMs: 20 });
    server.signal('SIGSTOP');
    const t0 = Date.now();
    try {
      // node-redis 6 drops its own command timer once the read is written: only the reader's
      // deadline (blockMs 500 + 10 s) can end this wait.
      await waitFor(() => log.of('reader-error').length > 0, { timeoutMs: 15_000, intervalMs: 50 });
    } finally {
      server.signal('SIGCONT');
    }
    // About blockMs + 10 s after the read was sent, which was at most blockMs (and a little) before t0.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(9_000);
    const [failure] = log.of('reader-error');
    expect(failure!.stage).toBe('read');
    expect(failure!.error.code).toBe(ErrorCode.Timeout);
    await addTicks(c, topic, 0, 3);
    await waitFor(() => seen.length === 3, { timeoutMs: 10_000 });
    expect(seen).toEqual([0, 1, 2]);
  }, 30_000);

  it('stop() lets the running handler finish and stores its position', async () => {
    const topic = newTopic();
    const [id] = await addTicks(c, topic, 0, 1);
    let finished = false;
    const r = reader({
      topic, name: 'slow', startId: '0',
      handlers: { tick: async () => { await new Promise((done) => setTimeout(done, 300)); finished = true; } },
    });
    const started = new Promise<void>((done) => r.once('started', () => done()));
    await r.start();
    await started;
    await new Promise((done) => setTimeout(done, 100));
    await r.stop();
    expect(finished).toBe(true);
    expect(await r.position()).toBe(id);
  });

  it('stop() gives up on a handler past its timeout: aborts its signal and stores nothing for it', async () => {
    const topic = newTopic();
    await addTicks(c, topic, 0, 1);
    let aborted: unknown;
    const r = reader({
      topic, name: 'hung', startId: '0',
      handlers: {
        tick: (_m, ctx) => new Promise((done) => ctx.signal.addEventListener('abort', () => {
          aborted = ctx.signal.reason;
          setTimeout(done, 50); // finishes after stop() returned: must not store
        })),
      },
    });
    await r.start();
    await new Promise((done) => setTimeout(done, 100));
    await r.stop({ timeoutMs: 200 });
    expect(aborted).toMatchObject({ code: ErrorCode.Timeout });
    await new Promise((done) => setTimeout(done, 150));
    expect(await r.position()).toBe('0-0');
  });

  it("reports malformed entries and skips them by default; 'stop' stops before them", async () => {
    const topic = newTopic();
    const key = topic.keys.stream;
    const good = await addTick(c, topic, 1);
    const bad = String(await c.send(key, ['XADD', key, '*', 'type', 'tick', 'data', '{"n":"x"}']));
    const note = String(await c.send(key, ['XADD', key, '*', ...encodeMessage(topic, { type: 'note', data: { text: 'hi' } })]));
    const last = await addTick(c, topic, 2);

    // Only `tick` has a handler: the `note` is malformed too (unhandled type).
    const seen: number[] = [];
    const skipper = reader({ topic, name: 'skipper', startId: '0', handlers: { tick: (m) => void seen.push(m.data.n) } });
    const skipLog = record(skipper);
    await skipper.start();
    await waitFor(async () => (await skipper.position()) === last);
    expect(seen).toEqual([1, 2]);
    const malformed = skipLog.of('malformed');
    expect(malformed.map((m) => [m.streamId, m.action])).toEqual([[bad, 'skipped'], [note, 'skipped']]);
    expect(malformed[0]!.error).toMatchObject({ code: ErrorCode.Validation });
    expect(malformed[0]!.fields).toEqual({ type: 'tick', data: '{"n":"x"}' });
    expect(malformed[1]!.error).toMatchObject({ code: ErrorCode.Decode, reason: DecodeFailure.UnknownType });
    expect(skipLog.of('checkpoint').map((e) => e.position)).toEqual([good, bad, note, last]);

    const stopper = reader({ topic, name: 'stopper', startId: '0', onMalformed: 'stop', handlers: { tick: () => {} } });
    const stopLog = record(stopper);
    const stopped = new Promise((done) => stopper.once('stopped', done));
    await stopper.start();
    await expect(stopped).resolves.toMatchObject({ name: 'stopper', position: good, reason: 'malformed' });
    expect(stopLog.of('malformed').map((m) => [m.streamId, m.action])).toEqual([[bad, 'stopped']]);
    expect(await stopper.position()).toBe(good);
    expect(stopper.running).toBe(false);

    // A default handler takes every declared type.
    const types: string[] = [];
    const all = reader({ topic, name: 'all', startId: '0', defaultHandler: (m) => void types.push(m.type) });
    await all.start();
    await waitFor(async () => (await all.position()) === last);
    expect(types).toEqual(['tick', 'note', 'tick']);
  });

  it('stops when its signal aborts', async () => {
    const topic = newTopic();
    const controller = new AbortController();
    const r = reader({ topic, name: 'signalled', signal: controller.signal, blockMs: 30_000, handlers: { tick: () => {} } });
    const stopped = new Promise((done) => r.once('stopped', done));
    await r.start();
    const t0 = Date.now();
    controller.abort();
    await stopped;
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('refuses a checkpoint key that does not hold a stream ID', async () => {
    const topic = newTopic();
    await c.send(topic.keys.checkpoint('broken'), ['SET', topic.keys.checkpoint('broken'), 'garbage']);
    const r = reader({ topic, name: 'broken', handlers: { tick: () => {} } });
    await expect(r.start()).rejects.toMatchObject({ code: ErrorCode.InvalidArgument, field: topic.keys.checkpoint('broken') });
  });

  it.each([
    [{ name: 'has space' }, 'CheckpointReaderOptions.name'],
    [{ name: '{tag}' }, 'CheckpointReaderOptions.name'],
    [{ name: '' }, 'CheckpointReaderOptions.name'],
    [{ handlers: undefined }, 'CheckpointReaderOptions.handlers'],
    [{ handlers: { tick: 'no' } }, 'CheckpointReaderOptions.handlers.tick'],
    [{ startId: '5-0' }, 'CheckpointReaderOptions.startId'],
    [{ blockMs: 0 }, 'CheckpointReaderOptions.blockMs'],
    [{ batchSize: 0 }, 'CheckpointReaderOptions.batchSize'],
    [{ retryDelayMs: -1 }, 'CheckpointReaderOptions.retryDelayMs'],
    [{ onMalformed: 'ignore' }, 'CheckpointReaderOptions.onMalformed'],
    [{ group: 'g' }, 'CheckpointReaderOptions.group'],
    [{ topic: undefined }, 'CheckpointReaderOptions.topic'],
  ])('rejects invalid options %j with InvalidArgumentError naming %s', (patch, field) => {
    const options = { topic: newTopic(), name: 'r', handlers: { tick: () => {} }, ...patch } as unknown as CheckpointReaderOptions<Types>;
    let error: unknown;
    try {
      createCheckpointReader(client, options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: ErrorCode.InvalidArgument, field });
  });

  it('survives kill -9: a restarted process resumes, only the message in progress may repeat', async () => {
    const topic = newTopic();
    const ids = await addTicks(c, topic, 0, 30);
    const env = { REDIS_URL: server.url, TOPIC: topic.name, READER: 'crashy', DELAY_MS: '40', TSX_TSCONFIG_PATH: TSCONFIG };
    const processedBy = (output: string) => [...output.matchAll(/^processed (\S+)$/gm)].map((m) => m[1]!);

    const first = spawnScript(FIXTURE, { env });
    try {
      await first.waitForOutput('ready');
      await waitFor(() => processedBy(first.output()).length >= 8, { message: 'first run handled 8 messages' });
    } finally {
      await first.kill('SIGKILL');
    }
    const run1 = processedBy(first.output());
    const storedAtKill = await c.send<string>(topic.keys.checkpoint('crashy'), ['GET', topic.keys.checkpoint('crashy')]);

    const second = spawnScript(FIXTURE, { env });
    try {
      await second.waitForOutput('ready');
      await waitFor(() => processedBy(second.output()).includes(ids[29]!), { message: 'second run reached the last message' });
      await waitFor(async () => (await c.send(topic.keys.checkpoint('crashy'), ['GET', topic.keys.checkpoint('crashy')])) === ids[29]);
      second.signal('SIGTERM');
      await second.waitForOutput('stopped');
      await expect(second.exited).resolves.toEqual({ code: 0, signal: null });
    } finally {
      await second.kill('SIGKILL');
    }
    const run2 = processedBy(second.output());
    expect(await c.send(topic.keys.checkpoint('crashy'), ['GET', topic.keys.checkpoint('crashy')])).toBe(ids[29]);

    // Each run handles in stream order; together they cover every message at least once.
    const order = (list: string[]) => list.map((id) => ids.indexOf(id));
    expect(order(run1)).toEqual([...order(run1)].sort((a, b) => a - b));
    expect(order(run2)).toEqual([...order(run2)].sort((a, b) => a - b));
    expect(new Set([...run1, ...run2])).toEqual(new Set(ids));
    // The only possible duplicate is the last message of run 1: handled, but killed before
    // its checkpoint was stored.
    const duplicates = run2.filter((id) => run1.includes(id));
    expect(duplicates.length).toBeLessThanOrEqual(1);
    if (duplicates.length === 1) {
      expect(duplicates[0]).toBe(run1[run1.length - 1]);
      expect(storedAtKill).not.toBe(duplicates[0]);
    }
    // Run 2 started right after the stored checkpoint.
    expect(ids.indexOf(run2[0]!)).toBe(ids.indexOf(storedAtKill) + 1);
  }, 60_000);
});

describe('createCheckpointReader on Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: ReturnType<typeof createCluster>;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = createCluster({ rootNodes: [...cluster.rootNodes] });
    client.on('error', () => {});
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('reads topics in different slots, stores positions, resumes, and stops quickly while blocked', async () => {
    const c = toCommander(client);
    const topics = [newTopic(), newTopic(), newTopic()];
    const seen = new Map<string, number[]>(topics.map((t) => [t.name, []]));
    const start = (topic: Topic<Types>) => {
      const r = createCheckpointReader(client, {
        topic, name: 'cluster-reader', startId: '0', blockMs: 10_000,
        handlers: { tick: (m) => void seen.get(topic.name)!.push(m.data.n) },
      });
      return r.start().then(() => r);
    };
    const readers = await Promise.all(topics.map(start));
    try {
      const ids = await Promise.all(topics.map((t) => addTicks(c, t, 0, 10)));
      await waitFor(() => topics.every((t) => seen.get(t.name)!.length === 10));
      for (const [i, r] of readers.entries()) await waitFor(async () => (await r.position()) === ids[i]![9]);
      await new Promise((done) => setTimeout(done, 200)); // blocked again
      const t0 = Date.now();
      await Promise.all(readers.map((r) => r.stop()));
      expect(Date.now() - t0).toBeLessThan(1000);
      for (const t of topics) expect(seen.get(t.name)).toEqual([...Array(10).keys()]);

      // A new reader resumes on each slot without reprocessing.
      await Promise.all(topics.map((t) => addTicks(c, t, 10, 13)));
      const again = await Promise.all(topics.map(start));
      readers.push(...again);
      await waitFor(() => topics.every((t) => seen.get(t.name)!.length === 13));
      for (const t of topics) expect(seen.get(t.name)).toEqual([...Array(13).keys()]);
    } finally {
      await Promise.all(readers.map((r) => r.stop({ timeoutMs: 1000 })));
    }
  });
});
