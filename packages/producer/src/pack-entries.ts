import { Field } from '@tributary/core';

/**
 * Packs encoded entries (`encodeMessage` output) into one MessagePack buffer that the batch
 * script decodes with Redis's built-in `cmsgpack.unpack` (C code). Each entry becomes
 * `[type, data, id, ts, h:name, value, …]`: the four fixed field names are left out, the script
 * writes them back.
 *
 * Why not one script argument per field: node-redis builds each command as one big string
 * (`$<byteLength>\r\n<arg>\r\n` per argument) that V8 then flattens and converts to UTF-8, and
 * Redis parses every argument and copies it into ARGV; one binary argument is written as is, and
 * four values per entry instead of eight fields halve the strings both sides handle.
 *
 * Only strings are packed (str8 when the UTF-8 form surely fits in 255 bytes, else str32;
 * fixarray or array32), which is all `cmsgpack` needs to rebuild Lua strings.
 */
export function packEntries(entries: readonly (readonly string[])[]): Buffer {
  // Upper bound: UTF-8 takes at most 3 bytes per UTF-16 unit; the exact size is known after.
  let size = 5;
  for (const fields of entries) {
    size += 5;
    for (let k = 1; k < fields.length; k++) size += 5 + fields[k]!.length * 3;
  }
  const buffer = Buffer.allocUnsafe(size) as Utf8Buffer;
  let at = writeArrayHeader(buffer, 0, entries.length);
  for (const fields of entries) {
    if (fields[0] !== Field.Type || fields[2] !== Field.Data || fields[4] !== Field.Id || fields[6] !== Field.Ts) {
      throw new Error(`unexpected field layout from encodeMessage: ${fields.slice(0, 8).filter((_, k) => k % 2 === 0).join(', ')}`);
    }
    at = writeArrayHeader(buffer, at, fields.length - 4);
    at = writeString(buffer, at, fields[1]!);
    at = writeString(buffer, at, fields[3]!);
    at = writeString(buffer, at, fields[5]!);
    at = writeString(buffer, at, fields[7]!);
    for (let k = 8; k < fields.length; k++) at = writeString(buffer, at, fields[k]!);
  }
  return buffer.subarray(0, at);
}

/**
 * `utf8Write` is what `buffer.write(value, offset, 'utf8')` calls after normalizing its
 * arguments; called directly it saves that wrapper, a noticeable share of a batch's client time.
 * It has been on Buffer.prototype since Node's early days but is not in the type definitions.
 */
type Utf8Buffer = Buffer & { utf8Write(value: string, offset: number): number };

function writeString(buffer: Utf8Buffer, at: number, value: string): number {
  if (value.length <= 85) {
    const length = buffer.utf8Write(value, at + 2);
    buffer[at] = 0xd9;
    buffer[at + 1] = length;
    return at + 2 + length;
  }
  const length = buffer.utf8Write(value, at + 5);
  buffer[at] = 0xdb;
  buffer.writeUInt32BE(length, at + 1);
  return at + 5 + length;
}

function writeArrayHeader(buffer: Buffer, at: number, length: number): number {
  if (length < 16) {
    buffer[at] = 0x90 | length;
    return at + 1;
  }
  buffer[at] = 0xdd;
  buffer.writeUInt32BE(length, at + 1);
  return at + 5;
}
