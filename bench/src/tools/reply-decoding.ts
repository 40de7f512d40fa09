/**
 * What decoding an XREADGROUP reply costs per message, without the network: one real reply of
 * 500 entries (RESP3, as node-redis speaks it) is captured from Redis once, cut into 64 KiB
 * chunks like socket reads, and decoded over and over by
 * - node-redis's own decoder with bulk strings as strings (the raw loop's path),
 * - node-redis's decoder with bulk strings as Buffers (the worker's path),
 * - a minimal reader written for this reply shape only: an optimistic bound on what replacing
 *   node-redis's decoder on the worker's reader connection could save (it reads the whole
 *   reply from one buffer, with no checks for replies split across reads, nulls or bad input).
 * Each alone, then with JSON.parse + zod of the payload as a consumer does.
 * Usage: REDIS_URL=redis://127.0.0.1:<port> tsx src/tools/reply-decoding.ts [rounds]
 */
import { connect } from 'node:net';
import { decodeMessageBytes, encodeMessage } from '@tributary/core';
import { Decoder } from '@redis/client/dist/lib/RESP/decoder.js';
import { RESP_TYPES } from 'redis';
import { freshName } from '../context.js';
import { benchTopic, EVENT_TYPE, orderSchema, payload, rawDecode } from '../payload.js';
import { median } from '../timing.js';

const ENTRIES = 500;
const CHUNK = 64 * 1024;

/** A command as RESP. */
function resp(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Sends each group of commands on one fresh socket once Redis has gone `quietMs` without
 * sending anything, and returns what came back for each group.
 */
function exchange(url: URL, groups: readonly (readonly string[][])[], quietMs = 300): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const replies: Buffer[] = [];
    let chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      if (replies.length > 0 || chunks.length > 0) replies.push(Buffer.concat(chunks));
      chunks = [];
      const group = groups[replies.length];
      if (group === undefined) {
        socket.destroy();
        resolve(replies);
        return;
      }
      socket.write(group.map(resp).join(''));
    };
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      clearTimeout(timer);
      timer = setTimeout(next, quietMs);
    });
    socket.on('connect', next);
  });
}

/** Buffer's native slicers, which `toString(encoding, start, end)` calls after checking its arguments. */
type SliceBuffer = Buffer & { utf8Slice(start: number, end: number): string };

/** Skips `<prefix><number>\r\n` at `at`; returns [number, next offset]. */
function header(buffer: Buffer, at: number): [number, number] {
  let value = 0;
  let i = at + 1;
  for (; buffer[i] !== 0x0d; i++) {
    if (i >= buffer.length) throw new Error(`reply ends inside a header at ${at}`);
    value = value * 10 + (buffer[i]! - 48);
  }
  return [value, i + 2];
}

/**
 * The minimal reader: a RESP3 XREADGROUP reply of one stream (`%1 $key *N` of `*2 $id *8 …`),
 * whole in one buffer. Per entry it makes the ID and the payload strings, and nothing else.
 */
