import fc from 'fast-check';
import { z } from 'zod';
import {
  DecodeError,
  ErrorCode,
  Field,
  InvalidArgumentError,
  TributaryError,
  ValidationError,
  decodeMessage,
  defineTopic,
  encodeMessage,
  fieldsToRecord,
  type OutgoingMessage,
} from '@tributary/core';
import { headers, jsonObject, streamId } from './arbitraries.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const anything = defineTopic({
  name: 'anything',
  types: {
    'record.any': z.record(z.string(), z.json()),
    'loose.thing': z.looseObject({ kind: z.string() }),
  },
});

const orders = defineTopic({
  name: 'orders',
  types: {
    'order.created': z.object({
      orderId: z.string(),
      amount: z.number().nonnegative(),
      items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })),
    }),
    'order.cancelled': z.object({ orderId: z.string(), reason: z.string().optional() }),
  },
});

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Field names at even positions of a flat XADD field list. */
function fieldNames(fields: readonly string[]): string[] {
  return fields.filter((_, i) => i % 2 === 0);
}

const outgoing: fc.Arbitrary<OutgoingMessage<typeof anything.types>> = fc.oneof(
  fc.record(
    {
      type: fc.constant('record.any' as const),
      data: jsonObject,
      id: fc.string({ minLength: 1, maxLength: 40 }),
      ts: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      headers,
    },
    { requiredKeys: ['type', 'data'] },
  ),
  fc.record(
    {
      type: fc.constant('loose.thing' as const),
      data: fc.tuple(fc.string(), jsonObject).map(([kind, rest]) => ({ ...rest, kind })),
      id: fc.string({ minLength: 1, maxLength: 40 }),
      ts: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      headers,
    },
    { requiredKeys: ['type', 'data'] },
  ),
);

describe('encodeMessage → decodeMessage', () => {
  test('round-trips type, data, id, ts and headers exactly, for generated messages', () => {
    fc.assert(
      fc.property(outgoing, streamId, fc.nat({ max: 2 ** 45 }), (message, sid, now) => {
        const fields = encodeMessage(anything, message, now);
        const decoded = decodeMessage(anything, sid, fields);
        expect(decoded.streamId).toBe(sid);
        expect(decoded.type).toBe(message.type);
        expect(decoded.data).toEqual(message.data);
        expect(decoded.ts).toBe(message.ts ?? now);
        expect(decoded.headers).toEqual(message.headers ?? {});
        if (message.id !== undefined) expect(decoded.id).toBe(message.id);
        else expect(decoded.id).toMatch(UUID);
        // Readers that got the entry as an object (e.g. a RESP3 map) decode to the same message.
        expect(decodeMessage(anything, sid, fieldsToRecord(fields))).toEqual(decoded);
      }),
    );
  });

  test('header names that are Object.prototype members stay plain own headers', () => {
    // fromEntries: an object literal's `__proto__:` would set the prototype instead.
    const sent = Object.fromEntries([['__proto__', 'p'], ['constructor', 'c'], ['toString', 't']]) as Record<string, string>;
    const fields = encodeMessage(anything, { type: 'record.any', data: {}, headers: sent });
    expect(fieldNames(fields).slice(4)).toEqual(['h:__proto__', 'h:constructor', 'h:toString']);
    const decoded = decodeMessage(anything, '1-0', fields);
    expect(Object.keys(decoded.headers)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(decoded.headers, '__proto__')?.value).toBe('p');
    expect(Object.getPrototypeOf(decoded.headers)).toBe(Object.prototype);
  });

  test('the schema runs on the consuming side: defaults and transforms apply once, on decode', () => {
    const topic = defineTopic({
      name: 'transforms',
      types: { 'user.seen': z.object({ name: z.string().transform((s) => s.toUpperCase()), visits: z.number().default(1) }) },
    });
    const fields = encodeMessage(topic, { type: 'user.seen', data: { name: 'ada' } });
    expect(fields[fields.indexOf(Field.Data) + 1]).toBe('{"name":"ada"}');
    expect(decodeMessage(topic, '1-0', fields).data).toEqual({ name: 'ADA', visits: 1 });
  });
});

