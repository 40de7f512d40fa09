import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { created, ordersTopic, payloads, useRedis, xlen } from './fixtures.js';

const redis = useRedis();

function* orders(count: number) {
  for (let n = 0; n < count; n++) yield created(n);
}

/** Writes until `write()` returns false; resolves with how many writes that took. */
function fillUntilBackpressure(stream: Writable, limit: number): number {
  for (let n = 0; n < limit; n++) {
    if (!stream.write(created(n))) return n + 1;
  }
  return -1;
}

describe('writable', () => {
  it('publishes 5,000 piped messages, in order, all written when pipeline() resolves', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    await pipeline(Readable.from(orders(5000)), producer.writable());
    expect(await xlen(redis.client, topic.keys.stream)).toBe(5000);
    expect(await payloads(redis.client, topic.keys.stream)).toEqual([...orders(5000)].map((m) => m.data));
  });

  it('applies backpressure: write() returns false past highWaterMark, then drains', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    const stream = producer.writable({ highWaterMark: 4 });
    const written = fillUntilBackpressure(stream, 1000);
    // 4 in flight (callbacks return at once) + 4 buffered; the write that fills the buffer says false.
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThanOrEqual(8);
    expect(stream.writableNeedDrain).toBe(true);
    await once(stream, 'drain');
    stream.end(created(written));
    await once(stream, 'finish');
    expect(await xlen(redis.client, topic.keys.stream)).toBe(written + 1);
  });

  it('keeps at most highWaterMark publishes in flight under pipeline()', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    let pulled = 0;
    let maxAhead = 0;
    const source = Readable.from(
      (function* () {
        for (let n = 0; n < 3000; n++) {
          pulled++;
          yield created(n);
        }
      })(),
    );
    const probe = setInterval(() => {
      // `pulled` is read when XLEN is sent: XLEN runs later, so this never overstates the gap.
      const atSend = pulled;
      void xlen(redis.client, topic.keys.stream).then((len) => (maxAhead = Math.max(maxAhead, atSend - len)));
    }, 1);
    try {
      await pipeline(source, producer.writable({ highWaterMark: 16 }));
    } finally {
      clearInterval(probe);
    }
    expect(await xlen(redis.client, topic.keys.stream)).toBe(3000);
    // Readable.from buffers 16 objects too; everything else is bounded by the Writable.
    expect(maxAhead).toBeLessThanOrEqual(16 * 3 + 2);
  });

  it('errors the stream on a failed publish', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    const messages = [created(0), { type: 'order.created', data: { orderId: 'bad', amount: -1 } }, created(2)];
    const error = await pipeline(Readable.from(messages), producer.writable()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.Validation });
  });

  it('reports a server error as the stream error', async () => {
    const topic = ordersTopic('none');
    await redis.client.sendCommand(['SET', topic.keys.stream, 'not a stream']);
    const stream = createProducer(redis.redis, { topic }).writable();
    stream.write(created(1));
    const [error] = (await once(stream, 'error')) as [unknown];
    expect(error).toMatchObject({ code: ErrorCode.Redis, message: expect.stringContaining('WRONGTYPE') });
    expect(stream.destroyed).toBe(true);
  });

  it('does not close the producer when it ends', async () => {
    const topic = ordersTopic('none');
    const producer = createProducer(redis.redis, { topic });
    await pipeline(Readable.from(orders(3)), producer.writable());
    await expect(producer.publish(created(3))).resolves.toMatchObject({ duplicate: false });
  });

  it('validates its options', () => {
    const producer = createProducer(redis.redis, { topic: ordersTopic() });
    expect(() => producer.writable({ highWaterMark: 0 })).toThrow(expect.objectContaining({ field: 'ProducerWritableOptions.highWaterMark' }));
  });
});
