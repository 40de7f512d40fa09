// Shared fast-check arbitraries for core's unit tests. Not a test file (no `.test.ts`).
import fc from 'fast-check';

/** A JSON value, as `JSON.parse` returns it (and as `z.json()` types it). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * JSON values that survive `JSON.stringify` → `JSON.parse` → zod unchanged.
 * - `fc.jsonValue()` can produce `-0`, which JSON writes as `0`: JSON cannot carry it.
 * - zod drops own `__proto__` keys when it parses objects (a deliberate guard against
 *   prototype pollution), so such keys never reach a handler whatever the codec does.
 */
export const jsonValue: fc.Arbitrary<Json> = fc.jsonValue().map(function normalize(value: unknown): Json {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== '__proto__')
        .map(([k, v]) => [k, normalize(v)]),
    );
  }
  return value as Json;
});

/** A JSON object payload (what `z.record(z.string(), z.json())` accepts). */
export const jsonObject: fc.Arbitrary<Record<string, Json>> = fc.dictionary(
  fc.string().filter((k) => k !== '__proto__'),
  jsonValue,
  { maxKeys: 8 },
);

/** A header name: non-empty, no whitespace (what `encodeMessage` accepts). */
export const headerName: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/\s/.test(s)),
  // Names that are also Object.prototype members must survive as plain own properties.
  fc.constantFrom('traceparent', '__proto__', 'constructor', 'toString', 'type', 'h:nested'),
);

/** Headers: generated names and arbitrary string values. */
export const headers: fc.Arbitrary<Record<string, string>> = fc
  .uniqueArray(fc.tuple(headerName, fc.string()), { selector: ([name]) => name, maxLength: 5 })
  .map((entries) => Object.fromEntries(entries));

/** A syntactically valid stream ID (`ms-seq`). */
export const streamId: fc.Arbitrary<string> = fc
  .tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
  .map(([ms, seq]) => `${ms}-${seq}`);
