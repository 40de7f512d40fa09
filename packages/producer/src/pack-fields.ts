/**
 * Packs entries' field lists into one MessagePack buffer, `[[f, v, f, v…], …]`, that Lua
 * scripts decode with Redis's built-in `cmsgpack.unpack` (C code).
 *
 * Why not one script argument per field: node-redis builds each command as one big string
 * (`$<byteLength>\r\n<arg>\r\n` per argument) that V8 then flattens and converts to UTF-8, and
 * Redis parses every argument and copies it into ARGV. For a chunk of 500 entries × 9 arguments
 * that costs more than the appends themselves; a single binary argument is written as is.
 *
 * Only strings are packed (str8 when the UTF-8 form is short enough to know it fits, else
 * str32; fixarray or array32), which is all `cmsgpack` needs to rebuild Lua strings.
 */
export function packFields(entries: readonly (readonly string[])[]): Buffer {
  // Upper bound: UTF-8 takes at most 3 bytes per UTF-16 unit; the exact size is known after.
  let size = 5;
  for (const fields of entries) {
    size += 5;
    for (const value of fields) size += 5 + value.length * 3;
  }
  const buffer = Buffer.allocUnsafe(size);
  let at = writeArrayHeader(buffer, 0, entries.length);
  for (const fields of entries) {
    at = writeArrayHeader(buffer, at, fields.length);
    for (const value of fields) {
      if (value.length <= 85) {
        // At most 255 bytes: str8.
        const length = buffer.write(value, at + 2, 'utf8');
        buffer[at] = 0xd9;
        buffer[at + 1] = length;
        at += 2 + length;
      } else {
        const length = buffer.write(value, at + 5, 'utf8');
        buffer[at] = 0xdb;
        buffer.writeUInt32BE(length, at + 1);
        at += 5 + length;
      }
    }
  }
  return buffer.subarray(0, at);
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
