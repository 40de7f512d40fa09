import { randomUUID } from 'node:crypto';
import { defineTopic, type Topic } from '@tributary/core';
import { z } from 'zod';

/** The one event type every scenario publishes and consumes. */
export const EVENT_TYPE = 'order.created';

/** Target size of `JSON.stringify(payload)` in bytes. */
export const PAYLOAD_BYTES = 200;

/** The payload schema: what the library validates on publish and on consume. */
export const orderSchema = z.object({
  orderId: z.string(),
  customerId: z.string(),
  amount: z.number(),
  currency: z.string().length(3),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive(), price: z.number() })),
  note: z.string(),
  /** High-resolution send time (epoch ms with a fraction), for latency: the envelope's `ts` is whole ms. */
  sentAt: z.number(),
});

export type Order = z.infer<typeof orderSchema>;

const types = { [EVENT_TYPE]: orderSchema } as { 'order.created': typeof orderSchema };
export type BenchTypes = typeof types;

/** A topic of the bench payload. Retention is the library default (`MAXLEN ~ 1000000`). */
export function benchTopic(name: string): Topic<BenchTypes> {
  return defineTopic({ name, types });
}

/** Wall-clock time in ms with sub-ms precision, comparable across processes on one machine. */
export function hrNow(): number {
  return performance.timeOrigin + performance.now();
}

const SAMPLE_SENT_AT = 1_763_900_000_000.123;

function basePayload(i: number, note: string): Order {
  return {
    orderId: `ord-${String(i).padStart(8, '0')}`,
    customerId: `cus-${String(i % 100_000).padStart(6, '0')}`,
    amount: 1234.56,
    currency: 'EUR',
    items: [{ sku: 'SKU-12345', qty: 2, price: 19.99 }, { sku: 'SKU-54321', qty: 1, price: 5.5 }],
    note,
    sentAt: SAMPLE_SENT_AT,
  };
}

const NOTE = 'x'.repeat(Math.max(0, PAYLOAD_BYTES - JSON.stringify(basePayload(0, '')).length));

/**
 * Payload objects reused cyclically (building them is not what is measured); both sides
 * stringify each one per message.
 */
export const PAYLOADS: readonly Order[] = Array.from({ length: 1024 }, (_, i) => basePayload(i, NOTE));

/** The payload for message `i` (same object for raw and library runs). */
export function payload(i: number): Order {
  return PAYLOADS[i & 1023]!;
}

/** The same payload stamped with the current high-resolution time (latency runs). */
export function stampedPayload(i: number): Order {
  return { ...payload(i), sentAt: hrNow() };
}

/** The XADD head the producer sends with the default retention; raw uses it too so Redis does the same work. */
export function rawXaddHead(key: string): string[] {
  return ['XADD', key, 'MAXLEN', '~', '1000000', '*'];
}

/**
 * The raw baseline's XADD: the very entry the library writes (type, data, id, ts), built by
 * hand (`JSON.stringify`, `randomUUID`, `Date.now`) without schema validation.
 */
export function rawXaddArgs(head: readonly string[], data: Order): string[] {
  return [...head, 'type', EVENT_TYPE, 'data', JSON.stringify(data), 'id', randomUUID(), 'ts', String(Date.now())];
}

/** Raw decoding of one entry's fields: find `data` and JSON.parse it. */
export function rawDecode(fields: readonly string[]): Order {
  for (let f = 0; f + 1 < fields.length; f += 2) {
    if (fields[f] === 'data') return JSON.parse(fields[f + 1]!) as Order;
  }
  throw new Error('entry without a data field');
}
