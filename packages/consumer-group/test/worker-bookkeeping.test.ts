/**
 * Pure bookkeeping of the worker, without Redis: the in-flight slot table and the queue of
 * reads sent on the reader with its watchdog.
 */
import { z } from 'zod';
import { decodeMessageBytes, defineTopic, encodeMessage, ErrorCode, isTributaryError } from '@tributary/core';
import { Delivery, type DeliveryOwner } from '../src/delivery.js';
import { InFlight } from '../src/in-flight.js';
import { SentReads } from '../src/sent-reads.js';

const owner: DeliveryOwner = { group: 'g', consumer: 'c', ack: () => undefined, extendLease: async () => true };
const delivery = (id: string) => new Delivery(owner, id, [], 1, Date.now());

describe('Delivery keeps no bytes once decoded', () => {
  // The worker reads fields as Buffers, slices of node-redis's socket reads: one kept slice
  // keeps its whole read (up to 64 KiB) alive, for as long as a slow handler, a kept ctx or a
  // failure handler holds the delivery.
  const topic = defineTopic({ name: 'bytes', types: { 'a.b': z.object({ n: z.number() }) } });
  const holdsBuffer = (value: unknown, depth = 0): boolean =>
    Buffer.isBuffer(value) || (depth < 3 && typeof value === 'object' && value !== null && Object.values(value).some((v) => holdsBuffer(v, depth + 1)));
  const read = (fields: string[]) => fields.map((f) => Buffer.from(f));

  test.each([
    ['the producer layout', encodeMessage(topic, { type: 'a.b', data: { n: 1 }, id: 'm-1', ts: 1700000000000 })],
    ['another layout (headers)', encodeMessage(topic, { type: 'a.b', data: { n: 2 }, headers: { trace: 't' } })],
  ])('%s: decoded, it holds text only, and fields gives back what was stored', (_name, stored) => {
    const bytes = read(stored);
    const d = new Delivery(owner, '1-0', bytes, 1, Date.now());
    expect(holdsBuffer(d)).toBe(true);
    d.decoded(decodeMessageBytes(topic, '1-0', bytes, d));
    expect(holdsBuffer(d)).toBe(false);
    expect(d.fields).toEqual(stored);
  });

  test('not decodable: the failure report turns the bytes into text and drops them', () => {
    const stored = ['type', 'a.b', 'data', '{not json', 'id', 'x', 'ts', '1'];
    const d = new Delivery(owner, '1-0', read(stored), 1, Date.now());
    expect(() => decodeMessageBytes(topic, '1-0', read(stored), d)).toThrow();
    expect(d.fields).toEqual(stored);
    expect(holdsBuffer(d)).toBe(false);
  });
});

describe('InFlight', () => {
  test('add, remove and reuse of slots; size, ids, values and has follow', () => {
    const table = new InFlight();
    const [a, b, c] = [delivery('1-0'), delivery('2-0'), delivery('3-0')];
    table.add(a);
    table.add(b);
    expect(table.size).toBe(2);
    expect(table.remove(a)).toBe(true);
    expect(table.remove(a)).toBe(false); // settled twice: the second is a no-op
    expect(table.holds(a)).toBe(false);
    table.add(c); // takes a's freed slot
    expect(c.slot).toBe(0);
    expect(table.size).toBe(2);
    expect([...table.ids()].sort()).toEqual(['2-0', '3-0']);
    expect(table.values()).toEqual([c, b]);
    expect(table.has('3-0')).toBe(true);
    expect(table.has('1-0')).toBe(false);
  });

  test('another delivery of the same stream ID is not the one held', () => {
    const table = new InFlight();
    const first = delivery('1-0');
    table.add(first);
    const again = delivery('1-0');
    expect(table.holds(again)).toBe(false);
    expect(table.remove(again)).toBe(false);
    expect(table.size).toBe(1);
  });
});

describe('SentReads', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('the watchdog fails every read still waiting once the oldest is past its own deadline', async () => {
    const reads = new SentReads(10_000);
    reads.watch();
    const never = new Promise<unknown>(() => undefined);
    reads.add(never, { count: 5, holds: 5, epoch: 0 });
    reads.add(never, { count: 5, holds: 5, epoch: 0 });
    const first = reads.oldest()!;
    let settled: unknown = 'pending';
    first.reply.then(() => (settled = 'resolved'), (error: unknown) => (settled = error));
    await jest.advanceTimersByTimeAsync(9_000);
    expect(settled).toBe('pending');
    await jest.advanceTimersByTimeAsync(2_000);
    expect(isTributaryError(settled) && settled.code).toBe(ErrorCode.Timeout);
    expect((settled as Error).message).toBe('no reply to XREADGROUP within 10000 ms');
    reads.done();
    await expect(reads.oldest()!.reply).rejects.toMatchObject({ code: ErrorCode.Timeout });
    reads.done();
    expect(reads.length).toBe(0);

    // A BLOCK read gets its own, longer deadline (BLOCK + margin): not failed at the default one.
    reads.add(never, { count: 1, holds: 0, epoch: 0 }, 25_000);
    let blockSettled: unknown = 'pending';
    reads.oldest()!.reply.then(() => (blockSettled = 'resolved'), (error: unknown) => (blockSettled = error));
    await jest.advanceTimersByTimeAsync(20_000);
    expect(blockSettled).toBe('pending');
    await jest.advanceTimersByTimeAsync(6_000);
    expect(isTributaryError(blockSettled) && blockSettled.code).toBe(ErrorCode.Timeout);
    expect((blockSettled as Error).message).toBe('no reply to XREADGROUP within 25000 ms');
    reads.unwatch();
  });

  test('a reply that arrives passes through unchanged; failAll rejects only what is still waiting', async () => {
    const reads = new SentReads(10_000);
    reads.add(Promise.resolve(['reply']), { count: 1, holds: 1, epoch: 3 });
    await expect(reads.oldest()!.reply).resolves.toEqual(['reply']);
    expect(reads.oldest()).toMatchObject({ count: 1, holds: 1, epoch: 3 });
    reads.add(new Promise<unknown>(() => undefined), { count: 1, holds: 1, epoch: 3 });
    reads.failAll(new Error('stopping'));
    reads.done();
    await expect(reads.oldest()!.reply).rejects.toThrow('stopping');
  });
});
