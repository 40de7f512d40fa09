// Core's Redis seam against a real redis-server (started by @tributary/test-utils, never 6379).
import { createClient, RESP_TYPES, TimeoutError as RedisTimeoutError } from 'redis';
import { z } from 'zod';
import {
  ErrorCode,
  InvalidArgumentError,
  asCommander,
  NoGroupError,
  connectRedis,
  connectRedisCluster,
  decodeMessage,
  decodeMessageBytes,
  defineScript,
  defineTopic,
  detectCapabilities,
  encodeMessage,
  pairsToObject,
  parseEntries,
  parseReadReply,
  singleStreamEntries,
  toCommander,
  toTributaryError,
  type Commander,
  type DecodeError,
  type RedisClientLike,
} from '@tributary/core';
import { type RedisServer, startRedis, uniqueName, waitFor } from '@tributary/test-utils';

let server: RedisServer;
/** Every client a test opens; closed in afterAll whatever happened. */
const opened: RedisClientLike[] = [];

function track<C extends RedisClientLike>(client: C): C {
  client.on('error', () => {
    // Tests look at command results; socket errors while the suite tears down are expected.
  });
  opened.push(client);
  return client;
}

async function client(resp: 2 | 3, extra: object = {}): Promise<RedisClientLike> {
  const c = track(createClient({ url: server.url, RESP: resp, ...extra }) as unknown as RedisClientLike);
  await c.connect();
  return c;
}

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await Promise.allSettled(opened.map(async (c) => (c.isOpen ? c.close() : undefined)));
  await server?.stop();
});

const topicFor = (name: string) =>
  defineTopic({ name, types: { 'order.created': z.object({ orderId: z.string(), amount: z.number() }) } });

/** XADD with fixed IDs, XRANGE, then XREADGROUP: what each step parses to (key names replaced). */
async function scenario(commander: Commander) {
  const topic = topicFor(uniqueName('resp'));
  const key = topic.keys.stream;
  const fields = (n: number) =>
    encodeMessage(topic, { type: 'order.created', data: { orderId: `o-${n}`, amount: n }, id: `m-${n}`, ts: 1000 + n, headers: { trace: `t${n}` } });
  const added = [
    await commander.send<string>(key, ['XADD', key, '9-0', ...fields(1)]),
    await commander.send<string>(key, ['XADD', key, '10-0', ...fields(2)]),
  ];
  const range = parseEntries(await commander.send(key, ['XRANGE', key, '-', '+']));
  const length = await commander.send(key, ['XLEN', key]);
  await commander.send(key, ['XGROUP', 'CREATE', key, 'g', '0']);
  const rawRead = await commander.send(key, ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '10', 'STREAMS', key, '>']);
  const read = parseReadReply(rawRead);
  // Delete one while it is pending: re-reading the pending list shows it with no fields.
  await commander.send(key, ['XDEL', key, '9-0']);
  const pending = parseReadReply(await commander.send(key, ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', key, '0']));
  const acked = await commander.send(key, ['XACK', key, 'g', '9-0', '10-0']);
  const info = pairsToObject(await commander.send(key, ['XINFO', 'STREAM', key]));
  const groups = ((await commander.send(key, ['XINFO', 'GROUPS', key])) as unknown[]).map(pairsToObject);
  const empty = parseReadReply(await commander.send(key, ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'BLOCK', '10', 'STREAMS', key, '>']));
  const decoded = (read.get(key) ?? []).map((e) => decodeMessage(topic, e.id, e.fields));
  let deletedError: unknown;
  try {
    const entry = pending.get(key)?.[0];
    decodeMessage(topic, entry?.id ?? '', entry?.fields);
  } catch (error) {
    deletedError = error;
  }
  return {
    rawRead,
    key,
    fields: [fields(1), fields(2)],
    result: {
      added,
      range,
      length,
      read: [...read.entries()].map(([k, v]) => [k === key ? 'KEY' : k, v]),
      pending: [...pending.entries()].map(([k, v]) => [k === key ? 'KEY' : k, v]),
      acked,
      info: { length: info.length, 'last-generated-id': info['last-generated-id'], 'max-deleted-entry-id': info['max-deleted-entry-id'] },
      groups: groups.map((g) => ({ name: g.name, pending: g.pending, 'last-delivered-id': g['last-delivered-id'] })),
      empty,
      decoded,
      deletedReason: (deletedError as DecodeError | undefined)?.reason,
    },
  };
}

