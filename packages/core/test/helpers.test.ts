import fc from 'fast-check';
import {
  ClosedError,
  DecodeError,
  DecodeFailure,
  ErrorCode,
  InvalidArgumentError,
  MIN_REDIS_VERSION,
  NoGroupError,
  TimeoutError,
  TributaryError,
  UnsupportedError,
  ValidationError,
  capabilitiesOf,
  compareStreamIds,
  isBusyGroupReply,
  isNoGroupReply,
  isNoScriptReply,
  isTributaryError,
  pairsToObject,
  parseEntries,
  parseReadReply,
  parseServerVersion,
  reconnectDelay,
  retentionArgs,
  retentionSchema,
  toTributaryError,
} from '@tributary/core';
import { streamId } from './arbitraries.js';

/** A server error reply as node-redis rejects with it (an Error whose message is the reply). */
class ErrorReply extends Error {}

describe('retentionArgs', () => {
  test('maxLen → MAXLEN ~ n, or = n when exact', () => {
    expect(retentionArgs({ maxLen: 1000 }, 0)).toEqual(['MAXLEN', '~', '1000']);
    expect(retentionArgs({ maxLen: 1000, exact: false }, 0)).toEqual(['MAXLEN', '~', '1000']);
    expect(retentionArgs({ maxLen: 5, exact: true }, 0)).toEqual(['MAXLEN', '=', '5']);
  });

  test('maxAgeMs → MINID ~ (now - maxAgeMs), never below 0', () => {
    expect(retentionArgs({ maxAgeMs: 60_000 }, 1_700_000_000_000)).toEqual(['MINID', '~', '1699999940000']);
    expect(retentionArgs({ maxAgeMs: 10, exact: true }, 100)).toEqual(['MINID', '=', '90']);
    expect(retentionArgs({ maxAgeMs: 1000 }, 10)).toEqual(['MINID', '~', '0']);
  });

  test("'none' → no trimming arguments", () => {
    expect(retentionArgs('none', 123)).toEqual([]);
  });

  test('every retention the schema accepts gives well-formed XADD arguments', () => {
    const retention = fc.oneof(
      fc.constant('none' as const),
      fc.record({ maxLen: fc.integer({ min: 1 }), exact: fc.boolean() }, { requiredKeys: ['maxLen'] }),
      fc.record({ maxAgeMs: fc.integer({ min: 1 }), exact: fc.boolean() }, { requiredKeys: ['maxAgeMs'] }),
    );
    fc.assert(
      fc.property(retention, fc.nat({ max: 2 ** 45 }), (r, now) => {
        expect(retentionSchema.safeParse(r).success).toBe(true);
        const args = retentionArgs(r, now);
        if (r === 'none') return expect(args).toEqual([]);
        expect(args).toHaveLength(3);
        expect(['MAXLEN', 'MINID']).toContain(args[0]);
        expect(args[1]).toBe(r.exact ? '=' : '~');
        expect(args[2]).toMatch(/^[0-9]+$/);
      }),
    );
  });
});

describe('reconnectDelay', () => {
  test('stays within [ceiling/2, ceiling] where ceiling = min(max, 50·2^retries)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.integer({ min: 1, max: 60_000 }), (retries, max) => {
        const ceiling = Math.min(max, 50 * 2 ** Math.min(retries, 16));
        const delay = reconnectDelay(retries, max);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(max);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
    );
  });

  test('grows exponentially from 25..50 ms and is jittered', () => {
    const first = Array.from({ length: 200 }, () => reconnectDelay(0, 2000));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(25);
    expect(Math.max(...first)).toBeLessThanOrEqual(50);
    expect(new Set(first).size).toBeGreaterThan(5);
    const late = Array.from({ length: 200 }, () => reconnectDelay(30, 2000));
    expect(Math.min(...late)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...late)).toBeLessThanOrEqual(2000);
  });
});

