// Inspect the dead-letter stream and move entries back after a fix. A payments worker has a bug
// (it rejects every EUR payment); those payments fail twice and land in `{example-payments}:dlq`
// with their reason and error, next to one undecodable entry. The script lists the dead letters,
// deploys the fix (a new worker), redrives what the fix can handle (a dry run first, then with a
// rate limit and progress) and shows that every payment got processed exactly once, keeping its
// application message ID. The undecodable entry stays in the dead-letter stream (--purge deletes it).
//
// Run / bounded: yarn tsx examples/src/dlq-redrive.ts --messages 12   (default 12; exits when done)
// Flags: --purge (delete the remaining dead letters at the end), --keep (keep the keys).
// REDIS_URL, default redis://127.0.0.1:6379.
import { parseArgs } from 'node:util';
import type { RedisClientType } from 'redis';
import { z } from 'zod';
import { defineTopic, Field } from '@tributary/core';
import { createWorker, type Worker } from '@tributary/consumer-group';
import { createProducer } from '@tributary/producer';
import { createRecovery, DeadLetterReason, listDeadLetters, purgeDeadLetters, redrive } from '@tributary/recovery';
import { connect, deleteTopicKeys, finish, parseFlags, positiveInt, printSummary, stopSignal, until } from './lib/cli.js';

const USAGE = 'yarn tsx examples/src/dlq-redrive.ts [--messages N] [--purge] [--keep]';
const args = parseFlags(() => parseArgs({ options: { messages: { type: 'string' }, purge: { type: 'boolean' }, keep: { type: 'boolean' } } }).values, USAGE);
const total = positiveInt(args.messages, 'messages', USAGE, 12);

const topic = defineTopic({
  name: 'example-payments',
  types: { 'payment.requested': z.object({ paymentId: z.string(), amount: z.number().positive(), currency: z.enum(['USD', 'EUR', 'GBP']) }) },
});
const GROUP = 'payments';

const signal = stopSignal();
const client: RedisClientType = await connect();
await deleteTopicKeys(client, topic);

/** Application message ID → how many times a worker processed it. */
const processed = new Map<string, number>();

/** Version 1 has a bug: it rejects every EUR payment. Version 2 is the fix. */
function paymentsWorker(version: 1 | 2): Worker<typeof topic.types> {
  return createWorker(client, {
    topic,
    group: GROUP,
    consumer: `payments-v${version}`,
    startId: '0',
    failureHandler: createRecovery(client, { maxDeliveries: 2, backoff: [100] }),
    handlers: {
      'payment.requested': async (msg) => {
        if (version === 1 && msg.data.currency === 'EUR') throw new Error(`unsupported currency ${msg.data.currency}`);
        processed.set(msg.id, (processed.get(msg.id) ?? 0) + 1);
      },
    },
  });
}

// 1. The buggy worker meets the payments, and one entry that is not even JSON.
let worker = paymentsWorker(1);
await worker.start();
const producer = createProducer(client, { topic });
const currencies = ['USD', 'GBP', 'USD', 'EUR'] as const;
let eur = 0;
for (let i = 1; i <= total; i++) {
  const currency = currencies[i % 4]!;
  if (currency === 'EUR') eur++;
  await producer.publish({ type: 'payment.requested', data: { paymentId: `pay-${i}`, amount: 10 * i, currency } });
}
await producer.close();
await client.xAdd(topic.keys.stream, '*', { [Field.Type]: 'payment.requested', [Field.Data]: '{"paymentId": "pay-x", amount', [Field.Id]: 'junk-1' });
const settled = await until(async () => processed.size + (await client.xLen(topic.keys.deadLetter)) >= total + 1, { signal, timeoutMs: 30_000 });
console.log(`v1 processed ${processed.size} of ${total} payments; dead letters: ${await client.xLen(topic.keys.deadLetter)}`);

// 2. Inspect the dead-letter stream: why each message is there, and what it held.
const letters = await listDeadLetters(client, { topic });
console.log('\ndead letters:');
for (const letter of letters) {
  const what = letter.message ? JSON.stringify(letter.message.data) : `undecodable: ${letter.fields[Field.Data]}`;
  console.log(`  ${letter.deadLetterId}  source ${letter.sourceId}  ${letter.reason.padEnd(14)} deliveries=${letter.deliveries}  ${letter.errorName}: ${letter.errorMessage}\n      ${what}`);
}

// 3. Deploy the fix: stop v1 (it finishes what it runs), start v2 in the same group.
await worker.stop();
worker = paymentsWorker(2);
await worker.start();

// 4. Redrive what the fix handles: failed by the handler (max-deliveries) and decodable.
const fixable = (letter: (typeof letters)[number]) => letter.reason === DeadLetterReason.MaxDeliveries && letter.message !== undefined;
const dry = await redrive(client, { topic, filter: fixable, dryRun: true });
console.log(`\ndry run: would move ${dry.ids.length} dead letters back (${dry.ids.join(', ')})`);
const moved = await redrive(client, {
  topic,
  filter: fixable,
  ratePerSecond: 50,
  onProgress: ({ moved: done, total: all }) => console.log(`redrive: ${done}/${all}`),
});
console.log(`redrive moved ${moved.moved}, skipped ${moved.skipped}; new stream IDs: ${moved.streamIds.join(', ')}`);

// 5. The fixed worker processes them; the undecodable entry stays for a human to look at.
const caughtUp = await until(() => processed.size >= total, { signal, timeoutMs: 30_000 });
await worker.stop();
let left = await client.xLen(topic.keys.deadLetter);
if (args.purge) {
  const remaining = await listDeadLetters(client, { topic });
  const purged = await purgeDeadLetters(client, { topic, ids: remaining.map((l) => l.deadLetterId) });
  console.log(`purged ${purged} dead letters`);
  left = await client.xLen(topic.keys.deadLetter);
}
const pending = Number((await client.xPending(topic.keys.stream, GROUP)).pending);
const duplicates = [...processed.values()].filter((n) => n > 1).length;
printSummary({
  published: total,
  junk: 1,
  'dead-lettered': letters.length,
  'would-move': dry.ids.length,
  redriven: moved.moved,
  processed: processed.size,
  duplicates,
  'dlq-left': left,
  pending,
});
if (!args.keep) await deleteTopicKeys(client, topic);
await client.close();
const complete = settled && caughtUp && moved.moved === eur && processed.size === total;
// Stopped early with Ctrl-C: fine, as long as nothing was processed twice or left pending.
finish((complete || signal.aborted) && duplicates === 0 && pending === 0 ? 0 : 1);
