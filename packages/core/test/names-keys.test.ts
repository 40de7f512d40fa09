import fc from 'fast-check';
import { z } from 'zod';
import {
  DEFAULT_RETENTION,
  InvalidArgumentError,
  MAX_NAME_LENGTH,
  defineTopic,
  jsonCodec,
  parseOptions,
  toValidationIssues,
  topicKeys,
  validateName,
} from '@tributary/core';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Asserts `fn` throws an InvalidArgumentError for `field` and no ZodError. */
function expectInvalid(fn: () => unknown, field: string): InvalidArgumentError {
  const error = thrown(fn);
  expect(error).not.toBeInstanceOf(z.ZodError);
  expect(error).toBeInstanceOf(InvalidArgumentError);
  const e = error as InvalidArgumentError;
  expect(e.field).toBe(field);
  expect(e.data.field).toBe(field);
  expect(e.code).toBe('ERR_INVALID_ARGUMENT');
  expect(e.name).toBe('InvalidArgumentError');
  expect(e.message).toContain(field);
  return e;
}

const validName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter(
  // eslint-disable-next-line no-control-regex
  (s) => s.length <= MAX_NAME_LENGTH && !/[{}\s\u0000-\u001f\u007f]/.test(s),
);

describe('topicKeys', () => {
  test('all keys of a topic start with its {name} hash tag', () => {
    const keys = topicKeys('orders');
    expect(keys.stream).toBe('{orders}');
    expect(keys.deadLetter).toBe('{orders}:dlq');
    expect(keys.checkpoint('x')).toBe('{orders}:checkpoint:x');
    expect(keys.idempotency('k')).toBe('{orders}:idem:k');
  });

  test('for generated names, every key carries exactly the {name} hash tag', () => {
    fc.assert(
      fc.property(validName, validName, fc.string({ minLength: 1, maxLength: 512 }), (name, reader, key) => {
        const keys = topicKeys(name);
        const all = [keys.stream, keys.deadLetter, keys.checkpoint(reader), keys.idempotency(key)];
        for (const k of all) {
          // Redis hashes the text between the first '{' and the next '}'.
          const open = k.indexOf('{');
          const close = k.indexOf('}', open + 1);
          expect(open).toBe(0);
          expect(k.slice(open + 1, close)).toBe(name);
        }
      }),
    );
  });

  test('idempotency keys may contain anything but must be 1..512 characters', () => {
    expect(topicKeys('o').idempotency('order 42 {x}')).toBe('{o}:idem:order 42 {x}');
    expectInvalid(() => topicKeys('o').idempotency(''), 'idempotencyKey');
    expectInvalid(() => topicKeys('o').idempotency('k'.repeat(513)), 'idempotencyKey');
    expectInvalid(() => topicKeys('o').idempotency(7 as unknown as string), 'idempotencyKey');
  });

  test('invalid topic or reader names are rejected, naming the field', () => {
    expectInvalid(() => topicKeys(''), 'topic.name');
    expectInvalid(() => topicKeys('a{b'), 'topic.name');
    expectInvalid(() => topicKeys('a b'), 'topic.name');
    expectInvalid(() => topicKeys('o').checkpoint('r}'), 'reader');
    expectInvalid(() => topicKeys('o').checkpoint(''), 'reader');
  });
});

describe('validateName', () => {
  test('returns valid names unchanged', () => {
    fc.assert(fc.property(validName, (name) => expect(validateName('f', name)).toBe(name)));
    expect(validateName('f', 'x'.repeat(MAX_NAME_LENGTH))).toHaveLength(200);
    expect(validateName('f', 'orders.v2:eu-west_1')).toBe('orders.v2:eu-west_1');
    expect(validateName('f', 'заказы-🚚')).toBe('заказы-🚚');
  });

  test.each([
    ['empty', ''],
    ['open brace', 'a{b'],
    ['close brace', 'a}'],
    ['hash tag', '{orders}'],
    ['space', 'my orders'],
    ['tab', 'a\tb'],
    ['newline', 'a\n'],
    ['non-breaking space', 'a\u00a0b'],
    ['control character', 'a\u0001b'],
    ['DEL', 'a\u007f'],
    ['too long', 'x'.repeat(MAX_NAME_LENGTH + 1)],
  ])('rejects %s', (_label, name) => {
    expectInvalid(() => validateName('GroupOptions.group', name), 'GroupOptions.group');
  });

  test.each([[undefined], [null], [42], [{}], [['a']], [Symbol('s')]])('rejects the non-string %p', (name) => {
    expectInvalid(() => validateName('x.name', name), 'x.name');
  });

  test('generated names containing a forbidden character are always rejected', () => {
    const bad = fc
      .tuple(fc.string({ maxLength: 20 }), fc.constantFrom('{', '}', ' ', '\t', '\r', '\n', '\u0000', '\u001f', '\u2028'), fc.string({ maxLength: 20 }))
      .map(([a, c, b]) => a + c + b);
    fc.assert(fc.property(bad, (name) => void expectInvalid(() => validateName('f', name), 'f')));
  });
});

