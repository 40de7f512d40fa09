import { createClient, createCluster } from 'redis';
import { z } from 'zod';
import { type Commander, DecodeFailure, defineTopic, encodeMessage, ErrorCode, InvalidArgumentError, toCommander, type Topic } from '@tributary/core';
import { type HistoryOptions, type HistoryPage, iterateHistory, readHistory } from '@tributary/consumer-group';
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster, uniqueName } from '@tributary/test-utils';

const types = {
  tick: z.object({ n: z.number() }),
  note: z.object({ text: z.string() }),
};
type Types = typeof types;

function newTopic(): Topic<Types> {
  return defineTopic({ name: uniqueName('history'), types });
}

/** XADD one tick with an explicit (or automatic) ID; returns the ID. */
async function addTick(c: Commander, topic: Topic<Types>, n: number, id = '*'): Promise<string> {
  const key = topic.keys.stream;
  return String(await c.send(key, ['XADD', key, id, ...encodeMessage(topic, { type: 'tick', data: { n } })]));
}

async function addTicks(c: Commander, topic: Topic<Types>, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) ids.push(await addTick(c, topic, n));
  return ids;
}

const ns = (page: HistoryPage<Types>) => page.messages.map((m) => (m.type === 'tick' ? m.data.n : -1));

async function readAllPages(c: Commander, options: HistoryOptions<Types>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let current = options;
  for (;;) {
    const page = await readHistory(c, current);
    pages++;
    ids.push(...page.messages.map((m) => m.streamId));
    if (page.next === undefined) return { ids, pages };
    current = options.reverse ? { ...current, end: page.next } : { ...current, start: page.next };
  }
}

