// Runs every TypeScript example of packages/core/README.md, verbatim, and checks (last test)
// that the README and this file still show the same code. README examples show values as bare
// expressions with the result in a comment, hence:
/* eslint-disable @typescript-eslint/no-unused-expressions */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { z } from 'zod';
import {
  DecodeError,
  ErrorCode,
  ValidationError,
  connectRedis,
  connectRedisCluster,
  decodeMessage,
  defineScript,
  defineTopic,
  detectCapabilities,
  encodeMessage,
  parseEntries,
  pairsToObject,
  retentionArgs,
  toCommander,
  toTributaryError,
  topicKeys,
  type Codec,
  type RedisClientLike,
} from '@tributary/core';
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from '@tributary/test-utils';

// ── README: "Defining a topic" ───────────────────────────────────────────────────────────
const orders = defineTopic({
  name: 'orders',
  types: {
    'order.created': z.object({ orderId: z.string(), amount: z.number().positive() }),
    'order.cancelled': z.object({ orderId: z.string(), reason: z.string().optional() }),
  },
  retention: { maxLen: 100_000 },
});

// ── README: "Wire format" ────────────────────────────────────────────────────────────────
const fields = encodeMessage(orders, {
  type: 'order.created',
  data: { orderId: 'o-1', amount: 42 },
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
});
// ['type', 'order.created', 'data', '{"orderId":"o-1","amount":42}',
//  'id', '<random UUID>', 'ts', '<Date.now()>', 'h:traceparent', '00-4bf9…-01']

const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

let server: RedisServer;
let cluster: RedisCluster;
const savedEnv = { url: process.env.REDIS_URL, nodes: process.env.REDIS_CLUSTER_NODES };

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  process.env.REDIS_URL = server.url;
  process.env.REDIS_CLUSTER_NODES = cluster.rootNodes.map((n) => n.url).join(',');
}, 60_000);

