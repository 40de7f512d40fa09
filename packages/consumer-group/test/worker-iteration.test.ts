/**
 * Consuming without handlers: `for await` over a worker, and `readable()` piped into a Writable.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toCommander } from '@tributary/core';
import { ensureGroup, type ReceivedMessage } from '@tributary/consumer-group';
import { waitFor } from '@tributary/test-utils';
import { pendingCount, pendingEntries, pingTopic, pings, publish, range, sleep, streamLength, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

test('for await: each message is acked when the loop asks for the next one', async () => {
  const topic = pingTopic();
  const ids = await publish(redis.client, topic, pings(20));
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500, concurrency: 1 });
  const got: number[] = [];
  const pendingWhileHandling: string[][] = [];
  for await (const msg of worker) {
    got.push(msg.data.n);
    expect(msg.deliveries).toBe(1);
    // The one being handled is pending; every earlier one is acked already (or being acked).
    if (msg.data.n % 5 === 0) pendingWhileHandling.push((await pendingEntries(redis.commander, topic, 'g')).map((p) => p.id));
    if (got.length === 20) break;
  }
  expect(got).toEqual(range(20));
  for (const [i, snapshot] of pendingWhileHandling.entries()) expect(snapshot).toEqual([ids[i * 5]]);
  // break released the last one (it stays pending) and stopped the worker.
  expect(worker.running).toBe(false);
  expect((await pendingEntries(redis.commander, topic, 'g')).map((p) => p.id)).toEqual([ids[19]]);
});

test('for await: break releases the current message; fetched but unseen ones stay pending too; nothing is lost', async () => {
  const topic = pingTopic();
  const ids = await publish(redis.client, topic, pings(30));
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500, concurrency: 5 });
  const got: number[] = [];
  const t0 = Date.now();
  for await (const msg of worker) {
    got.push(msg.data.n);
    if (got.length === 10) break;
  }
  expect(Date.now() - t0).toBeLessThan(5000); // stop did not wait for stopTimeoutMs
  expect(got).toEqual(range(10));
  const pending = (await pendingEntries(redis.commander, topic, 'g')).map((p) => p.id);
  // The 10th (released) and whatever was prefetched for the free slots; the first 9 are acked.
  expect(pending[0]).toBe(ids[9]);
  expect(pending.length).toBeLessThanOrEqual(5);
  expect(pending).toEqual(ids.slice(9, 9 + pending.length));

  // A restart under the same name gets the released ones first, then the rest: everything once more or for the first time.
  const again = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 500, concurrency: 5 });
  const rest: ReceivedMessage<typeof topic.types>[] = [];
  for await (const msg of again) {
    rest.push(msg);
    if (rest.length === 21) break;
  }
  expect(rest.map((m) => m.data.n)).toEqual(range(21, 9));
  expect(rest.slice(0, pending.length).every((m) => m.deliveries === 2)).toBe(true);
});

test('for await: break while messages keep arriving stops promptly; only the messages the loop finished are acked', async () => {
  for (let round = 0; round < 5; round++) {
    const topic = pingTopic();
    const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 10_000, concurrency: 8 });
    let publishing = true;
    let published = 0;
    const publisher = (async () => {
      while (publishing) {
        await publish(redis.client, topic, pings(4, published));
        published += 4;
        await sleep(1);
      }
    })();
    const got = new Tally();
    const t0 = Date.now();
    for await (const msg of worker) {
      got.add(msg.data.n);
      if (got.total === 30 + round * 10) break;
    }
    expect(Date.now() - t0).toBeLessThan(5000); // not stopTimeoutMs (30 s)
    publishing = false;
    await publisher;
    expect(got.duplicates()).toEqual([]);
    // The acked ones are exactly those the loop finished; the released one and the prefetched
    // ones stay pending for this consumer.
    const pending = await pendingEntries(redis.commander, topic, 'g', 'c1');
    expect(pending.length).toBeGreaterThanOrEqual(1);
    expect(pending.length).toBeLessThanOrEqual(8);
    expect(worker.stats().acked).toBe(got.total - 1);
  }
});

test('for await: a throwing loop body leaves its message pending and stops the worker', async () => {
  const topic = pingTopic();
  const ids = await publish(redis.client, topic, pings(5));
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500, concurrency: 1 });
  const got: number[] = [];
  await expect((async () => {
    for await (const msg of worker) {
      got.push(msg.data.n);
      if (msg.data.n === 2) throw new Error('body failed');
    }
  })()).rejects.toThrow('body failed');
  expect(got).toEqual([0, 1, 2]);
  expect(worker.running).toBe(false);
  expect((await pendingEntries(redis.commander, topic, 'g')).map((p) => p.id)).toEqual([ids[2]]);
});

test('for await: msg.ack(), msg.fail() and msg.release() settle explicitly', async () => {
  const topic = pingTopic();
  const ids = await publish(redis.client, topic, pings(4));
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500, concurrency: 1 });
  const failures: string[] = [];
  worker.on('failure', (f) => failures.push(`${f.kind}:${(f.error as Error).message}`));
  for await (const msg of worker) {
    if (msg.data.n === 0) msg.ack();
    if (msg.data.n === 1) msg.fail(new Error('nope'));
    if (msg.data.n === 2) msg.release();
    if (msg.data.n === 3) break;
  }
  expect(failures).toEqual(['handler-error:nope']);
  // 0 acked, 1 failed (pending), 2 released (pending), 3 released by break (pending).
  expect((await pendingEntries(redis.commander, topic, 'g')).map((p) => p.id)).toEqual(ids.slice(1));
  expect(worker.stats()).toMatchObject({ succeeded: 1, failed: 1, acked: 1 });
});

test('a worker with handlers cannot also be iterated', () => {
  const topic = pingTopic();
  const worker = redis.worker({ topic, group: 'g', handlers: { ping: () => undefined } });
  expect(() => worker[Symbol.asyncIterator]()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', field: 'WorkerOptions.handlers' }));
});

test('readable(): pipeline into a slow Writable that acks; unsettled messages never exceed concurrency', async () => {
  const topic = pingTopic();
  const total = 120;
  await publish(redis.client, topic, pings(total));
  await ensureGroup(redis.client, topic, 'g', '0'); // the sampler below reads its pending list from the start
  const concurrency = 5;
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500, concurrency });
  const done = new Tally();
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 3,
    write(msg: ReceivedMessage<typeof topic.types>, _encoding, callback) {
      setTimeout(() => {
        done.add(msg.data.n);
        msg.ack();
        callback();
      }, 3);
    },
  });
  const sampler = toCommander(await redis.connect());
  const samples: number[] = [];
  const sampling = (async () => {
    while (done.distinct < total) samples.push((await pendingEntries(sampler, topic, 'g', 'c1')).length);
  })();
  const flowing = pipeline(worker.readable({ highWaterMark: 8 }), sink);
  await waitFor(() => done.distinct === total);
  await sampling;
  // Every message in the Readable's buffer, in the Writable's buffer or being written still
  // holds one of the worker's `concurrency` handler slots until it is settled, so neither
  // highWaterMark adds to the bound: the pending list never exceeds `concurrency`.
  expect(samples.length).toBeGreaterThan(20);
  expect(Math.max(...samples)).toBeLessThanOrEqual(concurrency);
  expect(Math.max(...samples)).toBe(concurrency);
  // Stopping the worker ends the Readable; the pipeline then finishes cleanly.
  await worker.stop();
  await flowing;
  expect(done.duplicates()).toEqual([]);
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});

test('readable(): stop() while the Writable still holds a message: the stream ends, and that message can still be acked', async () => {
  // The Readable ends (and is auto-destroyed) as soon as stop() begins, while the Writable is
  // still working on what it took: ending normally must not give those messages back.
  const topic = pingTopic();
  const ids = await publish(redis.client, topic, pings(6));
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500, concurrency: 2 });
  const acked: number[] = [];
  const sink = new Writable({
    objectMode: true,
    write(msg: ReceivedMessage<typeof topic.types>, _encoding, callback) {
      setTimeout(() => {
        acked.push(msg.data.n);
        msg.ack();
        callback();
      }, 200);
    },
  });
  const flowing = pipeline(worker.readable({ highWaterMark: 1 }), sink);
  await waitFor(async () => (await pendingEntries(redis.commander, topic, 'g')).length > 0);
  await sleep(20); // the Writable has taken the first message: its ack comes about 180 ms later
  await worker.stop();
  await flowing;
  expect(acked.length).toBeGreaterThanOrEqual(1);
  // Every message the Writable acked is acked in Redis: none of them is still pending.
  const pending = (await pendingEntries(redis.commander, topic, 'g')).map((p) => p.id);
  expect(pending.filter((id) => acked.map((n) => ids[n - 1]).includes(id))).toEqual([]);
});

test('readable(): a failing Writable destroys the pipeline; the worker stops promptly and unsettled messages stay pending', async () => {
  const topic = pingTopic();
  await publish(redis.client, topic, pings(50));
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', startId: '0', blockMs: 500, concurrency: 5 });
  const acked = new Tally();
  const sink = new Writable({
    objectMode: true,
    write(msg: ReceivedMessage<typeof topic.types>, _encoding, callback) {
      if (msg.data.n === 10) {
        callback(new Error('sink broke'));
        return;
      }
      acked.add(msg.data.n);
      msg.ack();
      callback();
    },
  });
  const stopped = new Promise((resolve) => worker.once('stopped', resolve));
  const t0 = Date.now();
  await expect(pipeline(worker.readable(), sink)).rejects.toThrow('sink broke');
  await stopped;
  expect(Date.now() - t0).toBeLessThan(3000); // not stopTimeoutMs (30 s)
  expect(worker.running).toBe(false);
  expect([...acked.counts.keys()]).toEqual(range(10));
  await sleep(50);
  const pending = await pendingEntries(redis.commander, topic, 'g');
  expect(pending.length).toBeGreaterThanOrEqual(1);
  expect(pending.length).toBeLessThanOrEqual(5);
  // Nothing lost: acked + pending + never read = everything.
  expect(await streamLength(redis.commander, topic)).toBe(50);
});