describe('readHistory / iterateHistory (standalone)', () => {
  let server: RedisServer;
  let client: ReturnType<typeof createClient>;
  let c: Commander;

  beforeAll(async () => {
    server = await startRedis();
    client = createClient({ url: server.url });
    client.on('error', () => {});
    await client.connect();
    c = toCommander(client);
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('reads a range with start, end and count, oldest first, decoded and typed', async () => {
    const topic = newTopic();
    const ids = [];
    for (let n = 0; n < 10; n++) ids.push(await addTick(c, topic, n, `${1000 + n}-0`));

    const all = await readHistory(client, { topic });
    expect(ns(all)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(all.messages.map((m) => m.streamId)).toEqual(ids);
    expect(all.malformed).toEqual([]);
    expect(all.next).toBeUndefined();
    const first = all.messages[0]!;
    expect(first).toMatchObject({ streamId: '1000-0', type: 'tick', data: { n: 0 }, headers: {} });
    expect(typeof first.id).toBe('string');

    const range = await readHistory(c, { topic, start: '1002-0', end: '1006-0' });
    expect(ns(range)).toEqual([2, 3, 4, 5, 6]);
    expect(range.next).toBeUndefined();

    const limited = await readHistory(c, { topic, start: '1002-0', end: '1006-0', count: 3 });
    expect(ns(limited)).toEqual([2, 3, 4]);
    expect(limited.next).toBe('(1004-0');
    const rest = await readHistory(c, { topic, start: limited.next, end: '1006-0', count: 3 });
    expect(ns(rest)).toEqual([5, 6]);
    expect(rest.next).toBeUndefined();

    // A page that ends exactly at the end of the range says so (no empty extra page).
    const exact = await readHistory(c, { topic, start: '1005', count: 5 });
    expect(ns(exact)).toEqual([5, 6, 7, 8, 9]);
    expect(exact.next).toBeUndefined();
  });

  it('reads newest first with reverse, paging towards older entries with next as end', async () => {
    const topic = newTopic();
    for (let n = 0; n < 10; n++) await addTick(c, topic, n, `${1000 + n}-0`);

    const newest = await readHistory(c, { topic, reverse: true, count: 3 });
    expect(ns(newest)).toEqual([9, 8, 7]);
    expect(newest.next).toBe('(1007-0');
    const older = await readHistory(c, { topic, reverse: true, count: 3, end: newest.next });
    expect(ns(older)).toEqual([6, 5, 4]);

    // start and end keep their meaning (lower and upper end) when reversed.
    const window = await readHistory(c, { topic, reverse: true, start: '1002-0', end: '1005-0' });
    expect(ns(window)).toEqual([5, 4, 3, 2]);
    expect(window.next).toBeUndefined();
  });

  it('pages with next cover the whole stream exactly once, in both directions', async () => {
    const topic = newTopic();
    const ids = await addTicks(c, topic, 250);

    const forward = await readAllPages(c, { topic, count: 7 });
    expect(forward.ids).toEqual(ids);
    expect(forward.pages).toBe(Math.ceil(250 / 7));

    const backward = await readAllPages(c, { topic, count: 7, reverse: true });
    expect(backward.ids).toEqual([...ids].reverse());

    const iterated: string[] = [];
    let pages = 0;
    for await (const page of iterateHistory(client, { topic, count: 50 })) {
      pages++;
      expect(page.messages.length).toBe(50);
      iterated.push(...page.messages.map((m) => m.streamId));
    }
    expect(iterated).toEqual(ids);
    expect(pages).toBe(5);

    const reversed: string[] = [];
    for await (const page of iterateHistory(c, { topic, count: 33, reverse: true, start: ids[100] })) {
      reversed.push(...page.messages.map((m) => m.streamId));
    }
    expect(reversed).toEqual(ids.slice(100).reverse());
  });

  it('accepts Date and millisecond bounds: a start from the first entry of that ms, an end through its last', async () => {
    const topic = newTopic();
    const ids = ['2000-0', '2000-1', '2001-0', '2002-0', '2002-7', '2003-5'];
    for (const [n, id] of ids.entries()) await addTick(c, topic, n, id);

    const byDate = await readHistory(c, { topic, start: new Date(2001), end: new Date(2002) });
    expect(byDate.messages.map((m) => m.streamId)).toEqual(['2001-0', '2002-0', '2002-7']);

    const byMs = await readHistory(c, { topic, end: 2000 });
    expect(byMs.messages.map((m) => m.streamId)).toEqual(['2000-0', '2000-1']);

    const mixed = await readHistory(c, { topic, start: 2002, end: '+', reverse: true });
    expect(mixed.messages.map((m) => m.streamId)).toEqual(['2003-5', '2002-7', '2002-0']);

    const none = await readHistory(c, { topic, start: new Date(5000) });
    expect(none).toEqual({ messages: [], malformed: [], next: undefined });
  });

  it('reports malformed entries with the reason and fields, never throws, and counts them in the page', async () => {
    const topic = newTopic();
    const key = topic.keys.stream;
    const add = async (...fields: string[]) => String(await c.send(key, ['XADD', key, '*', ...fields]));
    const good1 = await addTick(c, topic, 1);
    const noType = await add('data', '{}');
    const unknownType = await add('type', 'nope', 'data', '{}');
    const badJson = await add('type', 'tick', 'data', '{not json');
    const badSchema = await add('type', 'tick', 'data', '{"n":"one"}');
    const good2 = await addTick(c, topic, 2);

    const page = await readHistory(c, { topic });
    expect(page.messages.map((m) => m.streamId)).toEqual([good1, good2]);
    expect(page.malformed.map((m) => m.streamId)).toEqual([noType, unknownType, badJson, badSchema]);
    const [a, b, d, e] = page.malformed;
    expect(a!.error).toMatchObject({ code: ErrorCode.Decode, reason: DecodeFailure.MissingType });
    expect(a!.fields).toEqual({ data: '{}' });
    expect(b!.error).toMatchObject({ code: ErrorCode.Decode, reason: DecodeFailure.UnknownType });
    expect(d!.error).toMatchObject({ code: ErrorCode.Decode, reason: DecodeFailure.InvalidPayload });
    expect(e!.error).toMatchObject({ code: ErrorCode.Validation });
    expect(e!.fields).toEqual({ type: 'tick', data: '{"n":"one"}' });

    // count covers entries, malformed included, and paging still sees everything once.
    const small = await readHistory(c, { topic, count: 2 });
    expect(small.messages.length + small.malformed.length).toBe(2);
    const seen: string[] = [];
    for await (const p of iterateHistory(c, { topic, count: 4 })) {
      seen.push(...p.messages.map((m) => m.streamId), ...p.malformed.map((m) => m.streamId));
    }
    expect(seen.sort()).toEqual([good1, noType, unknownType, badJson, badSchema, good2].sort());
  });

  it('returns an empty page for a missing stream, and iterateHistory yields nothing', async () => {
    const topic = newTopic();
    await expect(readHistory(c, { topic })).resolves.toEqual({ messages: [], malformed: [], next: undefined });
    const pages = [];
    for await (const page of iterateHistory(c, { topic })) pages.push(page);
    expect(pages).toEqual([]);
  });

  it('turns a server error (key is not a stream) into a TributaryError', async () => {
    const topic = newTopic();
    await c.send(topic.keys.stream, ['SET', topic.keys.stream, 'x']);
    await expect(readHistory(c, { topic })).rejects.toMatchObject({ code: ErrorCode.Redis, message: expect.stringContaining('WRONGTYPE') });
  });

  it.each([
    [{ count: 0 }, 'HistoryOptions.count'],
    [{ count: 10_001 }, 'HistoryOptions.count'],
    [{ count: 1.5 }, 'HistoryOptions.count'],
    [{ start: 'yesterday' }, 'HistoryOptions.start'],
    [{ start: '+' }, 'HistoryOptions.start'],
    [{ start: -1 }, 'HistoryOptions.start'],
    [{ end: new Date('not a date') }, 'HistoryOptions.end'],
    [{ end: '-' }, 'HistoryOptions.end'],
    [{ end: '1-2-3' }, 'HistoryOptions.end'],
    [{ reverse: 'yes' }, 'HistoryOptions.reverse'],
    [{ limit: 5 }, 'HistoryOptions.limit'],
    [{ topic: 'orders' }, 'HistoryOptions.topic'],
  ])('rejects invalid options %j with InvalidArgumentError naming %s', async (patch, field) => {
    const options = { topic: newTopic(), ...patch } as unknown as HistoryOptions<Types>;
    const error = await readHistory(c, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: ErrorCode.InvalidArgument, field });
    await expect(iterateHistory(c, options).next()).rejects.toMatchObject({ field });
  });
});

describe('readHistory on Redis Cluster', () => {
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

  it('reads and pages topics living in different slots', async () => {
    const c = toCommander(client);
    expect(c.isCluster).toBe(true);
    for (let t = 0; t < 3; t++) {
      const topic = newTopic();
      const ids = await addTicks(c, topic, 25);
      const forward = await readAllPages(c, { topic, count: 10 });
      expect(forward.ids).toEqual(ids);
      const newest = await readHistory(client, { topic, reverse: true, count: 5 });
      expect(newest.messages.map((m) => m.streamId)).toEqual(ids.slice(-5).reverse());
    }
  });
});
