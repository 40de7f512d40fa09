// Consumer group members (the @streamerson/consumer-group README's example): each member of the
// group "some-consumer-group" runs a handler for events of type "my-event"; members with
// different IDs each get *different* messages (Redis consumer groups guarantee it). Events are
// published through the producer's Writable; with --readable, members consume through a Node
// Readable (worker.readable()) piped into a Writable instead of handlers.
//
// Run:     yarn tsx examples/src/consumer-group-readable.ts                    (3 members + a producer, until Ctrl-C)
//          yarn tsx examples/src/consumer-group-readable.ts --member consumer-1  (one member; start others with other IDs)
//          yarn tsx examples/src/consumer-group-readable.ts --produce 20        (publish 20 events and exit)
// Bounded: yarn tsx examples/src/consumer-group-readable.ts --messages 30      (3 members, 30 events, exits when all
//          are handled and prints how they were shared)
// Flags: --members N (default 3), --readable, --keep (keep the keys at the end). REDIS_URL, default redis://127.0.0.1:6379.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defineTopic } from '@tributary/core';
import { createWorker, type ReceivedMessage, type Worker } from '@tributary/consumer-group';
import { createProducer } from '@tributary/producer';
import { connect, deleteTopicKeys, finish, parseFlags, positiveInt, printSummary, sleep, stopSignal, until } from './lib/cli.js';

const USAGE = 'yarn tsx examples/src/consumer-group-readable.ts [--messages N] [--members N] [--member ID] [--produce N] [--readable] [--keep]';
const args = parseFlags(() => parseArgs({
  options: {
    messages: { type: 'string' },
    members: { type: 'string' },
    member: { type: 'string' },
    produce: { type: 'string' },
    readable: { type: 'boolean' },
    keep: { type: 'boolean' },
  },
}).values, USAGE);
const messages = positiveInt(args.messages, 'messages', USAGE);
const memberCount = positiveInt(args.members, 'members', USAGE, 3);
const produceOnly = positiveInt(args.produce, 'produce', USAGE);

const topic = defineTopic({
  name: 'example-my-stream-topic',
  types: { 'my-event': z.object({ n: z.number().int(), text: z.string() }) },
});
type Types = typeof topic.types;
const GROUP = 'some-consumer-group';

const signal = stopSignal();
const client = await connect();

/** Who handled which event number: members must never share one. */
const handledBy = new Map<number, string[]>();

function onMyEvent(member: string, data: { n: number; text: string }): void {
  console.log(`${member}: an event with type "my-event" was received: ${JSON.stringify(data)}`);
  handledBy.set(data.n, [...(handledBy.get(data.n) ?? []), member]);
}

/** A group member. Concurrency 1, like a member handling one event at a time. */
function member(id: string): Worker<Types> {
  return createWorker(client, {
    topic,
    group: GROUP,
    consumer: id,
    // A group created by the first member reads the stream from its start, so events published
    // before any member existed are handled too.
    startId: '0',
    concurrency: 1,
    ...(args.readable
      ? {}
      : {
          handlers: {
            'my-event': async (msg) => {
              onMyEvent(id, msg.data);
              await sleep(10); // a little work, so the group spreads events over its members
            },
          },
        }),
  });
}

/** --readable: consume through the worker's Readable; each message is settled with ack(). */
function consumeReadable(worker: Worker<Types>): Promise<void> {
  return pipeline(
    worker.readable(),
    new Writable({
      objectMode: true,
      write(msg: ReceivedMessage<Types>, _encoding, done) {
        onMyEvent(worker.consumer, msg.data);
        setTimeout(() => {
          msg.ack();
          done();
        }, 10);
      },
    }),
  );
}

/** Publishes events through the producer's Writable: `count` of them, or one every 300 ms until stopped. */
async function produce(count: number | undefined, firstN = 1): Promise<number> {
  const producer = createProducer(client, { topic });
  let published = 0;
  async function* events() {
    for (let n = firstN; count === undefined || n < firstN + count; n++) {
      if (signal.aborted) return;
      yield { type: 'my-event' as const, data: { n, text: `hello #${n}` } };
      published++;
      if (count === undefined) await sleep(300, signal);
    }
  }
  await pipeline(Readable.from(events()), producer.writable());
  await producer.close();
  return published;
}

let code = 0;
if (produceOnly !== undefined) {
  const first = (await client.xLen(topic.keys.stream)) + 1;
  const published = await produce(produceOnly, first);
  printSummary({ published });
} else if (args.member !== undefined) {
  // One member in its own process: run several with different IDs and see them share the events.
  const worker = member(args.member);
  const running = args.readable ? consumeReadable(worker) : worker.start();
  if (!args.readable) await running;
  console.log(`member ${args.member} of group ${GROUP} on ${topic.keys.stream} is listening (Ctrl-C to stop)`);
  await until(() => messages !== undefined && handledBy.size >= messages, { signal });
  await worker.stop();
  await running;
  printSummary({ member: args.member, handled: handledBy.size });
} else {
  // Several members in this process, each with its own ID (and its own blocking connection).
  await deleteTopicKeys(client, topic);
  const ids = Array.from({ length: memberCount }, (_, i) => `consumer-${i + 1}`);
  const workers = ids.map(member);
  const consuming = workers.map((w) => (args.readable ? consumeReadable(w) : w.start()));
  if (!args.readable) await Promise.all(consuming);
  console.log(`${ids.join(', ')} joined group ${GROUP} on ${topic.keys.stream}`);
  const published = await produce(messages);
  // Bounded, or stopped with Ctrl-C: the members handle everything published before stopping.
  await until(() => handledBy.size >= published, { timeoutMs: 60_000 });
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(consuming);

  const counts = Object.fromEntries(ids.map((id) => [id, 0]));
  for (const members of handledBy.values()) for (const id of members) counts[id] = (counts[id] ?? 0) + 1;
  const duplicates = [...handledBy.values()].filter((m) => m.length > 1).length;
  const pending = Number(((await client.xPending(topic.keys.stream, GROUP)) as { pending: number }).pending);
  console.log(`how the group shared ${published} events: ${ids.map((id) => `${id}=${counts[id]}`).join(' ')}`);
  printSummary({ published, handled: handledBy.size, duplicates, pending, ...counts });
  if (handledBy.size !== published || duplicates > 0 || pending > 0) code = 1;
  if (!args.keep) await deleteTopicKeys(client, topic);
}
await client.close();
finish(code);
