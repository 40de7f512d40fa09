import { z } from 'zod';
import { connectRedis, defineTopic } from '@tributary/core';
import { createWorker } from '@tributary/consumer-group';
import { createRecovery, type DeadLetter } from '@tributary/recovery';
import { createProducer } from '@tributary/producer';
import { listDeadLetters, pendingSummary } from '@tributary/recovery';
import { purgeDeadLetters, redrive } from '@tributary/recovery';
import { listPending, reclaimIdle } from '@tributary/recovery';
import { cleanupConsumers } from '@tributary/recovery';
import { checkTrim, safeTrim } from '@tributary/recovery';
declare function charge(orderId: string, amount: number): Promise<void>; // your code
export async function run(): Promise<void> {


const client = await connectRedis({ url: process.env.REDIS_URL });
const orders = defineTopic({
  name: 'orders',
  types: { 'order.created': z.object({ orderId: z.string(), amount: z.number() }) },
});

const recovery = createRecovery(client, {
  maxDeliveries: 5, // the 5th failed delivery moves it to {orders}:dlq
  backoff: { initialMs: 1000, factor: 2, maxMs: 30_000, jitter: 0.2 },
  claimIdleMs: 60_000, // a dead consumer's messages are taken over after a minute
  onDeadLetter: (letter: DeadLetter) => console.warn(`dead letter ${letter.sourceId}: ${letter.reason}`),
});

const worker = createWorker(client, {
  topic: orders,
  group: 'billing',
  consumer: 'billing-1',
  concurrency: 20,
  leaseRenewMs: 20_000, // below claimIdleMs / 2: slow handlers keep their messages
  failureHandler: recovery,
  handlers: {
    'order.created': async (msg, ctx) => {
      if (msg.data.amount < 0) return ctx.deadLetter('negative amount'); // now, no retries
      if (msg.data.amount > 10_000) return ctx.retry({ delayMs: 5000 }); // again in about 5 s
      await charge(msg.data.orderId, msg.data.amount); // throws → retried with backoff
    },
  },
});
worker.on('dead-lettered', (letter: DeadLetter) => console.log('moved to the DLQ:', letter.reason));
worker.on('lost', (event: { streamIds: string[] }) => console.error('trimmed while pending:', event.streamIds));
await worker.start();


const producer = createProducer(client, { topic: orders });
await producer.publish({ type: 'order.created', data: { orderId: 'o-1', amount: 25 } });
await producer.publish({ type: 'order.created', data: { orderId: 'o-2', amount: -5 } }); // dead-lettered

// (wait until the worker has seen them; in an app, these calls come from an admin tool)
while ((await listDeadLetters(client, { topic: orders })).length === 0) await new Promise((r) => setTimeout(r, 20));

const letters = await listDeadLetters(client, { topic: orders, count: 50 }); // oldest first; reverse: true for newest
for (const letter of letters) {
  // letter.message is the decoded original (letter.decodeError says why when it cannot be decoded)
  console.log(letter.deadLetterId, letter.reason, letter.errorMessage, letter.message?.data);
}
console.log(await pendingSummary(client, { topic: orders, group: 'billing' }));


// What would move? Nothing is written in a dry run.
const preview = await redrive(client, { topic: orders, filter: (l) => l.reason === 'explicit', dryRun: true });
console.log(`would redrive ${preview.ids.length}`);

// Move them back to {orders}, 100 per second at most, with progress.
const result = await redrive(client, {
  topic: orders,
  filter: (l) => l.reason === 'explicit' && l.message?.data.orderId === 'o-2',
  ratePerSecond: 100,
  onProgress: ({ moved, total }) => console.log(`${moved}/${total}`),
});
console.log(result.moved, result.streamIds); // new stream IDs; the application `id` field is kept

// The handler still refuses o-2, so it is back in the DLQ: drop dead letters for good.
while ((await listDeadLetters(client, { topic: orders })).length === 0) await new Promise((r) => setTimeout(r, 20));
await purgeDeadLetters(client, { topic: orders, all: true }); // or { ids: [...] } or { olderThanMs }


const stuck = await listPending(client, { topic: orders, group: 'billing', minIdleMs: 60_000, count: 100 });
console.log(stuck.map((p) => `${p.streamId} held by ${p.consumer} for ${p.idleMs} ms, ${p.deliveries} deliveries`));

// Take over everything idle for 10 minutes, e.g. in a one-off script; handle and XACK what you get.
const { claimed, deleted } = await reclaimIdle(client, { topic: orders, group: 'billing', consumer: 'ops', minIdleMs: 600_000 });
console.log(claimed.length, deleted.length);


const cleanup = await cleanupConsumers(client, { topic: orders, group: 'billing', idleMs: 24 * 3600_000 });
console.log(`deleted ${cleanup.deleted.length}, kept ${cleanup.kept.length}`);


const report = await checkTrim(client, { topic: orders });
if (report.unsafe) console.error('trimming removed entries a group still needed', report.groups);

// Trim to 100k entries / 7 days, but never past what some group still needs.
const { trimmed, minId } = await safeTrim(client, { topic: orders, maxLen: 100_000, maxAgeMs: 7 * 24 * 3600_000 });
console.log(trimmed, minId);

await worker.stop(); // stops reading, lets handlers finish, stops the reclaim loop, flushes acks
await producer.close();
await client.close();

}