function minimalEntries(reply: SliceBuffer, onEntry: (id: string, data: string) => void): void {
  let [, at] = header(reply, 0); // %1
  let length: number;
  [length, at] = header(reply, at); // $key
  at += length + 2;
  const [count, first] = header(reply, at); // *N
  at = first;
  for (let e = 0; e < count; e++) {
    [, at] = header(reply, at); // *2
    [length, at] = header(reply, at);
    // utf8Slice is what Buffer#toString() calls, as in the node-redis variants.
    const id = reply.utf8Slice(at, at + length);
    at += length + 2;
    let fields: number;
    [fields, at] = header(reply, at);
    let data = '';
    for (let f = 0; f < fields; f += 2) {
      [length, at] = header(reply, at);
      // Of the producer layout's names (type, data, id, ts), only "data" has 4 bytes and starts with d.
      const isData = length === 4 && reply[at] === 0x64;
      at += length + 2;
      [length, at] = header(reply, at);
      if (isData) data = reply.utf8Slice(at, at + length);
      at += length + 2;
    }
    onEntry(id, data);
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const topic = benchTopic(freshName('decode'));
  const key = topic.keys.stream;
  const adds: string[][] = [];
  for (let i = 0; i < ENTRIES; i++) adds.push(['XADD', key, '*', ...encodeMessage(topic, { type: EVENT_TYPE, data: payload(i) })]);
  await exchange(url, [[...adds, ['XGROUP', 'CREATE', key, 'g', '0']]]);
  const [, reply] = await exchange(url, [[['HELLO', '3']], [['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', String(ENTRIES), 'STREAMS', key, '>']]]);
  await exchange(url, [[['UNLINK', key]]]);
  if (reply === undefined || reply[0] !== 0x25) throw new Error('expected a RESP3 map reply to XREADGROUP');
  const chunks: Buffer[] = [];
  for (let at = 0; at < reply.length; at += CHUNK) chunks.push(reply.subarray(at, at + CHUNK));

  const mapping = (blob: typeof String | typeof Buffer) => ({ [RESP_TYPES.MAP]: Array, [RESP_TYPES.BLOB_STRING]: blob, [RESP_TYPES.SIMPLE_STRING]: String });
  const nodeRedis = (blob: typeof String | typeof Buffer, onEntries: (entries: [unknown, unknown[]][]) => void) => {
    const decoder = new Decoder({
      onReply: (value) => onEntries((value as unknown[])[1] as [unknown, unknown[]][]),
      onErrorReply: () => undefined, onPush: () => undefined,
      getTypeMapping: () => mapping(blob),
    });
    return () => { for (const chunk of chunks) decoder.write(chunk); };
  };
  const minimal = (onEntry: (id: string, data: string) => void) => () => minimalEntries(Buffer.concat(chunks) as SliceBuffer, onEntry);
  // Every variant stores what it made here, so that the work cannot be optimised away.
  let sink: unknown;
  const validate = (data: string) => orderSchema.parse(JSON.parse(data));
  const variants: Record<string, () => void> = {
    'node-redis strings': nodeRedis(String, (entries) => { for (const [id, fields] of entries) sink = [id, (fields as string[])[3]]; }),
    'node-redis bytes': nodeRedis(Buffer, (entries) => { for (const [id, fields] of entries) sink = [(id as Buffer).toString(), (fields as Buffer[])[3]!.toString()]; }),
    'minimal reader': minimal((id, data) => { sink = [id, data]; }),
    'strings + parse + zod (raw loop + zod)': nodeRedis(String, (entries) => { for (const [id, fields] of entries) sink = [id, orderSchema.parse(rawDecode(fields as string[]))]; }),
    'bytes + parse + zod': nodeRedis(Buffer, (entries) => { for (const [id, fields] of entries) sink = [(id as Buffer).toString(), validate((fields as Buffer[])[3]!.toString())]; }),
    'bytes + decodeMessageBytes (worker)': nodeRedis(Buffer, (entries) => { for (const [id, fields] of entries) sink = decodeMessageBytes(topic, (id as Buffer).toString(), fields as Buffer[]); }),
    'minimal + parse + zod': minimal((id, data) => { sink = [id, validate(data)]; }),
  };
  const results = new Map<string, number[]>();
  const iterations = 200;
  // Each variant must see the whole reply: a short capture would make every figure wrong.
  let decoded = 0;
  nodeRedis(String, (entries) => { decoded = entries.length; })();
  if (decoded !== ENTRIES) throw new Error(`captured ${decoded} entries, expected ${ENTRIES}`);
  let seen = 0;
  minimal(() => { seen++; })();
  if (seen !== ENTRIES) throw new Error(`the minimal reader saw ${seen} entries, expected ${ENTRIES}`);
  const names = Object.keys(variants);
  for (let round = 0; round < rounds; round++) {
    // Alternating the order, as the other A/B tools do.
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const run = variants[name]!;
      for (let w = 0; w < 20; w++) run();
      const start = process.hrtime.bigint();
      for (let k = 0; k < iterations; k++) run();
      const ns = Number(process.hrtime.bigint() - start) / (iterations * ENTRIES);
      results.set(name, [...(results.get(name) ?? []), ns / 1000]);
    }
  }
  void sink;
  console.log(`reply: ${reply.length} bytes, ${ENTRIES} entries, ${chunks.length} chunks; µs per message, median of ${rounds} rounds`);
  for (const [name, list] of results) console.log(`${name.padEnd(38)} ${median(list).toFixed(3)}  [${list.map((v) => v.toFixed(2)).join(' ')}]`);
}
void main();