describe('parseServerVersion / capabilitiesOf', () => {
  test('reads redis_version from INFO server', () => {
    const info = '# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\n';
    expect(parseServerVersion(info)).toEqual([7, 0, 15]);
    expect(parseServerVersion('redis_version:6.2.14\n')).toEqual([6, 2, 14]);
    expect(parseServerVersion('redis_version:10.11.12')).toEqual([10, 11, 12]);
  });

  test('junk → UnsupportedError', () => {
    for (const info of ['', 'valkey', 'redis_version:7.x']) {
      expect(() => parseServerVersion(info)).toThrow(UnsupportedError);
      expect(() => parseServerVersion(info)).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }));
    }
  });

  test.each([
    [[6, 0, 16], false, false],
    [[6, 1, 0], false, false],
    [[6, 2, 0], true, false],
    [[6, 2, 14], true, false],
    [[7, 0, 0], true, true],
    [[7, 2, 4], true, true],
    [[8, 0, 0], true, true],
  ] as const)('%p → streams62 %p, streams70 %p', (version, s62, s70) => {
    expect(capabilitiesOf(version)).toEqual({ version, xautoclaim: s62, streams62: s62, streams70: s70 });
  });

  test('minimum version is 6.2.0', () => {
    expect(MIN_REDIS_VERSION).toBe('6.2.0');
  });
});

describe('compareStreamIds', () => {
  test('numeric, not lexicographic', () => {
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-0', '9-0')).toBeGreaterThan(0);
    expect(compareStreamIds('5-9', '5-10')).toBeLessThan(0);
    expect(compareStreamIds('5-10', '5-10')).toBe(0);
    expect(compareStreamIds('0-1', '0-0')).toBe(1);
    expect(compareStreamIds('18446744073709551615-0', '18446744073709551614-18446744073709551615')).toBe(1);
    expect(compareStreamIds('7', '7-0')).toBe(0);
  });

  test('matches numeric order on (ms, seq) for generated IDs', () => {
    const parse = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
    fc.assert(
      fc.property(streamId, streamId, (a, b) => {
        const [am, as] = parse(a);
        const [bm, bs] = parse(b);
        const want = am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
        expect(compareStreamIds(a, b)).toBe(want);
        expect(compareStreamIds(b, a)).toBe(-want);
      }),
    );
  });

  test('sorting with it gives the order Redis keeps', () => {
    expect(['10-0', '9-5', '9-10', '100-0', '1-0'].sort(compareStreamIds)).toEqual(['1-0', '9-5', '9-10', '10-0', '100-0']);
  });
});

describe('parseEntries / parseReadReply / pairsToObject', () => {
  const entries = [
    ['1-0', ['type', 'a', 'data', '{}']],
    ['2-0', null],
  ];

  test('parseEntries keeps IDs and flat fields; deleted entries have null fields; nil items are skipped', () => {
    expect(parseEntries(entries)).toEqual([
      { id: '1-0', fields: ['type', 'a', 'data', '{}'] },
      { id: '2-0', fields: null },
    ]);
    expect(parseEntries([null, ['3-0', ['k', 'v']]])).toEqual([{ id: '3-0', fields: ['k', 'v'] }]);
    expect(parseEntries(null)).toEqual([]);
    expect(parseEntries([])).toEqual([]);
  });

  test('parseReadReply accepts RESP2 [[key, entries]…] and RESP3-as-flat [key, entries, …] alike', () => {
    const resp2 = [['{a}', entries], ['{b}', [['5-0', ['x', 'y']]]]];
    const resp3 = ['{a}', entries, '{b}', [['5-0', ['x', 'y']]]];
    const want = new Map([
      ['{a}', [{ id: '1-0', fields: ['type', 'a', 'data', '{}'] }, { id: '2-0', fields: null }]],
      ['{b}', [{ id: '5-0', fields: ['x', 'y'] }]],
    ]);
    expect(parseReadReply(resp2)).toEqual(want);
    expect(parseReadReply(resp3)).toEqual(want);
  });

  test('a timed-out BLOCK (null) or an empty reply gives an empty map', () => {
    expect(parseReadReply(null)).toEqual(new Map());
    expect(parseReadReply([])).toEqual(new Map());
    expect(parseReadReply(undefined)).toEqual(new Map());
  });

  test('both shapes agree for generated replies', () => {
    const entry = fc.tuple(streamId, fc.option(fc.array(fc.string(), { maxLength: 6 }), { nil: null }));
    const reply = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1 }), fc.array(entry, { maxLength: 4 })), {
      selector: ([key]) => key,
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(reply, (streams) => {
        const fromResp2 = parseReadReply(streams);
        expect(parseReadReply(streams.flat(1))).toEqual(fromResp2);
        expect([...fromResp2.keys()]).toEqual(streams.map(([k]) => k));
        for (const [key, list] of streams) {
          expect(fromResp2.get(key)).toEqual(list.map(([id, fields]) => ({ id, fields })));
        }
      }),
    );
  });

  test('pairsToObject', () => {
    expect(pairsToObject(['name', 'g', 'pending', 3, 'last-delivered-id', '1-0'])).toEqual({ name: 'g', pending: 3, 'last-delivered-id': '1-0' });
    expect(pairsToObject(null)).toEqual({});
  });
});

