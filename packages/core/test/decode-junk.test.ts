import fc from 'fast-check';
import { z } from 'zod';
import { DecodeError, type EntryText, ValidationError, decodeMessage, decodeMessageBytes, defineTopic, encodeMessage, isTributaryError, producerLayoutFields } from '@tributary/core';
import { jsonValue, streamId } from './arbitraries.js';

// Property tests: whatever sits in a stream (written by another tool, another language, a bug,
// or trimmed away), decodeMessage answers with a typed error saying why, never a crash.

const topic = defineTopic({
  name: 'junk',
  types: {
    'point.moved': z.object({ x: z.number(), y: z.number() }),
    'note.added': z.object({ text: z.string() }),
  },
});
const declared = topic.typeNames as readonly string[];

type Outcome = { ok: true } | { ok: false; code: string; reason?: string };

function outcome(fields: unknown): Outcome {
  try {
    decodeMessage(topic, '1-0', fields as never);
    return { ok: true };
  } catch (error) {
    // Anything but a Tributary decode/validation error fails the property right here.
    expect(isTributaryError(error)).toBe(true);
    const { code } = error as { code: string };
    expect(['ERR_DECODE', 'ERR_VALIDATION']).toContain(code);
    if (error instanceof DecodeError) return { ok: false, code, reason: error.reason };
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.length).toBeGreaterThan(0);
    return { ok: false, code };
  }
}

const fieldName = fc.oneof(
  fc.constantFrom('type', 'data', 'id', 'ts', 'h:trace', 'h:', 'TYPE', 'Data', 'type '),
  fc.string({ maxLength: 12 }),
);
const typeValue = fc.oneof(fc.constantFrom(...declared), fc.string({ maxLength: 12 }));
const dataValue = fc.oneof(
  fc.string(),
  jsonValue.map((v) => JSON.stringify(v)),
  fc.record({ x: fc.double({ noNaN: true, noDefaultInfinity: true }), y: fc.integer() }).map((v) => JSON.stringify(v)),
  fc.record({ text: fc.string() }).map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{', 'undefined', 'NaN', '{"x":1}', '[]', 'null'),
);
const tsValue = fc.oneof(
  fc.nat().map(String),
  fc.string({ maxLength: 12 }),
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.constantFrom('', ' ', '0x1F', '1e3', '-1', '12abc', '9007199254740993', 'Infinity'),
);
const valueFor = (name: string): fc.Arbitrary<string> =>
  name === 'type' ? typeValue : name === 'data' ? dataValue : name === 'ts' ? tsValue : fc.string({ maxLength: 12 });
const pair = fieldName.chain((name) => valueFor(name).map((value) => [name, value] as const));
/** A field list as Redis returns it: flat `[name, value, …]`, sometimes with a dangling name. */
const fieldList = fc
  .tuple(fc.array(pair, { maxLength: 8 }), fc.option(fc.string({ maxLength: 5 }), { nil: undefined }))
  .map(([pairs, dangling]) => [...pairs.flat(), ...(dangling === undefined ? [] : [dangling])]);

/** What the wire format says the entry means, computed independently of decodeMessage. */
function expected(fields: readonly string[]): Outcome {
  const last = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) last.set(fields[i]!, fields[i + 1]!);
  const type = last.get('type');
  const data = last.get('data');
  const ts = last.get('ts');
  if (type === undefined) return { ok: false, code: 'ERR_DECODE', reason: 'missing-type' };
  if (!declared.includes(type)) return { ok: false, code: 'ERR_DECODE', reason: 'unknown-type' };
  if (data === undefined) return { ok: false, code: 'ERR_DECODE', reason: 'missing-data' };
  if (ts !== undefined && !(/^[0-9]+$/.test(ts) && Number.isSafeInteger(Number(ts)))) {
    return { ok: false, code: 'ERR_DECODE', reason: 'invalid-timestamp' };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    return { ok: false, code: 'ERR_DECODE', reason: 'invalid-payload' };
  }
  return topic.types[type as keyof typeof topic.types]!.safeParse(payload).success ? { ok: true } : { ok: false, code: 'ERR_VALIDATION' };
}