describe('toCommander on standalone clients', () => {
  test('RESP2 and RESP3 clients give the same parsed shapes for XADD, XRANGE, XREADGROUP, XINFO', async () => {
    const resp2 = await scenario(toCommander(await client(2)));
    const resp3 = await scenario(toCommander(await client(3)));

    // The raw replies really differ (RESP3 maps arrive flat), which is what parseReadReply absorbs.
    expect(Array.isArray((resp2.rawRead as unknown[])[0])).toBe(true);
    expect((resp3.rawRead as unknown[])[0]).toBe(resp3.key);

    expect(resp3.result).toEqual(resp2.result);
    const { result } = resp2;
    expect(result.added).toEqual(['9-0', '10-0']);
    expect(result.range).toEqual([
      { id: '9-0', fields: resp2.fields[0] },
      { id: '10-0', fields: resp2.fields[1] },
    ]);
    expect(result.length).toBe(2);
    expect(result.read).toEqual([['KEY', result.range]]);
    expect(result.pending).toEqual([['KEY', [{ id: '9-0', fields: null }, { id: '10-0', fields: resp2.fields[1] }]]]);
    expect(result.acked).toBe(2);
    expect(result.info).toEqual({ length: 1, 'last-generated-id': '10-0', 'max-deleted-entry-id': '9-0' });
    expect(result.groups).toEqual([{ name: 'g', pending: 0, 'last-delivered-id': '10-0' }]);
    expect(result.empty).toEqual(new Map());
    expect(result.decoded).toEqual([
      { streamId: '9-0', type: 'order.created', data: { orderId: 'o-1', amount: 1 }, id: 'm-1', ts: 1001, headers: { trace: 't1' } },
      { streamId: '10-0', type: 'order.created', data: { orderId: 'o-2', amount: 2 }, id: 'm-2', ts: 1002, headers: { trace: 't2' } },
    ]);
    expect(result.deletedReason).toBe('deleted');
  });

  test("a client's own type mapping does not change what Commander returns", async () => {
    const mapped = await client(3, {
      commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.MAP]: Map } },
    });
    const plain = toCommander(await client(2));
    const key = `{${uniqueName('mapped')}}`;
    await plain.send(key, ['XADD', key, '1-1', 'type', 'a', 'data', '{}']);
    const commander = toCommander(mapped);
    expect(await commander.send(key, ['XRANGE', key, '-', '+'])).toEqual([['1-1', ['type', 'a', 'data', '{}']]]);
    expect(pairsToObject(await commander.send(key, ['XINFO', 'STREAM', key]))).toMatchObject({ length: 1, 'last-generated-id': '1-1' });
  });

  test.each([2, 3] as const)('bytes: true gives bulk strings as Buffers (RESP%i), read as the worker reads them', async (resp) => {
    const commander = toCommander(await client(resp));
    const topic = topicFor(uniqueName('bytes'));
    const key = topic.keys.stream;
    const message = { type: 'order.created' as const, data: { orderId: 'ö-1 ✓', amount: 1.5 }, id: 'm-ü', ts: 1700000000123 };
    await commander.send(key, ['XADD', key, '5-1', ...encodeMessage(topic, message)]);
    await commander.send(key, ['XADD', key, '5-2', ...encodeMessage(topic, { ...message, headers: { trace: 't' } })]);
    await commander.send(key, ['XGROUP', 'CREATE', key, 'g', '0']);
    const entries = singleStreamEntries<Buffer>(await commander.send(key, ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '10', 'STREAMS', key, '>'], { bytes: true }));
    expect(entries.map(([id, fields]) => [Buffer.isBuffer(id), fields?.every((f) => Buffer.isBuffer(f))])).toEqual([[true, true], [true, true]]);
    // The producer layout takes the byte path; the entry with a header field the general one.
    const decoded = entries.map(([id, fields]) => decodeMessageBytes(topic, id.toString(), fields));
    expect(decoded).toEqual([
      { streamId: '5-1', ...message, headers: {} },
      { streamId: '5-2', ...message, headers: { trace: 't' } },
    ]);
    // Without the option the same reply is text; a BLOCK that times out reads as no entries.
    expect(singleStreamEntries(await commander.send(key, ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', key, '0']))[0]![0]).toBe('5-1');
    expect(singleStreamEntries(await commander.send(key, ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '10', 'STREAMS', key, '>'], { bytes: true }))).toEqual([]);
    // An entry deleted while pending comes back with null fields, which decode as 'deleted'.
    await commander.send(key, ['XDEL', key, '5-1']);
    const [[id, fields]] = singleStreamEntries<Buffer>(await commander.send(key, ['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', key, '0'], { bytes: true })) as [readonly [Buffer, null]];
    expect(fields).toBeNull();
    expect(() => decodeMessageBytes(topic, id.toString(), fields)).toThrow(expect.objectContaining({ reason: 'deleted' }));
  });

  test('a client wrapped in a Proxy (tracing, tests) sees every command Commander sends, with any options', async () => {
    const real = await client(3);
    const seen: string[] = [];
    const wrapped = new Proxy(real, {
      get(target, property, receiver) {
        if (property !== 'sendCommand') return Reflect.get(target, property, receiver) as unknown;
        return (args: string[], options?: object) => {
          seen.push(args[0]!);
          return target.sendCommand(args, options);
        };
      },
    });
    const commander = toCommander(wrapped);
    const key = `{${uniqueName('wrapped')}}`;
    await commander.send(key, ['XADD', key, '1-1', 'type', 'a']);
    await commander.send(key, ['XLEN', key], { bytes: true });
    await commander.send(key, ['XRANGE', key, '-', '+'], { timeoutMs: 1000 });
    await commander.sendPlain(key, ['EXISTS', key]);
    expect(seen).toEqual(['XADD', 'XLEN', 'XRANGE', 'EXISTS']);
  });

  test('asCommander accepts a client or a Commander', async () => {
    const raw = await client(2);
    const commander = toCommander(raw);
    expect(asCommander(commander)).toBe(commander);
    const wrapped = asCommander(raw);
    expect(wrapped.client).toBe(raw);
    expect(await wrapped.send(undefined, ['PING'])).toBe('PONG');
  });

  test('isCluster is false and duplicate() opens a separate connection that close() ends', async () => {
    const commander = toCommander(await client(3));
    expect(commander.isCluster).toBe(false);
    const copy = await commander.duplicate();
    try {
      expect(copy.client).not.toBe(commander.client);
      const ids = await Promise.all([commander.send(undefined, ['CLIENT', 'ID']), copy.send(undefined, ['CLIENT', 'ID'])]);
      expect(ids[0]).not.toBe(ids[1]);
    } finally {
      await copy.close();
    }
    expect(copy.client.isOpen).toBe(false);
    expect(commander.client.isOpen).toBe(true);
    await copy.close(); // closing twice is harmless
  });

  test('duplicate({ timeoutMs }) gives up on a server that accepts but does not answer, and drops the new connection', async () => {
    const commander = toCommander(await client(3));
    const connections = async () => String(await commander.send(undefined, ['CLIENT', 'LIST'])).trim().split('\n').length;
    const before = await connections();
    // Frozen: the kernel still completes the TCP connect, but the handshake after it gets no reply.
    server.signal('SIGSTOP');
    let outcome: unknown;
    const t0 = Date.now();
    try {
      outcome = await commander.duplicate({ timeoutMs: 300 }).then(() => 'connected', (error: unknown) => error);
    } finally {
      server.signal('SIGCONT');
    }
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(outcome).toMatchObject({ code: ErrorCode.Timeout });
    // The copy was dropped, not left reconnecting: the server ends up with what it had.
    await waitFor(async () => (await connections()) === before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await connections()).toBe(before);
  });
});