describe('wire format', () => {
  test('field names are exactly type, data, id, ts, then h:<name> per header, in that order', () => {
    fc.assert(
      fc.property(outgoing, (message) => {
        const fields = encodeMessage(anything, message);
        expect(fields.length % 2).toBe(0);
        expect(fieldNames(fields)).toEqual(['type', 'data', 'id', 'ts', ...Object.keys(message.headers ?? {}).map((h) => `h:${h}`)]);
        expect(fields.every((f) => typeof f === 'string')).toBe(true);
        expect(fields[1]).toBe(message.type);
        expect(fields[3]).toBe(JSON.stringify(message.data));
      }),
    );
  });

  test('Field constants match the documented names', () => {
    expect(Field).toEqual({ Type: 'type', Data: 'data', Id: 'id', Ts: 'ts', HeaderPrefix: 'h:' });
  });

  test('a concrete entry, as redis-cli shows it', () => {
    const fields = encodeMessage(orders, {
      type: 'order.created',
      data: { orderId: 'o-1', amount: 12.5, items: [{ sku: 'A', qty: 2 }] },
      id: '0b6c8f8e-4c1e-4a57-9d0e-3f1f0c7c2a10',
      ts: 1_700_000_000_000,
      headers: { traceparent: '00-abc-def-01' },
    });
    expect(fields).toEqual([
      'type', 'order.created',
      'data', '{"orderId":"o-1","amount":12.5,"items":[{"sku":"A","qty":2}]}',
      'id', '0b6c8f8e-4c1e-4a57-9d0e-3f1f0c7c2a10',
      'ts', '1700000000000',
      'h:traceparent', '00-abc-def-01',
    ]);
  });

  test('default id is a fresh random UUID', () => {
    const message = { type: 'order.cancelled', data: { orderId: 'o-1' } } as const;
    const a = encodeMessage(orders, message);
    const b = encodeMessage(orders, message);
    expect(a[5]).toMatch(UUID);
    expect(b[5]).toMatch(UUID);
    expect(a[5]).not.toBe(b[5]);
  });

  test('default ts is Date.now()', () => {
    jest.useFakeTimers({ now: 1_712_345_678_901 });
    try {
      const fields = encodeMessage(orders, { type: 'order.cancelled', data: { orderId: 'o-1' } });
      expect(fields[7]).toBe('1712345678901');
      expect(decodeMessage(orders, '5-0', fields).ts).toBe(1_712_345_678_901);
    } finally {
      jest.useRealTimers();
    }
  });

  test('entries from other tools: no id → the stream ID; no ts → the stream ID time', () => {
    const decoded = decodeMessage(orders, '1700000000123-4', ['type', 'order.cancelled', 'data', '{"orderId":"x"}']);
    expect(decoded.id).toBe('1700000000123-4');
    expect(decoded.ts).toBe(1_700_000_000_123);
    expect(decoded.headers).toEqual({});
  });
});

