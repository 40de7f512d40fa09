import fc from 'fast-check';
import { z } from 'zod';
import {
  DecodeError,
  InvalidArgumentError,
  decodeMessage,
  decodePayload,
  defineTopic,
  encodeMessage,
  encodePayload,
  jsonCodec,
  type Codec,
} from '@tributary/core';
import { headers, jsonObject, jsonValue, streamId } from './arbitraries.js';

/** Base64 of the JSON text: a codec another language can implement in two lines. */
const base64Json: Codec = {
  name: 'base64-json',
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64'),
  decode: (text) => {
    // Buffer.from(…, 'base64') silently skips junk: reject anything that is not canonical base64.
    const bytes = Buffer.from(text, 'base64');
    if (bytes.toString('base64') !== text) throw new Error('not base64');
    return JSON.parse(bytes.toString('utf8')) as unknown;
  },
};

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('a custom codec', () => {
  const topic = defineTopic({ name: 'b64', types: { blob: z.record(z.string(), z.json()) }, codec: base64Json });

  test('is the topic codec and round-trips generated messages', () => {
    expect(topic.codec).toBe(base64Json);
    fc.assert(
      fc.property(jsonObject, headers, streamId, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (data, h, sid, ts) => {
        const fields = encodeMessage(topic, { type: 'blob', data, headers: h, id: 'm', ts });
        const wire = fields[3]!;
        expect(wire).toBe(Buffer.from(JSON.stringify(data)).toString('base64'));
        expect(wire).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
        const decoded = decodeMessage(topic, sid, fields);
        expect(decoded).toEqual({ streamId: sid, type: 'blob', data, id: 'm', ts, headers: h });
      }),
    );
  });

  test('its decode failures are DecodeError invalid-payload, with the codec error as cause', () => {
    const error = thrown(() => decodeMessage(topic, '9-9', ['type', 'blob', 'data', '{"plain":"json"}']));
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).reason).toBe('invalid-payload');
    expect((error as DecodeError).message).toContain('base64-json');
    expect(((error as DecodeError).cause as Error).message).toBe('not base64');
    expect((error as DecodeError).data).toMatchObject({ streamId: '9-9', type: 'blob' });
  });

  test('the default JSON codec cannot read what base64-json wrote (codecs are per topic)', () => {
    const plain = defineTopic({ name: 'b64', types: { blob: z.record(z.string(), z.json()) } });
    expect(plain.codec).toBe(jsonCodec);
    const fields = encodeMessage(topic, { type: 'blob', data: { a: 1 } });
    expect(() => decodeMessage(plain, '1-0', fields)).toThrow(expect.objectContaining({ reason: 'invalid-payload' }));
  });

  test('a codec that throws on encode → InvalidArgumentError on field "data", nothing encoded', () => {
    const picky: Codec = {
      name: 'picky',
      encode: () => {
        throw new RangeError('too big');
      },
      decode: JSON.parse,
    };
    const t = defineTopic({ name: 'picky', types: { x: z.object({ n: z.number() }) }, codec: picky });
    const error = thrown(() => encodeMessage(t, { type: 'x', data: { n: 1 } }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).field).toBe('data');
    expect((error as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((error as InvalidArgumentError).cause).toBeInstanceOf(RangeError);
    expect((error as InvalidArgumentError).message).toContain('picky');
  });

  test('a codec that returns a non-string → InvalidArgumentError on field "data"', () => {
    const broken = { name: 'broken', encode: () => 42 as unknown as string, decode: (t: string) => t };
    expect(() => encodePayload(broken, {})).toThrow(expect.objectContaining({ field: 'data', code: 'ERR_INVALID_ARGUMENT' }));
  });

  test('defineTopic rejects something that is not a codec, naming TopicOptions.codec', () => {
    for (const codec of [{}, { name: 'x', encode: () => '' }, 'json', { encode: String, decode: String }]) {
      const error = thrown(() => defineTopic({ name: 't', types: { a: z.string() }, codec: codec as unknown as Codec }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe('TopicOptions.codec');
    }
  });
});

describe('jsonCodec, encodePayload, decodePayload', () => {
  test('JSON values round-trip through the default codec', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const text = encodePayload(jsonCodec, value);
        expect(text).toBe(JSON.stringify(value));
        expect(decodePayload(jsonCodec, text)).toEqual(value);
      }),
    );
  });

  test('decodePayload turns codec failures into DecodeError invalid-payload', () => {
    const error = thrown(() => decodePayload(jsonCodec, 'nope'));
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).reason).toBe('invalid-payload');
    expect((error as DecodeError).cause).toBeInstanceOf(SyntaxError);
  });

  test('jsonCodec refuses values JSON drops (undefined, functions, symbols)', () => {
    for (const value of [undefined, () => 0, Symbol('s')]) {
      expect(() => encodePayload(jsonCodec, value)).toThrow(InvalidArgumentError);
    }
  });
});
