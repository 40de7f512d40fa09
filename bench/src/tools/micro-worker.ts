/**
 * CPU per message of the worker's own path without Redis: a fake Commander, 500 prepared
 * entries per batch pushed through the worker's private startEntry, next to decodeMessage
 * alone and the raw decode (+ zod). For `node --cpu-prof` (ONLY_WORKER=1: the worker path only).
 * Usage: tsx src/tools/micro-worker.ts [sync]
 */
import { createWorker } from '@tributary/consumer-group';
import { type Commander, decodeMessage, decodeMessageBytes, encodeMessage } from '@tributary/core';
import { benchTopic, EVENT_TYPE, orderSchema, payload, rawDecode } from '../payload.js';

const topic = benchTopic('micro');
const entries: { id: string; fields: string[] }[] = [];
for (let i = 0; i < 500; i++) entries.push({ id: `1700000000000-${i}`, fields: encodeMessage(topic, { type: EVENT_TYPE, data: payload(i) }) });
const fake = {
  client: {}, isCluster: false,
  send: () => Promise.resolve(500),
  evalScript: () => Promise.resolve(null),
  duplicate: async () => fake, close: async () => undefined, destroy: () => undefined,
} as unknown as Commander;
const sync = process.argv[2] === 'sync';
let handled = 0;
const worker = createWorker(fake, {
  topic, group: 'g', consumer: 'c', concurrency: 100_000,
  handlers: { [EVENT_TYPE]: sync ? () => { handled++; } : async () => { handled++; } },
});
const internal = worker as unknown as { startEntry(id: string, fields: readonly Buffer[], deliveries: number, now: number): void };
/** The same entries as the worker reads them: fields as Buffers (see decodeMessageBytes). */
const byteEntries = entries.map((e) => ({ id: e.id, fields: e.fields.map((f) => Buffer.from(f)) }));

async function timeIt(name: string, batch: () => Promise<void> | void, batches = 600): Promise<void> {
  for (let i = 0; i < 100; i++) await batch();
  const t0 = process.cpuUsage();
  for (let i = 0; i < batches; i++) await batch();
  const t = process.cpuUsage(t0);
  console.log(`${name.padEnd(28)} ${((t.user + t.system) / batches / 500).toFixed(3)} µs/msg`);
}

async function main(): Promise<void> {
  const only = process.env.ONLY_WORKER === '1';
  for (let round = 0; round < 3; round++) {
    if (!only) await timeIt('raw decode', () => { for (const e of entries) rawDecode(e.fields); });
    if (!only) await timeIt('raw decode + zod', () => { for (const e of entries) orderSchema.parse(rawDecode(e.fields)); });
    if (!only) await timeIt('decodeMessage', () => { for (const e of entries) decodeMessage(topic, e.id, e.fields); });
    if (!only) await timeIt('decodeMessageBytes', () => { for (const e of byteEntries) decodeMessageBytes(topic, e.id, e.fields); });
    await timeIt(`worker path (${sync ? 'sync' : 'async'} handler)`, async () => {
      const now = Date.now();
      for (const e of byteEntries) internal.startEntry(e.id, e.fields, 1, now);
      await new Promise((resolve) => setImmediate(resolve));
    });
  }
  console.log(`handled ${handled}`);
}
void main();