describe('encode errors', () => {
  test('an invalid payload is a ValidationError with flattened issues, never a ZodError', () => {
    const error = thrown(() =>
      encodeMessage(orders, {
        type: 'order.created',
        data: { orderId: 'o-1', amount: -1, items: [{ sku: 'A', qty: 1 }, { sku: 'B', qty: 0.5 }] },
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).not.toBeInstanceOf(z.ZodError);
    const v = error as ValidationError;
    expect(v.code).toBe(ErrorCode.Validation);
    expect(v.code).toBe('ERR_VALIDATION');
    expect(v.name).toBe('ValidationError');
    expect(v.issues.map((i) => i.path).sort()).toEqual(['amount', 'items.1.qty']);
    for (const issue of v.issues) {
      expect(Object.keys(issue).sort()).toEqual(['code', 'message', 'path']);
      expect(typeof issue.message).toBe('string');
    }
    expect(v.issues.find((i) => i.path === 'amount')?.code).toBe('too_small');
    expect(v.data).toMatchObject({ type: 'order.created', issues: v.issues });
    expect(v.message).toContain('items.1.qty');
  });

  test('generated wrong payloads always give ValidationError', () => {
    const wrong = fc.oneof(
      fc.anything().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
      fc.record({ orderId: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)), amount: fc.double(), items: fc.constant([]) }),
      fc.record({ orderId: fc.string(), amount: fc.string(), items: fc.constant([]) }),
    );
    fc.assert(
      fc.property(wrong, (data) => {
        const error = thrown(() => encodeMessage(orders, { type: 'order.created', data } as never));
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues.length).toBeGreaterThan(0);
      }),
    );
  });

  test('the root of a payload is reported with path ""', () => {
    const error = thrown(() => encodeMessage(orders, { type: 'order.cancelled', data: 'nope' } as never)) as ValidationError;
    expect(error.issues).toEqual([expect.objectContaining({ path: '', code: 'invalid_type' })]);
  });

  test('an undeclared type is an InvalidArgumentError on field "type"', () => {
    for (const type of ['order.shipped', '', 'ORDER.CREATED', 42, undefined]) {
      const error = thrown(() => encodeMessage(orders, { type, data: { orderId: 'x' } } as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe('type');
      expect((error as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
      expect((error as InvalidArgumentError).data.field).toBe('type');
    }
  });

  test('a bad id, ts or header names its field', () => {
    const base = { type: 'order.cancelled', data: { orderId: 'x' } } as const;
    const cases: [Partial<OutgoingMessage<typeof orders.types>>, string][] = [
      [{ id: '' }, 'id'],
      [{ ts: -1 }, 'ts'],
      [{ ts: 1.5 }, 'ts'],
      [{ ts: Number.NaN }, 'ts'],
      [{ headers: { 'with space': 'v' } }, 'headers.with space'],
      [{ headers: { '': 'v' } }, 'headers.'],
      [{ headers: { n: 1 as unknown as string } }, 'headers.n'],
    ];
    for (const [patch, field] of cases) {
      const error = thrown(() => encodeMessage(orders, { ...base, ...patch } as never));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe(field);
    }
  });

  test('a payload JSON cannot represent is an InvalidArgumentError on "data"', () => {
    const loose = defineTopic({ name: 'loose', types: { any: z.any() } });
    for (const data of [undefined, 10n, () => 1]) {
      const error = thrown(() => encodeMessage(loose, { type: 'any', data }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe('data');
      expect((error as InvalidArgumentError).cause).toBeInstanceOf(TypeError);
    }
  });
});

describe('decode errors (specific cases)', () => {
  const good = () => encodeMessage(orders, { type: 'order.cancelled', data: { orderId: 'x' }, id: 'm1', ts: 5 });

  test('each failure has its own reason', () => {
    const cases: [string[] | Record<string, string> | null | undefined, string][] = [
      [null, 'deleted'],
      [undefined, 'deleted'],
      [[], 'missing-type'],
      [['data', '{}'], 'missing-type'],
      [['type', 'order.shipped', 'data', '{}'], 'unknown-type'],
      [['type', 'order.cancelled'], 'missing-data'],
      [['type', 'order.cancelled', 'data', '{orderId:'], 'invalid-payload'],
      [['type', 'order.cancelled', 'data', '{"orderId":"x"}', 'ts', 'yesterday'], 'invalid-timestamp'],
      [['type', 'order.cancelled', 'data', '{"orderId":"x"}', 'ts', ''], 'invalid-timestamp'],
      [['type', 'order.cancelled', 'data', '{"orderId":"x"}', 'ts', '-5'], 'invalid-timestamp'],
      [['type', 'order.cancelled', 'data', '{"orderId":"x"}', 'ts', '1.5'], 'invalid-timestamp'],
      [['type', 'order.cancelled', 'data', '{"orderId":"x"}', 'ts', '0x10'], 'invalid-timestamp'],
      [['type', 'order.cancelled', 'data', '{"orderId":"x"}', 'ts', ' 12'], 'invalid-timestamp'],
      [['type', 'order.cancelled', 'data', '{"orderId":"x"}', 'ts', '99999999999999999999'], 'invalid-timestamp'],
      [{ type: 'order.cancelled', data: 'not json' }, 'invalid-payload'],
    ];
    for (const [fields, reason] of cases) {
      const error = thrown(() => decodeMessage(orders, '1-0', fields));
      expect(error).toBeInstanceOf(DecodeError);
      expect({ fields, reason: (error as DecodeError).reason }).toEqual({ fields, reason });
      expect((error as DecodeError).code).toBe('ERR_DECODE');
      expect((error as DecodeError).data).toMatchObject({ reason, streamId: '1-0' });
    }
    expect(decodeMessage(orders, '1-0', good()).id).toBe('m1');
  });

  test('a bad payload keeps the codec error as cause', () => {
    const error = thrown(() => decodeMessage(orders, '1-0', ['type', 'order.cancelled', 'data', '{'])) as DecodeError;
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  test('a schema mismatch is a ValidationError with flattened issues', () => {
    const error = thrown(() =>
      decodeMessage(orders, '7-1', ['type', 'order.created', 'data', '{"orderId":1,"amount":2,"items":[{"sku":"a"}]}']),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).not.toBeInstanceOf(z.ZodError);
    const v = error as ValidationError;
    expect(v.code).toBe('ERR_VALIDATION');
    expect(v.issues.map((i) => i.path).sort()).toEqual(['items.0.qty', 'orderId']);
    expect(v.data).toMatchObject({ streamId: '7-1', type: 'order.created' });
  });
});

describe('fieldsToRecord', () => {
  test('flat list to object; later duplicates win; null for deleted entries', () => {
    expect(fieldsToRecord(['a', '1', 'b', '2', 'a', '3'])).toEqual({ a: '3', b: '2' });
    expect(fieldsToRecord(null)).toBeNull();
    expect(fieldsToRecord(undefined)).toBeNull();
    expect(fieldsToRecord([])).toEqual({});
  });

  test('a field named __proto__ is kept as an own property', () => {
    const record = fieldsToRecord(['__proto__', 'x', 'type', 't']);
    expect(record && Object.keys(record)).toEqual(['__proto__', 'type']);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
  });
});