describe('decodeMessage on generated junk', () => {
  test('flat field lists: only DecodeError or ValidationError, with the reason the wire format implies', () => {
    fc.assert(
      fc.property(fieldList, (fields) => {
        expect(outcome(fields)).toEqual(expected(fields));
      }),
      { numRuns: 2000 },
    );
  });

  test('the same entries as objects (RESP3 maps) decode the same way', () => {
    fc.assert(
      fc.property(fieldList, (fields) => {
        const record: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) Object.defineProperty(record, fields[i]!, { value: fields[i + 1], enumerable: true, writable: true, configurable: true });
        expect(outcome(record)).toEqual(expected(fields));
      }),
      { numRuns: 500 },
    );
  });

  test('reply-shaped values in place of fields (a whole reply passed by mistake) give only Tributary errors', () => {
    // What a raw node-redis reply holds: strings, numbers, nulls, Buffers (a client mapping blob
    // strings to Buffer), arrays of those (e.g. a whole XRANGE reply), or a map decoded as an
    // object. The typed contract is strings; this checks the rest is answered, not crashed on.
    const scalar = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.string().map((s) => Buffer.from(s)),
      fc.constantFrom('type', 'data', 'ts', 'id', ...declared),
    );
    const nested = fc.oneof(scalar, fc.array(fc.oneof(scalar, fc.array(scalar, { maxLength: 4 })), { maxLength: 4 }));
    const reply = fc.oneof(
      fc.constantFrom(null, undefined),
      scalar,
      fc.array(nested, { maxLength: 10 }),
      fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('type', 'data', 'ts')), nested, { maxKeys: 6, noNullPrototype: true }),
    );
    fc.assert(
      fc.property(reply, (fields) => {
        outcome(fields);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('each failure gives its specific reason', () => {
  const reason = (fields: unknown): string | undefined => {
    const result = outcome(fields);
    return result.ok ? 'ok' : (result.reason ?? result.code);
  };
  const others = fc.array(
    fc.tuple(fc.string({ maxLength: 10 }).filter((n) => !['type', 'data', 'id', 'ts'].includes(n)), fc.string()),
    { maxLength: 4 },
  );
  const goodData = fc.record({ x: fc.integer(), y: fc.integer() }).map((v) => JSON.stringify(v));

  test('null or undefined fields (entry deleted while pending) → deleted', () => {
    fc.assert(fc.property(streamId, fc.constantFrom(null, undefined), (sid, fields) => {
      expect(() => decodeMessage(topic, sid, fields)).toThrow(expect.objectContaining({ reason: 'deleted', data: { reason: 'deleted', streamId: sid } }));
    }));
  });

  test('no type field → missing-type', () => {
    fc.assert(fc.property(others, dataValue, (extra, data) => {
      expect(reason([...extra.flat(), 'data', data])).toBe('missing-type');
    }));
  });

  test('a type the topic does not declare → unknown-type', () => {
    fc.assert(fc.property(fc.string().filter((t) => !declared.includes(t)), goodData, others, (type, data, extra) => {
      expect(reason(['type', type, 'data', data, ...extra.flat()])).toBe('unknown-type');
    }));
  });

  test('a declared type without data → missing-data', () => {
    fc.assert(fc.property(fc.constantFrom(...declared), others, (type, extra) => {
      expect(reason(['type', type, ...extra.flat()])).toBe('missing-data');
    }));
  });

  test('data that is not JSON → invalid-payload', () => {
    const notJson = fc.string().filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    });
    fc.assert(fc.property(fc.constantFrom(...declared), notJson, (type, data) => {
      expect(reason(['type', type, 'data', data])).toBe('invalid-payload');
    }));
  });

  test('a ts that is not a non-negative decimal integer of safe size → invalid-timestamp', () => {
    const badTs = fc.oneof(
      fc.string().filter((s) => !/^[0-9]+$/.test(s)),
      // Negative or fractional numbers, NaN, ±Infinity, 1e+21… (not -0: String(-0) is '0').
      fc.double().filter((d) => !Object.is(d, -0) && (!Number.isSafeInteger(d) || d < 0)).map(String),
      fc.bigInt({ min: 2n ** 53n }).map(String),
    );
    fc.assert(fc.property(goodData, badTs, (data, ts) => {
      expect(reason(['type', 'point.moved', 'data', data, 'ts', ts])).toBe('invalid-timestamp');
    }));
  });

  test('valid ts values are read as milliseconds', () => {
    fc.assert(fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (ts) => {
      expect(decodeMessage(topic, '1-0', ['type', 'note.added', 'data', '{"text":""}', 'ts', String(ts)]).ts).toBe(ts);
    }));
  });

  test('JSON that does not match the schema → ValidationError with flattened zod issues', () => {
    const wrong = jsonValue.filter((v) => !z.object({ x: z.number(), y: z.number() }).safeParse(v).success);
    fc.assert(fc.property(wrong, (payload) => {
      let error: unknown;
      try {
        decodeMessage(topic, '3-0', ['type', 'point.moved', 'data', JSON.stringify(payload)]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).not.toBeInstanceOf(z.ZodError);
      const v = error as ValidationError;
      expect(v.code).toBe('ERR_VALIDATION');
      for (const issue of v.issues) {
        expect(issue).toEqual({ path: expect.any(String), message: expect.any(String), code: expect.any(String) });
      }
      // No zod object hides in the data either: it is plain, serialisable JSON.
      expect(JSON.parse(JSON.stringify(v.data))).toEqual(v.data);
    }));
  });
});

describe('decodeMessageBytes (the worker reads fields as Buffers)', () => {
  /** The message or the error, whichever decoding gives, for comparing the two decoders. */
  const result = (decode: () => unknown): unknown => {
    try {
      return { message: decode() };
    } catch (error) {
      return { error: (error as Error).constructor.name, code: (error as { code?: string }).code, reason: (error as { reason?: string }).reason, message: (error as Error).message };
    }
  };
  const bytes = (fields: readonly string[]): Buffer[] => fields.map((f) => Buffer.from(f));

  test('any field list decodes exactly as its text form does (message or error)', () => {
    fc.assert(
      fc.property(streamId, fieldList, (sid, fields) => {
        expect(result(() => decodeMessageBytes(topic, sid, bytes(fields)))).toEqual(result(() => decodeMessage(topic, sid, fields)));
      }),
      { numRuns: 2000 },
    );
  });

  test('entries in the producer layout (type, data, id, ts) take the byte path and decode the same, including bad ts and non-ASCII payloads', () => {
    const layout = fc.tuple(typeValue, dataValue, fc.string({ unit: 'binary', maxLength: 40 }), tsValue)
      .map(([type, data, id, ts]) => ['type', type, 'data', data, 'id', id, 'ts', ts]);
    fc.assert(
      fc.property(streamId, layout, (sid, fields) => {
        expect(result(() => decodeMessageBytes(topic, sid, bytes(fields)))).toEqual(result(() => decodeMessage(topic, sid, fields)));
      }),
      { numRuns: 2000 },
    );
  });

  test('alternating types and topics never reuse the previous entry\'s type or schema', () => {
    // The decoder remembers the last type name and schema; a second topic declares the same
    // type name with another schema, so a stale cache would accept or reject the wrong payload.
    const other = defineTopic({ name: 'junk-other', types: { 'point.moved': z.object({ label: z.string() }) } });
    const point = encodeMessage(topic, { type: 'point.moved', data: { x: 1, y: 2 } });
    const note = encodeMessage(topic, { type: 'note.added', data: { text: 'hi' } });
    const label = encodeMessage(other, { type: 'point.moved', data: { label: 'a' } });
    for (let round = 0; round < 3; round++) {
      expect(decodeMessageBytes(topic, '1-0', bytes(point))).toMatchObject({ type: 'point.moved', data: { x: 1, y: 2 } });
      expect(decodeMessageBytes(topic, '1-1', bytes(note))).toMatchObject({ type: 'note.added', data: { text: 'hi' } });
      expect(decodeMessageBytes(other, '1-2', bytes(label))).toMatchObject({ type: 'point.moved', data: { label: 'a' } });
      expect(() => decodeMessageBytes(other, '1-3', bytes(point))).toThrow(ValidationError);
      expect(() => decodeMessageBytes(topic, '1-4', bytes(label))).toThrow(ValidationError);
      expect(() => decodeMessage(other, '1-5', point)).toThrow(ValidationError);
    }
  });

  test('null fields (entry deleted while pending) → deleted', () => {
    expect(() => decodeMessageBytes(topic, '5-0', null)).toThrow(expect.objectContaining({ reason: 'deleted' }));
  });

  test('the text it leaves (EntryText) gives back every field exactly as stored, so the Buffers can go', () => {
    // Includes ts values with leading zeros ('007'), which String(ts) would not give back.
    const layout = fc.tuple(fc.constantFrom(...declared), dataValue, fc.string({ maxLength: 40 }), fc.oneof(tsValue, fc.nat().map((n) => `00${n}`)))
      .map(([type, data, id, ts]) => ['type', type, 'data', data, 'id', id, 'ts', ts]);
    fc.assert(
      fc.property(fc.oneof(layout, fieldList), (fields) => {
        const text: EntryText = {};
        let message;
        try {
          message = decodeMessageBytes(topic, '1-0', bytes(fields), text);
        } catch {
          return; // failures keep the Buffers until the failure report turns them into text
        }
        expect(text.fieldsText ?? producerLayoutFields(message, text.dataText!)).toEqual(fields);
      }),
      { numRuns: 2000 },
    );
  });
});
