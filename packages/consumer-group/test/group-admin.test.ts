import { createClient } from 'redis';
import { z } from 'zod';
import { type Commander, defineTopic, detectCapabilities, encodeMessage, ErrorCode, InvalidArgumentError, parseReadReply, toCommander, type Topic } from '@tributary/core';
import { destroyGroup, ensureGroup, getGroupInfo, listConsumers, listGroups } from '@tributary/consumer-group';
import { type RedisServer, startRedis, uniqueName } from '@tributary/test-utils';

const types = { tick: z.object({ n: z.number() }) };
type Types = typeof types;

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

function newTopic(): Topic<Types> {
  return defineTopic({ name: uniqueName('admin'), types });
}

async function addTicks(topic: Topic<Types>, count: number): Promise<string[]> {
  const key = topic.keys.stream;
  const ids: string[] = [];
  for (let n = 0; n < count; n++) ids.push(String(await c.send(key, ['XADD', key, '*', ...encodeMessage(topic, { type: 'tick', data: { n } })])));
  return ids;
}

/** XREADGROUP `>` for a group; returns the IDs delivered. */
async function readNew(topic: Topic<Types>, group: string, consumer = 'c1', count = 100): Promise<string[]> {
  const key = topic.keys.stream;
  const reply = await c.send(key, ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count), 'STREAMS', key, '>']);
  return (parseReadReply(reply).get(key) ?? []).map((e) => e.id);
}

describe('ensureGroup', () => {
  it('is idempotent: created the first time, left alone afterwards', async () => {
    const topic = newTopic();
    await expect(ensureGroup(client, topic, 'billing')).resolves.toEqual({ created: true });
    await expect(ensureGroup(c, topic, 'billing')).resolves.toEqual({ created: false });
    await expect(ensureGroup(c, topic, 'billing', '0')).resolves.toEqual({ created: false });
    // MKSTREAM: the stream exists even though nothing was published yet.
    expect(Number(await c.send(topic.keys.stream, ['EXISTS', topic.keys.stream]))).toBe(1);
    expect((await listGroups(c, topic)).map((g) => g.name)).toEqual(['billing']);
  });

  it("an existing group keeps its position: a second call with another start ID changes nothing", async () => {
    const topic = newTopic();
    const ids = await addTicks(topic, 2);
    await ensureGroup(c, topic, 'g', '$');
    await ensureGroup(c, topic, 'g', '0');
    expect((await getGroupInfo(c, topic, 'g'))?.lastDeliveredId).toBe(ids[1]);
    expect(await readNew(topic, 'g')).toEqual([]);
  });

  it("starts at '$' (default: only new messages), '0' (a new group replays everything) or after a stream ID", async () => {
    const topic = newTopic();
    const old = await addTicks(topic, 3);
    await ensureGroup(c, topic, 'latest');
    await ensureGroup(c, topic, 'replay', '0');
    await ensureGroup(c, topic, 'after-first', old[0]);
    const fresh = await addTicks(topic, 1);

    expect(await readNew(topic, 'latest')).toEqual(fresh);
    expect(await readNew(topic, 'replay')).toEqual([...old, ...fresh]);
    expect(await readNew(topic, 'after-first')).toEqual([old[1], old[2], ...fresh]);
  });

  it.each(['latest', '>', '1-2-3', '', '-1', ' 0'])('rejects start ID %j with InvalidArgumentError field startId', async (startId) => {
    const topic = newTopic();
    const error = await ensureGroup(c, topic, 'g', startId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: ErrorCode.InvalidArgument, field: 'startId' });
    expect(Number(await c.send(topic.keys.stream, ['EXISTS', topic.keys.stream]))).toBe(0);
  });

  it.each(['', 'has space', '{braces}'])('rejects group name %j with InvalidArgumentError field group', async (group) => {
    await expect(ensureGroup(c, newTopic(), group)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument, field: 'group' });
  });
});

describe('listGroups / getGroupInfo / listConsumers', () => {
  it('report pending, lag, entries read, last delivered ID and consumers', async () => {
    const topic = newTopic();
    const key = topic.keys.stream;
    const ids = await addTicks(topic, 5);
    await ensureGroup(c, topic, 'busy', '0');
    await ensureGroup(c, topic, 'idle', '$');

    const delivered = [...(await readNew(topic, 'busy', 'c1', 2)), ...(await readNew(topic, 'busy', 'c2', 1))];
    expect(delivered).toEqual(ids.slice(0, 3));
    await c.send(key, ['XACK', key, 'busy', ids[0]!]);

    const groups = await listGroups(client, topic);
    expect(groups.map((g) => g.name).sort()).toEqual(['busy', 'idle']);
    // `entries-read` and `lag` exist from Redis 7.0.
    const has70 = (await detectCapabilities(c)).streams70;
    const busy = await getGroupInfo(c, topic, 'busy');
    expect(busy).toEqual({
      name: 'busy', consumers: 2, pending: 2, lastDeliveredId: ids[2],
      entriesRead: has70 ? 3 : undefined, lag: has70 ? 2 : undefined,
    });
    const idle = groups.find((g) => g.name === 'idle');
    expect(idle).toMatchObject({ name: 'idle', consumers: 0, pending: 0, lastDeliveredId: ids[4], lag: has70 ? 0 : undefined });
    await expect(getGroupInfo(c, topic, 'nope')).resolves.toBeUndefined();

    const consumers = await listConsumers(c, topic, 'busy');
    expect(consumers.map((x) => [x.name, x.pending])).toEqual([['c1', 1], ['c2', 1]]);
    for (const consumer of consumers) {
      expect(consumer.idleMs).toBeGreaterThanOrEqual(0);
      // XINFO CONSUMERS has `inactive` from Redis 7.2.
      expect(consumer.inactiveMs === undefined || consumer.inactiveMs >= 0).toBe(true);
    }
    await expect(listConsumers(c, topic, 'idle')).resolves.toEqual([]);
  });

  it('a missing stream has no groups; a missing group has no consumers to list (ERR_NOGROUP)', async () => {
    const topic = newTopic();
    await expect(listGroups(c, topic)).resolves.toEqual([]);
    await expect(getGroupInfo(c, topic, 'g')).resolves.toBeUndefined();
    await addTicks(topic, 1);
    await expect(listConsumers(c, topic, 'missing')).rejects.toMatchObject({ code: ErrorCode.NoGroup });
  });
});

describe('destroyGroup', () => {
  it('returns true when it deleted the group, false when there was none or no stream', async () => {
    const topic = newTopic();
    const ids = await addTicks(topic, 2);
    await ensureGroup(c, topic, 'g', '0');
    await ensureGroup(c, topic, 'other', '0');
    await readNew(topic, 'g');
    expect((await getGroupInfo(c, topic, 'g'))?.pending).toBe(2);

    await expect(destroyGroup(client, topic, 'g')).resolves.toBe(true);
    await expect(destroyGroup(c, topic, 'g')).resolves.toBe(false);
    expect((await listGroups(c, topic)).map((g) => g.name)).toEqual(['other']);
    // The entries stay for the other groups.
    expect(await readNew(topic, 'other')).toEqual(ids);

    await expect(destroyGroup(c, newTopic(), 'g')).resolves.toBe(false);
  });
});
