// Topic keys and the Commander on a real 3-master Redis Cluster (started by @tributary/test-utils).
import { createClient } from 'redis';
import {
  connectRedisCluster,
  defineScript,
  detectCapabilities,
  parseEntries,
  toCommander,
  toTributaryError,
  topicKeys,
  type Commander,
  type RedisClientLike,
} from '@tributary/core';
import { type RedisCluster, startRedisCluster } from '@tributary/test-utils';

/** What the tests need of a plain per-node client. */
interface NodeClient {
  sendCommand(args: string[]): Promise<unknown>;
  keys(pattern: string): Promise<string[]>;
}

let cluster: RedisCluster;
let commander: Commander;
/** One plain client per master, to ask each node what it holds. */
let nodes: NodeClient[] = [];
const opened: RedisClientLike[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  const redis = await connectRedisCluster({ rootNodes: cluster.rootNodes.map((n) => n.url) });
  opened.push(redis as unknown as RedisClientLike);
  commander = toCommander(redis as unknown as RedisClientLike);
  nodes = await Promise.all(
    cluster.nodes.map(async (node) => {
      const client = createClient({ url: node.url });
      client.on('error', () => {});
      opened.push(client as unknown as RedisClientLike);
      await client.connect();
      return client;
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(opened.map(async (c) => (c.isOpen ? c.close() : undefined)));
  await cluster?.stop();
});

const keyslot = async (key: string) => Number(await nodes[0]!.sendCommand(['CLUSTER', 'KEYSLOT', key]));

/** Which master (index into `nodes`) serves `slot`, from CLUSTER SLOTS. */
async function ownerOf(slot: number): Promise<number> {
  const slots = (await nodes[0]!.sendCommand(['CLUSTER', 'SLOTS'])) as [number, number, [string, number, ...unknown[]]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to);
  if (!range) throw new Error(`slot ${slot} is not served`);
  const port = Number(range[2][1]);
  return cluster.nodes.findIndex((n) => n.port === port);
}

const allKeys = (name: string) => {
  const keys = topicKeys(name);
  return [keys.stream, keys.deadLetter, keys.checkpoint('r'), keys.idempotency('k')];
};

// The cluster is private to this file, so fixed, readable topic names are unique here; fixed
// names also make the spread across masters deterministic.
const TOPICS = [
  'orders', 'payments', 'invoices', 'shipments', 'users.signup', 'users.login', 'emails', 'sms',
  'audit', 'inventory', 'cart', 'search.index', 'notifications', 'refunds', 'reviews', 'metrics',
  'billing:eu', 'billing:us', 'заказы', 'events-2024',
];

describe('topic keys on Redis Cluster', () => {
  test('the commander knows it talks to a cluster', () => {
    expect(commander.isCluster).toBe(true);
  });

  test('all keys of a topic report the same CLUSTER KEYSLOT', async () => {
    for (const name of TOPICS) {
      const slots = await Promise.all(allKeys(name).map(keyslot));
      expect({ name, slots }).toEqual({ name, slots: slots.map(() => slots[0]) });
      // …which is the slot of the bare name: the hash tag is exactly the topic name.
      expect(slots[0]).toBe(await keyslot(name));
    }
  });

  test('topics spread over all masters, and each topic lives on one master', async () => {
    for (const name of TOPICS) {
      const keys = topicKeys(name);
      await commander.send(keys.stream, ['XADD', keys.stream, '*', 'type', 't', 'data', '{}']);
      await commander.send(keys.deadLetter, ['XADD', keys.deadLetter, '*', 'type', 't', 'data', '{}']);
      await commander.send(keys.checkpoint('r'), ['SET', keys.checkpoint('r'), '0-0']);
      await commander.send(keys.idempotency('k'), ['SET', keys.idempotency('k'), '1', 'PX', '60000']);
    }
    const held = await Promise.all(nodes.map(async (node) => new Set(await node.keys('*'))));
    // Every master holds some topic's keys.
    expect(held.map((keys) => keys.size > 0)).toEqual([true, true, true]);
    for (const name of TOPICS) {
      const keys = allKeys(name);
      const holders = held.map((set, i) => (keys.every((k) => set.has(k)) ? i : -1)).filter((i) => i >= 0);
      expect({ name, holders }).toEqual({ name, holders: [await ownerOf(await keyslot(keys[0]!))] });
      // …and no other master holds any of them.
      expect(held.filter((set) => keys.some((k) => set.has(k)))).toHaveLength(1);
    }
  });
});

describe('Commander on Redis Cluster', () => {
  /** Moves the oldest entry of KEYS[1] to KEYS[2] atomically, like a dead-letter move. */
  const move = defineScript(`
    local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
    if #entries == 0 then return false end
    local id, fields = entries[1][1], entries[1][2]
    redis.call('XADD', KEYS[2], '*', 'source-id', id, unpack(fields))
    redis.call('XDEL', KEYS[1], id)
    return id
  `);

  /** One topic name (`<fixed name><suffix>`) per master, so routing to every node is exercised. */
  async function topicPerMaster(suffix: string): Promise<[string, string, string]> {
    const found: (string | undefined)[] = [undefined, undefined, undefined];
    for (const name of TOPICS.map((t) => `${t}${suffix}`)) {
      const owner = await ownerOf(await keyslot(name));
      found[owner] ??= name;
    }
    expect(found).not.toContain(undefined);
    return found as [string, string, string];
  }

  test('a multi-key script over {t} and {t}:dlq runs on every master, loading itself on NOSCRIPT', async () => {
    await Promise.all(nodes.map((node) => node.sendCommand(['SCRIPT', 'FLUSH'])));
    for (const name of await topicPerMaster('-move')) {
      const keys = topicKeys(name);
      const id = await commander.send<string>(keys.stream, ['XADD', keys.stream, '*', 'type', 'order.created', 'data', '{"n":1}']);
      expect(await commander.evalScript(move, [keys.stream, keys.deadLetter], [])).toBe(id);
      expect(await commander.send(keys.stream, ['XLEN', keys.stream])).toBe(0);
      const dlq = parseEntries(await commander.send(keys.deadLetter, ['XRANGE', keys.deadLetter, '-', '+']));
      expect(dlq.map((e) => e.fields)).toEqual([['source-id', id, 'type', 'order.created', 'data', '{"n":1}']]);
      // Nothing left to move: the script's `false` arrives as null.
      expect(await commander.evalScript(move, [keys.stream, keys.deadLetter], [])).toBeNull();
    }
    // Every master got the script (by the EVAL fallback).
    for (const node of nodes) expect(await node.sendCommand(['SCRIPT', 'EXISTS', move.sha1])).toEqual([1]);
  });

  test('a script over two topics fails with CROSSSLOT, mapped to ERR_CROSSSLOT', async () => {
    const [a, b, c] = await topicPerMaster('');
    // Two topics served by the same master are still different slots: CROSSSLOT too.
    const ownerOfA = await ownerOf(await keyslot(a));
    const owners = await Promise.all(TOPICS.map(async (name) => ownerOf(await keyslot(name))));
    const sameMaster = TOPICS.find((name, i) => name !== a && owners[i] === ownerOfA);
    expect(sameMaster).toBeDefined();
    const pairs: [string, string][] = [[a, b], [b, c], [a, sameMaster!]];
    for (const [x, y] of pairs) {
      const error = await commander.evalScript(move, [topicKeys(x).stream, topicKeys(y).deadLetter], []).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      const mapped = toTributaryError(error, 'dead-letter move');
      expect(mapped.code).toBe('ERR_CROSSSLOT');
      expect(mapped.cause).toBe(error);
    }
  });

  test('duplicate() opens a separate cluster connection', async () => {
    const copy = await commander.duplicate();
    try {
      expect(copy.isCluster).toBe(true);
      expect(copy.client).not.toBe(commander.client);
      const key = topicKeys('duplicate').stream;
      await copy.send(key, ['XADD', key, '1-1', 'type', 't', 'data', '{}']);
      expect(await commander.send(key, ['XLEN', key])).toBe(1);
    } finally {
      await copy.close();
    }
    expect(copy.client.isOpen).toBe(false);
    expect(commander.client.isOpen).toBe(true);
  });

  test('detectCapabilities works through a cluster connection', async () => {
    const caps = await detectCapabilities(commander);
    expect(caps.version[0]).toBe(7);
    expect(caps.streams70).toBe(true);
  });
});