describe('defineTopic', () => {
  const types = { 'order.created': z.object({ orderId: z.string() }) };

  test('applies defaults: JSON codec, retention about 1M entries, keys from the name', () => {
    const topic = defineTopic({ name: 'orders', types });
    expect(topic.name).toBe('orders');
    expect(topic.codec).toBe(jsonCodec);
    expect(topic.retention).toEqual({ maxLen: 1_000_000 });
    expect(DEFAULT_RETENTION).toEqual({ maxLen: 1_000_000 });
    expect(topic.keys.stream).toBe('{orders}');
    expect(topic.keys.deadLetter).toBe('{orders}:dlq');
    expect(topic.typeNames).toEqual(['order.created']);
    expect(topic.types['order.created']).toBe(types['order.created']);
    expect(topic.hasType('order.created')).toBe(true);
    expect(topic.hasType('order.deleted')).toBe(false);
    expect(topic.hasType('toString')).toBe(false);
    expect(topic.hasType('__proto__')).toBe(false);
  });

  test('keeps explicit retention and is immutable', () => {
    for (const retention of ['none', { maxLen: 10, exact: true }, { maxAgeMs: 60_000 }] as const) {
      expect(defineTopic({ name: 'o', types, retention }).retention).toEqual(retention);
    }
    const topic = defineTopic({ name: 'o', types });
    expect(Object.isFrozen(topic)).toBe(true);
    expect(Object.isFrozen(topic.types)).toBe(true);
    expect(() => {
      (topic as { name: string }).name = 'other';
    }).toThrow(TypeError);
  });

  test.each([
    ['no options', undefined, 'TopicOptions'],
    ['not an object', 'orders', 'TopicOptions'],
    ['missing name', { types }, 'TopicOptions.name'],
    ['non-string name', { name: 5, types }, 'TopicOptions.name'],
    ['empty name', { name: '', types }, 'TopicOptions.name'],
    ['name with braces', { name: '{orders}', types }, 'TopicOptions.name'],
    ['name with whitespace', { name: 'my orders', types }, 'TopicOptions.name'],
    ['name too long', { name: 'o'.repeat(201), types }, 'TopicOptions.name'],
    ['missing types', { name: 'o' }, 'TopicOptions.types'],
    ['no types', { name: 'o', types: {} }, 'TopicOptions.types'],
    ['types as an array', { name: 'o', types: [z.string()] }, 'TopicOptions.types'],
    ['a non-zod type', { name: 'o', types: { a: { parse: () => 1 } } }, 'TopicOptions.types.a'],
    ['a string as type', { name: 'o', types: { a: 'string' } }, 'TopicOptions.types.a'],
    ['a bad type name', { name: 'o', types: { 'a b': z.string() } }, 'TopicOptions.types["a b"]'],
    ['retention not an object', { name: 'o', types, retention: 5 }, 'TopicOptions.retention'],
    ['unknown retention string', { name: 'o', types, retention: 'forever' }, 'TopicOptions.retention'],
    ['negative maxLen', { name: 'o', types, retention: { maxLen: -1 } }, 'TopicOptions.retention.maxLen'],
    ['zero maxLen', { name: 'o', types, retention: { maxLen: 0 } }, 'TopicOptions.retention.maxLen'],
    ['fractional maxAgeMs', { name: 'o', types, retention: { maxAgeMs: 1.5 } }, 'TopicOptions.retention'],
    ['both maxLen and maxAgeMs', { name: 'o', types, retention: { maxLen: 1, maxAgeMs: 1 } }, 'TopicOptions.retention'],
    ['unknown option', { name: 'o', types, retension: 'none' }, 'TopicOptions.retension'],
  ])('rejects %s with InvalidArgumentError on the option, never a ZodError', (_label, options, field) => {
    expectInvalid(() => defineTopic(options as never), field);
  });
});

describe('parseOptions', () => {
  const schema = z.strictObject({ a: z.number().default(1), nested: z.strictObject({ b: z.string() }).optional() });

  test('toValidationIssues flattens zod issues to { path, message, code }', () => {
    const result = schema.safeParse({ a: 'x', nested: { b: 1 } });
    expect(result.success).toBe(false);
    expect(toValidationIssues(result.error!.issues)).toEqual([
      { path: 'a', message: expect.any(String), code: 'invalid_type' },
      { path: 'nested.b', message: expect.any(String), code: 'invalid_type' },
    ]);
  });

  test('returns the parsed value with defaults applied', () => {
    expect(parseOptions(schema, {}, 'Opts')).toEqual({ a: 1 });
  });

  test('names the first bad option with a dotted path and lists every issue', () => {
    const e = expectInvalid(() => parseOptions(schema, { a: 'x', nested: { b: 1 } }, 'Opts'), 'Opts.a');
    expect(e.data.issues).toEqual([
      expect.objectContaining({ path: 'a', code: 'invalid_type' }),
      expect.objectContaining({ path: 'nested.b', code: 'invalid_type' }),
    ]);
    expectInvalid(() => parseOptions(schema, { nested: { b: 'x', c: 1 } }, 'Opts'), 'Opts.nested.c');
  });
});