afterAll(async () => {
  for (const [name, value] of [['REDIS_URL', savedEnv.url], ['REDIS_CLUSTER_NODES', savedEnv.nodes]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.allSettled([server?.stop(), cluster?.stop()]);
});

/** Runs `fn` with a plain client on the standalone server, closed afterwards. */
async function withClient<T>(fn: (client: RedisClientLike) => Promise<T>): Promise<T> {
  const client = createClient({ url: server.url }) as unknown as RedisClientLike;
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Captures console.log while `fn` runs. */
async function logsOf(fn: () => Promise<void>): Promise<unknown[][]> {
  const spy = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await fn();
    return spy.mock.calls;
  } finally {
    spy.mockRestore();
  }
}

describe('README examples', () => {
  test('defining a topic', () => {
    expect(orders.name).toBe('orders');
    expect(orders.keys.stream).toBe('{orders}');
    expect(orders.retention).toEqual({ maxLen: 100_000 });
    expect(orders.typeNames).toEqual(['order.created', 'order.cancelled']);
  });

  test('wire format: encodeMessage gives the documented field list', () => {
    expect(fields).toEqual([
      'type', 'order.created',
      'data', '{"orderId":"o-1","amount":42}',
      'id', expect.stringMatching(/^[0-9a-f-]{36}$/),
      'ts', expect.stringMatching(/^[0-9]{13}$/),
      'h:traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ]);
  });

  test('wire format: the redis-cli example writes an entry Tributary decodes', async () => {
    const line = /```sh\n(redis-cli XADD[^\n]*)\n```/.exec(README)?.[1];
    expect(line).toBeDefined();
    const args = [...line!.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!).slice(1);
    const { stdout } = await promisify(execFile)('redis-cli', ['-h', server.host, '-p', String(server.port), ...args]);
    const streamId = stdout.trim();
    expect(streamId).toMatch(/^\d+-\d+$/);
    const decoded = await withClient(async (client) => {
      const [entry] = parseEntries(await toCommander(client).send(orders.keys.stream, ['XRANGE', orders.keys.stream, streamId, streamId]));
      return decodeMessage(orders, streamId, entry!.fields);
    });
    expect(decoded).toEqual({
      streamId,
      type: 'order.created',
      data: { orderId: 'o-1', amount: 42 },
      id: '6f1c2d3e-0a4b-4c5d-8e6f-7a8b9c0d1e2f',
      ts: 1_700_000_000_000,
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
  });

  test('wire format: decodeMessage and its errors', () => {
    function describeEntry(streamId: string, fields: string[] | null): string {
      try {
        const message = decodeMessage(orders, streamId, fields);
        if (message.type === 'order.created') return `order ${message.data.orderId}: ${message.data.amount}`;
        return `cancelled ${message.data.orderId}`;
      } catch (error) {
        if (error instanceof ValidationError) return `invalid: ${error.issues.map((i) => i.path).join(', ')}`;
        if (error instanceof DecodeError) return `undecodable: ${error.reason}`;
        throw error;
      }
    }

    describeEntry('1-0', ['type', 'order.created', 'data', '{"orderId":"o-1","amount":42}']); // 'order o-1: 42'
    describeEntry('2-0', ['type', 'order.created', 'data', '{"orderId":7,"amount":42}']); // 'invalid: orderId'
    describeEntry('3-0', ['type', 'order.shipped', 'data', '{}']); // 'undecodable: unknown-type'
    describeEntry('4-0', null); // 'undecodable: deleted'

    expect(describeEntry('1-0', ['type', 'order.created', 'data', '{"orderId":"o-1","amount":42}'])).toBe('order o-1: 42');
    expect(describeEntry('2-0', ['type', 'order.created', 'data', '{"orderId":7,"amount":42}'])).toBe('invalid: orderId');
    expect(describeEntry('3-0', ['type', 'order.shipped', 'data', '{}'])).toBe('undecodable: unknown-type');
    expect(describeEntry('4-0', null)).toBe('undecodable: deleted');
    expect(describeEntry('5-0', ['type', 'order.cancelled', 'data', '{"orderId":"o-2"}'])).toBe('cancelled o-2');
  });

  test('keys and Redis Cluster', () => {
    const keys = topicKeys('orders'); // the same object as orders.keys
    keys.stream; // '{orders}'
    keys.deadLetter; // '{orders}:dlq'
    keys.checkpoint('audit-export'); // '{orders}:checkpoint:audit-export'
    keys.idempotency('order-42'); // '{orders}:idem:order-42'

    expect(keys.stream).toBe('{orders}');
    expect(keys.deadLetter).toBe('{orders}:dlq');
    expect(keys.checkpoint('audit-export')).toBe('{orders}:checkpoint:audit-export');
    expect(keys.idempotency('order-42')).toBe('{orders}:idem:order-42');
    expect(orders.keys.checkpoint('x')).toBe(keys.checkpoint('x'));
  });

  test('codecs', () => {
    const base64Json: Codec = {
      name: 'base64-json',
      encode: (value) => Buffer.from(JSON.stringify(value)).toString('base64'),
      decode: (text) => JSON.parse(Buffer.from(text, 'base64').toString('utf8')),
    };

    const audit = defineTopic({
      name: 'audit',
      types: { 'user.login': z.object({ userId: z.string() }) },
      codec: base64Json,
    });

    encodeMessage(audit, { type: 'user.login', data: { userId: 'u-1' } })[3]; // 'eyJ1c2VySWQiOiJ1LTEifQ=='

    const written = encodeMessage(audit, { type: 'user.login', data: { userId: 'u-1' } });
    expect(written[3]).toBe('eyJ1c2VySWQiOiJ1LTEifQ==');
    expect(decodeMessage(audit, '1-0', written).data).toEqual({ userId: 'u-1' });
  });

  test('errors: toTributaryError turns NOGROUP into ERR_NOGROUP, and the example creates the group', async () => {
    const client = await connectRedis({ url: process.env.REDIS_URL });
    const redis = toCommander(client);
    const stream = orders.keys.stream;
    try {
      await redis.send(stream, ['XREADGROUP', 'GROUP', 'billing', 'worker-1', 'COUNT', '10', 'STREAMS', stream, '>']);
    } catch (error) {
      const failure = toTributaryError(error, `XREADGROUP ${stream}`);
      if (failure.code !== ErrorCode.NoGroup) throw failure;
      await redis.send(stream, ['XGROUP', 'CREATE', stream, 'billing', '0', 'MKSTREAM']);
    } finally {
      await client.close();
    }

    expect(client.isOpen).toBe(false);
    const groups = await withClient(async (c) => ((await toCommander(c).send(stream, ['XINFO', 'GROUPS', stream])) as unknown[]).map(pairsToObject));
    expect(groups.map((g) => g.name)).toEqual(['billing']);
  });

  test('connections: publish, read and dead-letter on a cluster', async () => {
    const logs = await logsOf(async () => {
      // Both keys carry the {orders} hash tag: one slot, so this script also runs on a cluster.
      const moveToDeadLetters = defineScript(`
        local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
        redis.call('XADD', KEYS[2], '*', 'source-id', ARGV[1], unpack(entry[2]))
        return redis.call('XDEL', KEYS[1], ARGV[1])
      `);

      const cluster = await connectRedisCluster({ rootNodes: process.env.REDIS_CLUSTER_NODES!.split(',') });
      const redis = toCommander(cluster);
      const stream = orders.keys.stream;
      try {
        const trim = retentionArgs(orders.retention, Date.now()); // ['MAXLEN', '~', '100000']
        const streamId = await redis.send<string>(stream, ['XADD', stream, ...trim, '*', ...fields]);
        const [entry] = parseEntries(await redis.send(stream, ['XRANGE', stream, streamId, streamId]));
        console.log(decodeMessage(orders, streamId, entry!.fields).data); // { orderId: 'o-1', amount: 42 }
        await redis.evalScript(moveToDeadLetters, [stream, orders.keys.deadLetter], [streamId]);
      } finally {
        await cluster.close();
      }
    });
    expect(logs).toEqual([[{ orderId: 'o-1', amount: 42 }]]);
    expect(retentionArgs(orders.retention, Date.now())).toEqual(['MAXLEN', '~', '100000']);

    const check = toCommander(await connectRedisCluster({ rootNodes: cluster.rootNodes.map((n) => n.url) }));
    try {
      expect(await check.send(orders.keys.stream, ['XLEN', orders.keys.stream])).toBe(0);
      const dlq = parseEntries(await check.send(orders.keys.deadLetter, ['XRANGE', orders.keys.deadLetter, '-', '+']));
      expect(dlq).toHaveLength(1);
      expect(dlq[0]!.fields!.slice(2)).toEqual(fields);
    } finally {
      await check.client.close();
    }
  });

  test('capabilities', async () => {
    const logs = await logsOf(async () => {
      const client = await connectRedis({ url: process.env.REDIS_URL });
      try {
        const capabilities = await detectCapabilities(toCommander(client));
        console.log(`Redis ${capabilities.version.join('.')}, trim detection: ${capabilities.streams70}`);
      } finally {
        await client.close();
      }
    });
    expect(logs).toEqual([[expect.stringMatching(/^Redis 7\.\d+\.\d+, trim detection: true$/)]]);
  });

  test('every TypeScript block of the README appears verbatim in this file', () => {
    const self = readFileSync(__filename, 'utf8');
    const normalize = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const selfLines = normalize(self);
    const selfImports = new Map<string, Set<string>>();
    for (const m of self.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
      const names = m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean);
      selfImports.set(m[2]!, new Set([...(selfImports.get(m[2]!) ?? []), ...names]));
    }
    const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    for (const block of blocks) {
      // Imports: every name the README imports is imported here from the same module.
      for (const m of block.matchAll(/import\s*\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
        for (const name of m[1]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean)) {
          expect({ name, from: m[2], imported: selfImports.get(m[2]!)?.has(name) ?? false }).toEqual({ name, from: m[2], imported: true });
        }
      }
      // Code: the rest of the block, line for line (indentation aside), as one contiguous run.
      const code = normalize(block.replace(/^import .*$/gm, ''));
      const found = selfLines.some((_, start) => code.every((line, i) => selfLines[start + i] === line));
      expect({ found, code: code.join('\n') }).toEqual({ found: true, code: code.join('\n') });
    }
  });
});
