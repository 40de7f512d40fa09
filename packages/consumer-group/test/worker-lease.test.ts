/**
 * Leases: automatic renewal for long handlers, ctx.extendLease(), and losing a lease to a peer.
 */
import { toCommander } from '@tributary/core';
import { renewLeases } from '@tributary/consumer-group';
import { waitFor } from '@tributary/test-utils';
import { pendingEntries, pingTopic, pings, publish, sleep, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

/** XCLAIMs an entry for `thief`, as a peer's reclaim would. */
async function steal(topic: ReturnType<typeof pingTopic>, group: string, thief: string, id: string): Promise<void> {
  const key = topic.keys.stream;
  await redis.commander.send(key, ['XCLAIM', key, group, thief, '0', id]);
}

test('leaseRenewMs keeps a long-running message fresh: its idle time stays low while the handler runs', async () => {
  const topic = pingTopic();
  let running = false;
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500, leaseRenewMs: 200,
    handlers: { ping: async () => { running = true; await sleep(1500); running = false; } },
  });
  await worker.start();
  const [id] = await publish(redis.client, topic, pings(1));
  await waitFor(() => running);
  const sampler = toCommander(await redis.connect());
  const idle: number[] = [];
  while (running) {
    const entry = (await pendingEntries(sampler, topic, 'g', 'c1')).find((p) => p.id === id);
    if (entry && running) idle.push(entry.idleMs);
    await sleep(40);
  }
  expect(idle.length).toBeGreaterThan(15);
  // Renewed every ~200 ms; without renewal the idle time would climb to ~1500 ms.
  expect(Math.max(...idle)).toBeLessThan(500);
  await waitFor(() => worker.stats().acked === 1);
  // Renewal is XCLAIM … JUSTID: it does not count as a delivery.
  expect(worker.stats()).toMatchObject({ succeeded: 1, failed: 0 });
});

test('without leaseRenewMs the idle time of a running message grows (the control for the test above)', async () => {
  const topic = pingTopic();
  let running = false;
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500,
    handlers: { ping: async () => { running = true; await sleep(700); running = false; } },
  });
  await worker.start();
  await publish(redis.client, topic, pings(1));
  await waitFor(() => running);
  await sleep(600);
  const [entry] = await pendingEntries(redis.commander, topic, 'g', 'c1');
  expect(entry!.idleMs).toBeGreaterThanOrEqual(500);
});

test('ctx.extendLease() resets the idle time while owned, and returns false once a peer has claimed the message', async () => {
  const topic = pingTopic();
  const results: boolean[] = [];
  let step: (() => void) | undefined;
  const next = () => new Promise<void>((resolve) => { step = resolve; });
  let handling = false;
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500,
    handlers: {
      ping: async (_m, ctx) => {
        handling = true;
        await next();
        results.push(await ctx.extendLease());
        await next();
        results.push(await ctx.extendLease());
        await next();
      },
    },
  });
  await worker.start();
  const [id] = await publish(redis.client, topic, pings(1));
  await waitFor(() => handling && step !== undefined);
  await sleep(300);
  step!();
  await waitFor(() => results.length === 1);
  expect(results).toEqual([true]);
  const [afterExtend] = await pendingEntries(redis.commander, topic, 'g');
  expect(afterExtend).toMatchObject({ id, consumer: 'c1', deliveries: 1 });
  expect(afterExtend!.idleMs).toBeLessThan(250);

  await steal(topic, 'g', 'thief', id!);
  step!();
  await waitFor(() => results.length === 2);
  expect(results).toEqual([true, false]);
  // extendLease never takes it back from the peer.
  expect((await pendingEntries(redis.commander, topic, 'g'))[0]).toMatchObject({ id, consumer: 'thief' });
  step!();
});

test("'lease-lost' is emitted (once) when a peer claims a message that is still being handled", async () => {
  const topic = pingTopic();
  const lost: { streamId: string; consumer: string }[] = [];
  let finish: (() => void) | undefined;
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500, leaseRenewMs: 100,
    handlers: { ping: () => new Promise<void>((resolve) => { finish = resolve; }) },
  });
  worker.on('lease-lost', (e) => lost.push(e));
  await worker.start();
  const [id] = await publish(redis.client, topic, pings(1));
  await waitFor(() => finish !== undefined);
  await sleep(250);
  expect(lost).toEqual([]); // renewals so far succeeded
  await steal(topic, 'g', 'thief', id!);
  await waitFor(() => lost.length > 0);
  await sleep(400); // several more renewal rounds
  expect(lost).toEqual([{ streamId: id, consumer: 'c1' }]);
  // The peer keeps it: renewal never steals it back.
  expect((await pendingEntries(redis.commander, topic, 'g'))[0]).toMatchObject({ id, consumer: 'thief' });
  finish!();
});

test('renewLeases() renews only the IDs the consumer still owns', async () => {
  const topic = pingTopic();
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 500, concurrency: 3, handlers: { ping: () => new Promise(() => undefined) } });
  await worker.start();
  const ids = await publish(redis.client, topic, pings(3));
  await waitFor(async () => (await pendingEntries(redis.commander, topic, 'g', 'c1')).length === 3);
  await steal(topic, 'g', 'other', ids[1]!);
  const renewed = await renewLeases(redis.commander, topic, 'g', 'c1', ids);
  expect(renewed).toEqual([ids[0], ids[2]]);
  expect(await renewLeases(redis.commander, topic, 'g', 'c1', [])).toEqual([]);
  const after = await pendingEntries(redis.commander, topic, 'g');
  expect(after.map((p) => [p.id, p.consumer, p.deliveries])).toEqual([[ids[0], 'c1', 1], [ids[1], 'other', 2], [ids[2], 'c1', 1]]);
});
