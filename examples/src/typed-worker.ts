// A typed producer and worker (the goxstreams README): events typed by a zod schema, and the
// three goxstreams handlers —
//   Process       the normal handler; a failure is retried later (here: every 4th event fails once,
//                 every 10th always fails);
//   ProcessBroken entries that cannot be converted to the model (bad JSON, schema mismatch):
//                 dead-lettered at once, never retried, and reported to onDeadLetter;
//   ProcessDead   events that failed MaxRetries times: dead-lettered, reported to onDeadLetter.
// Unlike goxstreams, broken and dead messages are not just logged: they sit in the dead-letter
// stream `{example-mystream}:dlq` with their reason and error, ready to inspect and redrive.
//
// goxstreams ConsumerConfig   → Tributary
//   Stream: "mystream"        → defineTopic({ name: 'example-mystream', types })   (stream key {example-mystream})
//   Group: "mygroup"          → createWorker({ group: 'mygroup' })
//   ConsumerName: "consumer"  → createWorker({ consumer })   (keep it stable across restarts: pending work resumes)
//   BatchSize: 100            → createWorker({ batchSize: 100 })   (never more than the free slots: bounded prefetch)
//   MaxConcurrency: 5000      → createWorker({ concurrency })   (handlers running at once)
//   NoAck: false              → always: acked only after the handler resolves (no mode that drops failures)
//   MaxRetries: 3             → createRecovery({ maxDeliveries: 4 })   (deliveries counted by Redis: 1 + 3 retries)
//   CleaneUp: false           → retention on the topic or producer (MAXLEN ~ / MINID): acked entries are not
//                               deleted one by one, other groups and replays may still need them
//   FailReadTime: 1000ms      → createRecovery({ reclaimIntervalMs: 1000 })   (how often pending work is looked for)
//   FailIdle: 5000ms          → createRecovery({ claimIdleMs: 5000 })   (a message idle this long is taken over) and
//                               `backoff` (when a failed message is retried)
//
// Run:     yarn tsx examples/src/typed-worker.ts                  (produces an event every 100 ms, until Ctrl-C)
// Bounded: yarn tsx examples/src/typed-worker.ts --messages 40    (40 events + 2 broken entries; exits when each is
//          processed or dead-lettered)
// Flags: --broken N (broken entries, default 2), --keep (keep the keys). REDIS_URL, default redis://127.0.0.1:6379.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defineTopic, Field } from '@tributary/core';
import { createWorker } from '@tributary/consumer-group';
import { createProducer } from '@tributary/producer';
import { createRecovery, type DeadLetter, DeadLetterReason } from '@tributary/recovery';
import { connect, deleteTopicKeys, finish, parseFlags, positiveInt, printSummary, sleep, stopSignal, until } from './lib/cli.js';

const USAGE = 'yarn tsx examples/src/typed-worker.ts [--messages N] [--broken N] [--keep]';
const args = parseFlags(() => parseArgs({ options: { messages: { type: 'string' }, broken: { type: 'string' }, keep: { type: 'boolean' } } }).values, USAGE);
const messages = positiveInt(args.messages, 'messages', USAGE);
const brokenCount = args.broken === '0' ? 0 : positiveInt(args.broken, 'broken', USAGE, 2);

// The business model, as a schema: producer and worker share its type.
const Event = z.object({
  message: z.string(),
  name: z.string(),
  foo: z.number().int(),
  bar: z.number().int(),
  subEvent: z.object({
    barBar: z.string(),
    fooFoo: z.object({ fooFooFoo: z.number().int() }),
  }),
});
const topic = defineTopic({ name: 'example-mystream', types: { event: Event } });

const signal = stopSignal();
const client = await connect();
await deleteTopicKeys(client, topic);

const WORKER = 'foo';
const counts = { processed: 0, failures: 0, broken: 0, dead: 0 };

// ProcessBroken and ProcessDead: called after the message is safely in the dead-letter stream.
function onDeadLetter(letter: DeadLetter): void {
  if (letter.reason === DeadLetterReason.MaxDeliveries) {
    counts.dead++;
    console.log(`read from mystream is dead!!! id: ${letter.sourceId}, retry: ${letter.deliveries - 1}, body: ${letter.fields[Field.Data]}, worker: ${WORKER}`);
  } else {
    counts.broken++;
    console.log(`read broken event from mystream: id: ${letter.sourceId}, retry: ${letter.deliveries - 1}, body: ${letter.fields[Field.Data]}, worker: ${WORKER}, err: ${letter.errorMessage}`);
  }
}

const worker = createWorker(client, {
  topic,
  group: 'mygroup',
  consumer: 'consumer',
  batchSize: 100,
  concurrency: 50,
  failureHandler: createRecovery(client, {
    maxDeliveries: 4,
    backoff: [200],
    claimIdleMs: 5000,
    reclaimIntervalMs: 1000,
    onDeadLetter,
  }),
  handlers: {
    // Process: msg.data is typed from the schema (msg.data.subEvent.fooFoo.fooFooFoo is a number).
    event: async (msg, ctx) => {
      await sleep(20);
      const n = msg.data.foo;
      if (n % 10 === 7 || (n % 4 === 2 && ctx.deliveries === 1)) {
        counts.failures++;
        throw new Error(`rand error on ${n}`);
      }
      counts.processed++;
      console.log(`read event from mystream: id: ${msg.streamId}, retry: ${ctx.deliveries - 1}, body: ${JSON.stringify(msg.data)}, worker: ${WORKER}`);
    },
  },
});
await worker.start();
console.log(`consumer started on ${topic.keys.stream} (group mygroup)`);

// The typed producer: a payload that does not match the schema does not compile (and is
// rejected at run time, writing nothing).
const producer = createProducer(client, { topic });
let published = 0;
for (let i = 1; !signal.aborted && (messages === undefined || i <= messages); i++) {
  await producer.publish({
    type: 'event',
    data: { message: 'message', name: 'name', foo: i, bar: 1000 - i, subEvent: { barBar: '1234', fooFoo: { fooFooFoo: 777 } } },
  });
  published++;
  if (messages === undefined) await sleep(100, signal);
}
await producer.close();
// Broken entries, written by something that ignores the schema: one not JSON, one of the wrong shape.
for (let i = 0; i < brokenCount; i++) {
  const data = i % 2 === 0 ? '{"message": "message", "foo": ' : JSON.stringify({ message: 'message', foo: 'not a number' });
  await client.xAdd(topic.keys.stream, '*', { [Field.Type]: 'event', [Field.Data]: data, [Field.Id]: `broken-${i + 1}` });
}

// Bounded, or stopped with Ctrl-C: let the worker finish what was produced (retries included).
const done = await until(() => counts.processed + counts.dead >= published && counts.broken >= brokenCount, { timeoutMs: 60_000 });
await worker.stop();
const pending = Number((await client.xPending(topic.keys.stream, 'mygroup')).pending);
const dlq = await client.xLen(topic.keys.deadLetter);
printSummary({ published, broken: counts.broken, processed: counts.processed, failures: counts.failures, dead: counts.dead, dlq, pending });
if (!args.keep) await deleteTopicKeys(client, topic);
await client.close();
finish(done && pending === 0 && dlq === counts.broken + counts.dead ? 0 : 1);
