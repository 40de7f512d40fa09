/**
 * Parsers for raw stream replies. Commands go through `Commander`, which maps RESP3 maps to
 * flat arrays, so these accept both the RESP2 and the RESP3 shape of each reply.
 */

/** One stream entry as Redis returns it; `fields` is `null` when the entry was deleted. */
export interface StreamEntry {
  readonly id: string;
  /** Flat `[field, value, field, value…]`, or `null` for an entry deleted while pending. */
  readonly fields: readonly string[] | null;
}

/**
 * One entry as a reply holds it: `[id, fields]`, `fields` `null` for an entry deleted while
 * pending. `S` is `Buffer` for a command sent with `bytes: true`.
 */
export type EntryTuple<S extends string | Buffer = string> = readonly [id: S, fields: readonly S[] | null];

/**
 * The entries of the only stream of an `XREAD` / `XREADGROUP` reply on one key, as the reply
 * holds them (no copy, no object per entry): for read loops that handle every message. A
 * `null` reply (BLOCK timed out) gives an empty list.
 */
export function singleStreamEntries<S extends string | Buffer = string>(raw: unknown): readonly EntryTuple<S>[] {
  if (!Array.isArray(raw) || raw.length === 0) return [];
  // RESP2: [[key, entries]]; RESP3 mapped to a flat array: [key, entries].
  const entries: unknown = Array.isArray(raw[0]) ? (raw[0] as unknown[])[1] : raw[1];
  return Array.isArray(entries) ? (entries as EntryTuple<S>[]) : [];
}

/** Parses an entry list (`XRANGE`, one stream of `XREADGROUP`, `XCLAIM`…). */
export function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const entries: StreamEntry[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const item = raw[i] as [string, string[] | null] | null;
    // XCLAIM may return nil items for entries deleted in the meantime (Redis < 7).
    entries[i] = item ? { id: String(item[0]), fields: item[1] ?? null } : { id: '', fields: null };
  }
  return entries.filter((e) => e.id !== '');
}

/**
 * Parses an `XREAD` / `XREADGROUP` reply into entries per stream key. A `null` reply (BLOCK
 * timed out) gives an empty map. RESP2 sends `[[key, entries]…]`; RESP3 (mapped to a flat array)
 * sends `[key, entries, key, entries…]`.
 */
export function parseReadReply(raw: unknown): Map<string, StreamEntry[]> {
  const result = new Map<string, StreamEntry[]>();
  if (!Array.isArray(raw) || raw.length === 0) return result;
  if (Array.isArray(raw[0])) {
    for (const pair of raw as [string, unknown][]) result.set(String(pair[0]), parseEntries(pair[1]));
  } else {
    for (let i = 0; i + 1 < raw.length; i += 2) result.set(String(raw[i]), parseEntries(raw[i + 1]));
  }
  return result;
}

/** Turns a flat `[k, v, k, v…]` reply (XINFO, XPENDING details) into an object. */
export function pairsToObject(raw: unknown): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (!Array.isArray(raw)) return result;
  for (let i = 0; i + 1 < raw.length; i += 2) result[String(raw[i])] = raw[i + 1];
  return result;
}

/**
 * Compares two stream IDs (`ms-seq`) numerically: negative if `a < b`, 0 if equal, positive
 * if `a > b`. Plain string comparison is wrong (`"9-0" > "10-0"`).
 */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