describe('evalScript', () => {
  const script = defineScript(
    "redis.call('XADD', KEYS[1], '*', 'type', ARGV[1], 'data', ARGV[2]); return redis.call('XLEN', KEYS[1])",
  );

  async function commandCalls(commander: Commander): Promise<Record<string, number>> {
    const info = String(await commander.send(undefined, ['INFO', 'commandstats']));
    const calls: Record<string, number> = {};
    for (const match of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) calls[match[1]!] = Number(match[2]);
    return calls;
  }

  test.each([2, 3] as const)('RESP%s: loads the script on NOSCRIPT after SCRIPT FLUSH, then uses EVALSHA', async (resp) => {
    const commander = toCommander(await client(resp));
    const key = `{${uniqueName('script')}}`;
    await commander.send(undefined, ['SCRIPT', 'FLUSH']);
    expect(await commander.send(undefined, ['SCRIPT', 'EXISTS', script.sha1])).toEqual([0]);

    await commander.send(undefined, ['CONFIG', 'RESETSTAT']);
    expect(await commander.evalScript(script, [key], ['t', '{}'])).toBe(1);
    expect(await commander.send(undefined, ['SCRIPT', 'EXISTS', script.sha1])).toEqual([1]);
    const first = await commandCalls(commander);
    expect(first.evalsha).toBe(1); // tried, answered NOSCRIPT
    expect(first.eval).toBe(1); // fallback, which also caches the script

    await commander.send(undefined, ['CONFIG', 'RESETSTAT']);
    expect(await commander.evalScript(script, [key], ['t', '{}'])).toBe(2);
    const second = await commandCalls(commander);
    expect(second.evalsha).toBe(1);
    expect(second.eval).toBeUndefined();
    expect(parseEntries(await commander.send(key, ['XRANGE', key, '-', '+'])).map((e) => e.fields)).toEqual([
      ['type', 't', 'data', '{}'],
      ['type', 't', 'data', '{}'],
    ]);
  });

  test('defineScript computes the SHA1 Redis uses', async () => {
    const commander = toCommander(await client(2));
    expect(await commander.send(undefined, ['SCRIPT', 'LOAD', script.source])).toBe(script.sha1);
    expect(Object.isFrozen(script)).toBe(true);
  });

  test('errors raised by the script itself are not retried and keep their reply', async () => {
    const commander = toCommander(await client(3));
    const key = `{${uniqueName('wrongtype')}}`;
    await commander.send(key, ['SET', key, 'x']);
    const error = await commander.evalScript(script, [key], ['t', '{}']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    expect(toTributaryError(error, 'publish').code).toBe('ERR_REDIS');
  });
});

describe('server error replies through toTributaryError', () => {
  test.each([2, 3] as const)('RESP%s: NOGROUP, BUSYGROUP, unknown command', async (resp) => {
    const commander = toCommander(await client(resp));
    const key = `{${uniqueName('errors')}}`;

    const nogroup = await commander.send(key, ['XREADGROUP', 'GROUP', 'missing', 'c', 'STREAMS', key, '>']).catch((e: unknown) => e);
    const mapped = toTributaryError(nogroup, `XREADGROUP ${key}`);
    expect(mapped).toBeInstanceOf(NoGroupError);
    expect(mapped.code).toBe('ERR_NOGROUP');
    expect(mapped.cause).toBe(nogroup);

    await commander.send(key, ['XGROUP', 'CREATE', key, 'g', '$', 'MKSTREAM']);
    const busy = await commander.send(key, ['XGROUP', 'CREATE', key, 'g', '$', 'MKSTREAM']).catch((e: unknown) => e);
    expect(toTributaryError(busy, 'XGROUP CREATE').code).toBe('ERR_BUSYGROUP');

    const unknown = await commander.send(key, ['XNOSUCHCOMMAND', key]).catch((e: unknown) => e);
    expect(toTributaryError(unknown, 'XNOSUCHCOMMAND').code).toBe('ERR_UNSUPPORTED');

    const wrongType = await commander.send(key, ['LPUSH', key, 'x']).catch((e: unknown) => e);
    expect(toTributaryError(wrongType, 'LPUSH').code).toBe('ERR_REDIS');
  });
});

describe('connectRedis', () => {
  /** A server of the test's own, for tests that kill it. */
  let own: RedisServer | undefined;
  afterEach(async () => {
    await own?.stop();
    own = undefined;
  });

  /** Kills `own`, waits until `redis` noticed, and sends PING into the offline queue. */
  async function pingWhileDown(redis: { isReady: boolean; sendCommand(args: string[], options?: object): Promise<unknown> }, send?: () => Promise<unknown>) {
    await own!.kill();
    await waitFor(() => !redis.isReady, { message: 'client noticed the server is gone' });
    const reply = (send ?? (() => redis.sendCommand(['PING'])))();
    // Wrapped in an object so awaiting pingWhileDown does not wait for the reply itself.
    return {
      settled: reply.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
    };
  }

  test('connects, and the per-command timeout is off by default', async () => {
    own = await startRedis();
    const redis = track(await connectRedis({ url: own.url, maxReconnectDelayMs: 100 }));
    expect(redis.isOpen).toBe(true);
    expect(await redis.sendCommand(['PING'])).toBe('PONG');
    // node-redis's default (5000 ms) would reject a command still waiting to be written after
    // 5 s, e.g. while Redis restarts. With the timer off it waits for the reconnect instead.
    const { settled } = await pingWhileDown(redis);
    const early = await Promise.race([settled, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5500))]);
    expect(early).toBe('still waiting');
    await own.restart();
    expect(await settled).toEqual({ value: 'PONG' });
  }, 30_000);

  test('commandTimeoutMs, or timeoutMs per command, turns the timer on', async () => {
    own = await startRedis();
    const timed = track(await connectRedis({ url: own.url, commandTimeoutMs: 200 }));
    const started = Date.now();
    const result = await (await pingWhileDown(timed)).settled;
    expect((result as { error?: Error }).error).toBeInstanceOf(RedisTimeoutError);
    expect(Date.now() - started).toBeLessThan(4000);

    await own.restart();
    const redis = track(await connectRedis({ url: own.url }));
    const commander = toCommander(redis);
    const perCommand = await (await pingWhileDown(redis, () => commander.send(undefined, ['PING'], { timeoutMs: 200 }))).settled;
    expect((perCommand as { error?: Error }).error).toBeInstanceOf(RedisTimeoutError);
  }, 30_000);

  test('an unreachable server rejects with the connection error after connectTimeoutMs', async () => {
    const down = await startRedis();
    const url = down.url;
    await down.stop();
    const started = Date.now();
    await expect(connectRedis({ url, connectTimeoutMs: 500 })).rejects.toThrow(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('bad options are InvalidArgumentErrors naming the option', async () => {
    const cases: [unknown, string][] = [
      [{ url: 'nope' }, 'ConnectRedisOptions.url'],
      [{ url: 42 }, 'ConnectRedisOptions.url'],
      [{ commandTimeoutMs: -1 }, 'ConnectRedisOptions.commandTimeoutMs'],
      [{ pingIntervalMs: 0 }, 'ConnectRedisOptions.pingIntervalMs'],
      [{ connectTimeoutMs: 1.5 }, 'ConnectRedisOptions.connectTimeoutMs'],
      [{ maxReconnectDelayMs: '1s' }, 'ConnectRedisOptions.maxReconnectDelayMs'],
      [{ host: 'localhost' }, 'ConnectRedisOptions.host'],
    ];
    for (const [options, field] of cases) {
      const error = await connectRedis(options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe(field);
    }
    for (const [options, field] of [
      [{ rootNodes: [] }, 'ConnectRedisClusterOptions.rootNodes'],
      [{ rootNodes: ['nope'] }, 'ConnectRedisClusterOptions.rootNodes.0'],
      [{}, 'ConnectRedisClusterOptions.rootNodes'],
      [{ rootNodes: [server.url], url: server.url }, 'ConnectRedisClusterOptions.url'],
    ] as [unknown, string][]) {
      const error = await connectRedisCluster(options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe(field);
    }
  });
});

describe('detectCapabilities', () => {
  test('reports the server version (7.x here) and its stream features', async () => {
    const caps = await detectCapabilities(toCommander(await client(3)));
    const info = String(await toCommander(await client(2)).send(undefined, ['INFO', 'server']));
    expect(info).toContain(`redis_version:${caps.version.join('.')}`);
    expect(caps.version[0]).toBe(7);
    expect(caps).toMatchObject({ xautoclaim: true, streams62: true, streams70: true });
    expect(await detectCapabilities(toCommander(await client(2)))).toEqual(caps);
  });
});
