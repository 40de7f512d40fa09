// Watermill's "no-ack blocks the next message" on a concurrency-1 worker, with recovery plugged in:
// an unsettled message holds its slot (and is not reclaimed from under it), a nack releases the slot
// and the message comes back later.
import { waitFor } from '@tributary/test-utils';
import { createRecovery, listDeadLetters } from '@tributary/recovery';
import { jobTopic, pendingCount, publish, sleep, trackWorker, useRedis } from './recovery-helpers.js';

const redis = useRedis();

test('an unfinished message holds back the next one; after its nack the next runs and it is retried', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { claimIdleMs: 300, reclaimIntervalMs: 50, backoff: [200] });
  const events: string[] = [];
  let nack: (error: Error) => void = () => undefined;
  const worker = trackWorker(redis, {
    topic, group: 'g', consumer: 'c1', startId: '0', concurrency: 1, leaseRenewMs: 100, failureHandler: recovery,
    handlers: {
      job: (m, ctx) => {
        events.push(`start ${m.data.n}#${ctx.deliveries}`);
        if (m.data.n === 1 && ctx.deliveries === 1) return new Promise((_resolve, reject) => { nack = reject; });
        return undefined;
      },
    },
  });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await publish(redis.commander, topic, { type: 'job', data: { n: 2 } });
  await worker.start();
  await waitFor(() => events.length === 1);
  await sleep(800); // well past claimIdleMs: the lease keeps it ours, the slot stays taken
  expect(events).toEqual(['start 1#1']);
  nack(new Error('not now'));
  await waitFor(() => events.length === 3, { timeoutMs: 5000 });
  expect(events).toEqual(['start 1#1', 'start 2#1', 'start 1#2']);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
  expect(await listDeadLetters(redis.client, { topic })).toEqual([]);
});

test('for await: a message not settled holds back the next; fail() hands it to recovery', async () => {
  const topic = jobTopic();
  const recovery = createRecovery(redis.client, { claimIdleMs: 300, reclaimIntervalMs: 50, backoff: [100], maxDeliveries: 2 });
  const worker = trackWorker(redis, { topic, group: 'g', consumer: 'c1', startId: '0', concurrency: 1, leaseRenewMs: 100, failureHandler: recovery });
  await publish(redis.commander, topic, { type: 'job', data: { n: 1 } });
  await publish(redis.commander, topic, { type: 'job', data: { n: 2 } });
  const stream = worker.readable({ highWaterMark: 1 });
  const received: string[] = [];
  const messages: { data: { n: number }; deliveries: number; ack(): void; fail(e?: unknown): void }[] = [];
  stream.on('data', (m: (typeof messages)[number]) => {
    received.push(`${m.data.n}#${m.deliveries}`);
    messages.push(m);
  });
  await waitFor(() => received.length === 1);
  await sleep(700);
  expect(received).toEqual(['1#1']);
  messages[0]!.fail(new Error('nope'));
  await waitFor(() => received.length === 2);
  messages[1]!.ack();
  await waitFor(() => received.length === 3, { timeoutMs: 5000 });
  expect(received).toEqual(['1#1', '2#1', '1#2']);
  messages[2]!.ack();
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
  stream.destroy();
});
