// Type-level contract of topics and messages. Every `@ts-expect-error` below is checked by
// `tsc -p tsconfig.test.json` (yarn typecheck): if the line compiled, tsc would report the
// directive as unused. The calls also run under jest, where they must fail at run time too.
import { z } from 'zod';
import {
  InvalidArgumentError,
  ValidationError,
  decodeMessage,
  defineTopic,
  encodeMessage,
  type MessageOf,
  type OutgoingMessage,
  type PayloadInputOf,
  type PayloadOf,
  type TypeName,
} from '@tributary/core';

type Equal<A, B> = (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

const orders = defineTopic({
  name: 'orders',
  types: {
    'order.created': z.object({ orderId: z.string(), amount: z.number(), note: z.string().default('') }),
    'order.cancelled': z.object({ orderId: z.string(), at: z.string().transform((s) => new Date(s)) }),
  },
});
type Types = typeof orders.types;

describe('compile-time checks (see tsc -p tsconfig.test.json)', () => {
  test('a payload of the wrong type does not compile', () => {
    // @ts-expect-error -- orderId must be a string
    expect(() => encodeMessage(orders, { type: 'order.created', data: { orderId: 1, amount: 2 } })).toThrow(ValidationError);
    // @ts-expect-error -- amount is required
    expect(() => encodeMessage(orders, { type: 'order.created', data: { orderId: 'o' } })).toThrow(ValidationError);
    // @ts-expect-error -- the payload of order.cancelled does not fit order.created
    expect(() => encodeMessage(orders, { type: 'order.created', data: { orderId: 'o', at: '2024-01-01' } })).toThrow(ValidationError);
  });

  test('an undeclared type does not compile', () => {
    // @ts-expect-error -- 'order.shipped' is not declared by the topic
    expect(() => encodeMessage(orders, { type: 'order.shipped', data: { orderId: 'o' } })).toThrow(InvalidArgumentError);
  });

  test('correct messages compile, using the schema input (defaults optional)', () => {
    const fields = encodeMessage(orders, { type: 'order.created', data: { orderId: 'o', amount: 1 }, headers: { a: 'b' } });
    expect(fields[1]).toBe('order.created');
    const cancelled: OutgoingMessage<Types> = { type: 'order.cancelled', data: { orderId: 'o', at: '2024-01-01T00:00:00Z' } };
    expect(encodeMessage(orders, cancelled)[1]).toBe('order.cancelled');
  });

  test('decoded messages are a union discriminated by type, with the schema output', () => {
    const message = decodeMessage(orders, '1-0', ['type', 'order.cancelled', 'data', '{"orderId":"o","at":"2024-01-01T00:00:00Z"}']);
    assertType<Equal<typeof message, MessageOf<Types>>>();
    if (message.type === 'order.cancelled') {
      assertType<Equal<typeof message.data, { orderId: string; at: Date }>>();
      expect(message.data.at).toBeInstanceOf(Date);
    } else {
      assertType<Equal<typeof message.data, { orderId: string; amount: number; note: string }>>();
      throw new Error('expected order.cancelled');
    }
    // @ts-expect-error -- message fields are read-only
    message.id = 'x';
  });

  test('type helpers', () => {
    assertType<Equal<TypeName<Types>, 'order.created' | 'order.cancelled'>>();
    assertType<Equal<PayloadInputOf<Types, 'order.created'>, { orderId: string; amount: number; note?: string | undefined }>>();
    assertType<Equal<PayloadOf<Types, 'order.created'>, { orderId: string; amount: number; note: string }>>();
    assertType<Equal<PayloadInputOf<Types, 'order.cancelled'>['at'], string>>();
    assertType<Equal<PayloadOf<Types, 'order.cancelled'>['at'], Date>>();
    // @ts-expect-error -- the helpers refuse undeclared types too
    assertType<Equal<PayloadOf<Types, 'order.shipped'>, never>>();
    expect(orders.typeNames).toEqual(['order.created', 'order.cancelled']);
  });

  test('hasType narrows a string to the declared type names', () => {
    const incoming: string = 'order.created';
    if (orders.hasType(incoming)) {
      assertType<Equal<typeof incoming, 'order.created' | 'order.cancelled'>>();
    } else {
      throw new Error('expected a declared type');
    }
  });

  test('defineTopic requires zod schemas and a name', () => {
    // @ts-expect-error -- a type must be a zod schema
    expect(() => defineTopic({ name: 'x', types: { a: 'string' } })).toThrow(InvalidArgumentError);
    // @ts-expect-error -- name is required
    expect(() => defineTopic({ types: { a: z.string() } })).toThrow(InvalidArgumentError);
    // @ts-expect-error -- retention must be 'none', { maxLen } or { maxAgeMs }
    expect(() => defineTopic({ name: 'x', types: { a: z.string() }, retention: 'forever' })).toThrow(InvalidArgumentError);
  });
});
