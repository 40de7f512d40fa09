// A checkpointed reader without a consumer group (Redix.Stream's consumer with a "rank
// tracker"): a callback per message, in stream order, and the ID of the last message handled
// stored in Redis (`{example-checkpoint}:checkpoint:audit-log`), so a restarted reader picks up
// at the next message. Unlike Redix.Stream, a failing callback neither crashes the reader nor
// is skipped: it is retried (with a growing pause) before the position moves past it.
//
// Run:     yarn tsx examples/src/checkpoint-reader.ts               (appends an entry a second and reads, until Ctrl-C)
// Bounded: yarn tsx examples/src/checkpoint-reader.ts --messages 10 (appends 10 entries, restarts the reader halfway,
//          exits once all are handled). Run it again: it resumes after the last entry of the previous run.
// Flags: --reset (forget the stream and the stored position first). REDIS_URL, default redis://127.0.0.1:6379.
// The stream and the position are kept between runs on purpose: that is what this example shows.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { defineTopic } from '@tributary/core';
import { type CheckpointReader, createCheckpointReader, readHistory } from '@tributary/consumer-group';
import { createProducer } from '@tributary/producer';
import { connect, deleteTopicKeys, finish, parseFlags, positiveInt, printSummary, sleep, stopSignal, until } from './lib/cli.js';

const USAGE = 'yarn tsx examples/src/checkpoint-reader.ts [--messages N] [--reset]';
const args = parseFlags(() => parseArgs({ options: { messages: { type: 'string' }, reset: { type: 'boolean' } } }).values, USAGE);
const messages = positiveInt(args.messages, 'messages', USAGE);

const topic = defineTopic({
  name: 'example-checkpoint',
  types: { 'entry.appended': z.object({ seq: z.number().int().positive(), text: z.string() }) },
});
const READER = 'audit-log';

const signal = stopSignal();
const client = await connect();
if (args.reset) console.log(`reset: deleted ${await deleteTopicKeys(client, topic)} keys of ${topic.keys.stream}`);

/** Sequence numbers handled in this run, in order. */
const handled: number[] = [];
let restarts = 0;
let retried = 0;
let restarting: Promise<void> | undefined;

function newReader(): CheckpointReader<typeof topic.types> {
  const reader = createCheckpointReader(client, {
    topic,
    name: READER,
    // Only for the very first start: read the stream from its beginning. Later starts resume
    // from the stored position, whatever this says.
    startId: '0',
    retryDelayMs: 200,
    handlers: {
      'entry.appended': async (msg, ctx) => {
        // Every fifth entry fails on its first attempt: it is retried, never skipped.
        if (msg.data.seq % 5 === 0 && ctx.attempt === 1) throw new Error(`entry #${msg.data.seq}: disk full (simulated)`);
        handled.push(msg.data.seq);
        console.log(`${READER}: entry #${msg.data.seq} "${msg.data.text}" (${msg.streamId})`);
        // Bounded mode restarts the reader once, halfway: the new reader resumes from the
        // stored position (stop() lets this handler finish and stores its position first).
        if (messages !== undefined && restarts === 0 && handled.length === Math.ceil(messages / 2)) restarting = restart();
      },
    },
  });
  reader.on('message-error', ({ error, retryInMs }) => {
    retried++;
    console.log(`${READER}: ${(error as Error).message}; retrying in ${retryInMs} ms`);
  });
  reader.on('started', ({ position }) => console.log(`${READER}: started after ${position === '0-0' ? 'nothing (reading from the start)' : position}`));
  return reader;
}

let reader = newReader();
const resumedFrom = await reader.position();
console.log(resumedFrom ? `stored position of ${READER}: ${resumedFrom}` : `${READER} has no stored position yet: first start`);
await reader.start();

async function restart(): Promise<void> {
  restarts++;
  const old = reader;
  await old.stop();
  console.log(`${READER}: stopped at ${await old.position()}; restarting`);
  reader = newReader();
  await reader.start();
}

// Append entries, numbered after the newest one in the stream (history read newest first).
const newest = (await readHistory(client, { topic, reverse: true, count: 1 })).messages[0];
let seq = newest?.data.seq ?? 0;
const producer = createProducer(client, { topic });
let lastId: string | undefined;
let published = 0;
while (!signal.aborted && (messages === undefined || published < messages)) {
  seq++;
  lastId = (await producer.publish({ type: 'entry.appended', data: { seq, text: `event ${seq}` } })).streamId;
  published++;
  if (messages === undefined) await sleep(1000, signal);
}
await producer.close();

// Bounded, or stopped with Ctrl-C: done once the stored position reaches the last entry appended.
const caughtUp = await until(async () => lastId === undefined || (await reader.position()) === lastId, { timeoutMs: 30_000, everyMs: 100 });
await restarting;
await reader.stop();
const position = await reader.position();
const duplicates = handled.length - new Set(handled).size;
const contiguous = handled.every((s, i) => i === 0 || s === handled[i - 1]! + 1);
printSummary({
  'resumed-from': resumedFrom ?? 'none',
  published,
  handled: handled.length,
  'first-seq': handled[0] ?? 0,
  'last-seq': handled[handled.length - 1] ?? 0,
  restarts,
  retried,
  duplicates,
  'in-order': contiguous,
  position: position ?? 'none',
});
await client.close();
finish(caughtUp && duplicates === 0 && contiguous ? 0 : 1);