describe('toTributaryError', () => {
  test.each([
    ['NOGROUP No such key \'{o}\' or consumer group \'g\' in XREADGROUP with GROUP option', ErrorCode.NoGroup, NoGroupError],
    ['BUSYGROUP Consumer Group name already exists', ErrorCode.BusyGroup, TributaryError],
    ["CROSSSLOT Keys in request don't hash to the same slot", ErrorCode.CrossSlot, TributaryError],
    ["ERR unknown command 'XAUTOCLAIM', with args beginning with: '{o}' ", ErrorCode.Unsupported, UnsupportedError],
    ['ERR unknown command `XAUTOCLAIM`, with args beginning with: ', ErrorCode.Unsupported, UnsupportedError],
    ["ERR unknown subcommand 'CREATECONSUMER'. Try XGROUP HELP.", ErrorCode.Unsupported, UnsupportedError],
    ['ERR syntax error', ErrorCode.Unsupported, UnsupportedError],
    ["ERR wrong number of arguments for 'xadd' command", ErrorCode.Unsupported, UnsupportedError],
    ['ERR The ID specified in XADD is equal or smaller than the target stream top item', ErrorCode.Redis, TributaryError],
    ['WRONGTYPE Operation against a key holding the wrong kind of value', ErrorCode.Redis, TributaryError],
    ['LOADING Redis is loading the dataset in memory', ErrorCode.Redis, TributaryError],
  ])('%s → %s', (reply, code, cls) => {
    const cause = new ErrorReply(reply);
    const error = toTributaryError(cause, 'XREADGROUP {o}');
    expect(error.code).toBe(code);
    expect(error).toBeInstanceOf(cls);
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('XREADGROUP {o}');
    expect(error.message).toContain(reply.trim());
    expect(isTributaryError(error)).toBe(true);
  });

  test('Tributary errors pass through unchanged; non-errors are wrapped as ERR_REDIS', () => {
    const original = new TimeoutError('slow');
    expect(toTributaryError(original, 'x')).toBe(original);
    const wrapped = toTributaryError('socket closed', 'PING');
    expect(wrapped.code).toBe('ERR_REDIS');
    expect(wrapped.message).toBe('PING: socket closed');
    expect(toTributaryError(undefined, 'PING').code).toBe('ERR_REDIS');
  });

  test('reply predicates', () => {
    expect(isNoGroupReply(new ErrorReply('NOGROUP x'))).toBe(true);
    expect(isNoGroupReply(new ErrorReply('ERR NOGROUP'))).toBe(false);
    expect(isBusyGroupReply(new ErrorReply('BUSYGROUP Consumer Group name already exists'))).toBe(true);
    expect(isBusyGroupReply('BUSYGROUP')).toBe(false);
    expect(isNoScriptReply(new ErrorReply('NOSCRIPT No matching script. Please use EVAL.'))).toBe(true);
    expect(isNoScriptReply(new ErrorReply('NOSCRIPT'))).toBe(true);
    expect(isNoScriptReply(null)).toBe(false);
  });
});

describe('error classes', () => {
  test('every class has its stable code, its name, and data', () => {
    const cases: [TributaryError, string, string][] = [
      [new InvalidArgumentError('a.b', 'bad'), 'ERR_INVALID_ARGUMENT', 'InvalidArgumentError'],
      [new DecodeError(DecodeFailure.MissingType, 'm'), 'ERR_DECODE', 'DecodeError'],
      [new ValidationError('m', [{ path: 'x', message: 'm', code: 'c' }]), 'ERR_VALIDATION', 'ValidationError'],
      [new NoGroupError('m'), 'ERR_NOGROUP', 'NoGroupError'],
      [new UnsupportedError('m'), 'ERR_UNSUPPORTED', 'UnsupportedError'],
      [new TimeoutError('m'), 'ERR_TIMEOUT', 'TimeoutError'],
      [new ClosedError('m'), 'ERR_CLOSED', 'ClosedError'],
      [new TributaryError(ErrorCode.Redis, 'm'), 'ERR_REDIS', 'TributaryError'],
    ];
    for (const [error, code, name] of cases) {
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(TributaryError);
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
      expect(typeof error.data).toBe('object');
      expect(isTributaryError(error)).toBe(true);
    }
  });

  test('ErrorCode and DecodeFailure values are the documented, stable strings', () => {
    expect(ErrorCode).toEqual({
      InvalidArgument: 'ERR_INVALID_ARGUMENT',
      Decode: 'ERR_DECODE',
      Validation: 'ERR_VALIDATION',
      NoGroup: 'ERR_NOGROUP',
      BusyGroup: 'ERR_BUSYGROUP',
      CrossSlot: 'ERR_CROSSSLOT',
      Unsupported: 'ERR_UNSUPPORTED',
      Timeout: 'ERR_TIMEOUT',
      Closed: 'ERR_CLOSED',
      Redis: 'ERR_REDIS',
    });
    expect(Object.values(DecodeFailure).sort()).toEqual(
      ['deleted', 'invalid-payload', 'invalid-timestamp', 'missing-data', 'missing-type', 'unknown-type'],
    );
  });

  test('InvalidArgumentError and DecodeError put field / reason in data; cause is kept', () => {
    const cause = new Error('root');
    const e = new InvalidArgumentError('retention.maxLen', 'too small', { cause, data: { got: -1 } });
    expect(e.data).toEqual({ field: 'retention.maxLen', got: -1 });
    expect(e.message).toBe('Invalid retention.maxLen: too small');
    expect(e.cause).toBe(cause);
    expect(new DecodeError('deleted', 'gone', { data: { streamId: '1-0' } }).data).toEqual({ reason: 'deleted', streamId: '1-0' });
    expect(new TimeoutError('x').cause).toBeUndefined();
  });

  test('isTributaryError recognises a copy from another module format by shape, and nothing else', () => {
    const foreign = Object.assign(new Error('other copy'), { code: 'ERR_DECODE', data: {} });
    expect(isTributaryError(foreign)).toBe(true);
    expect(isTributaryError(Object.assign(new Error('node'), { code: 'ECONNREFUSED', data: {} }))).toBe(false);
    expect(isTributaryError(Object.assign(new Error('no data'), { code: 'ERR_DECODE' }))).toBe(false);
    expect(isTributaryError({ code: 'ERR_DECODE', data: {} })).toBe(false);
    expect(isTributaryError(null)).toBe(false);
    expect(isTributaryError(undefined)).toBe(false);
  });
});
