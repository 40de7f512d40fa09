// The four consumer-group scenarios of the "RedisStreamConsumerGroup" article: 1 producer → 1
// consumer, 1 → N, N → 1 and N → N. Each runs on its own topic with one consumer group; the
// script prints who produced and who consumed each message, showing that the group splits the
// stream between its consumers (1 → C1, 2 → C2, 3 → C3, 4 → C1 …) and that no message is
// delivered to two consumers or lost.
//
// Run:     yarn tsx examples/src/scenarios.ts                 (12 messages per scenario, N = 3)
// Bounded: yarn tsx examples/src/scenarios.ts --messages 30   (always bounded; Ctrl-C stops early)
// Flags: --n N (producers/consumers in the N scenarios, default 3), --keep (keep the keys).
// REDIS_URL, default redis://127.0.0.1:6379.
import { parseArgs } from 'node:util';
import type { RedisClientType } from 'redis';
import { z } from 'zod';
import { compareStreamIds, defineTopic } from '@tributary/core';
import { createWorker } from '@tributary/consumer-group';
import { createProducer } from '@tributary/producer';
import { connect, deleteTopicKeys, finish, parseFlags, positiveInt, printSummary, sleep, stopSignal, until } from './lib/cli.js';

const USAGE = 'yarn tsx examples/src/scenarios.ts [--messages N] [--n N] [--keep]';
const args = parseFlags(() => parseArgs({ options: { messages: { type: 'string' }, n: { type: 'string' }, keep: { type: 'boolean' } } }).values, USAGE);
const perScenario = positiveInt(args.messages, 'messages', USAGE, 12);
const n = positiveInt(args.n, 'n', USAGE, 3);

const signal = stopSignal();
const client = await connect();

interface Outcome {
  name: string;
  produced: number;
  consumed: number;
  duplicates: number;
  lost: number;
  byConsumer: Record<string, number>;
}

/** Runs `producers` producers and `consumers` consumers in one group over `total` messages. */
async function scenario(name: string, producers: number, consumers: number, total: number): Promise<Outcome> {
  const topic = defineTopic({
    name: `example-scenario-${producers}-to-${consumers}`,
    types: { reading: z.object({ producer: z.string(), seq: z.number().int() }) },
  });
  await deleteTopicKeys(client, topic);
  console.log(`\n${name}: ${producers} producer${producers > 1 ? 's' : ''} → ${consumers} consumer${consumers > 1 ? 's' : ''} in one group, ${total} messages (${topic.keys.stream})`);

  /** Stream ID → consumers that handled it, and who produced it. */
  const handled = new Map<string, { producer: string; consumers: string[] }>();
  const consumerNames = Array.from({ length: consumers }, (_, i) => `C${i + 1}`);
  const workers = consumerNames.map((consumer) =>
    createWorker(client, {
      topic,
      group: 'scenario',
      consumer,
      concurrency: 1,
      handlers: {
        reading: async (msg) => {
          const entry = handled.get(msg.streamId) ?? { producer: msg.data.producer, consumers: [] };
          entry.consumers.push(consumer);
          handled.set(msg.streamId, entry);
          await sleep(5); // some work: a busy consumer leaves the next message to an idle one
        },
      },
    }),
  );
  await Promise.all(workers.map((w) => w.start()));

  // Each producer is a separate connection, like a separate service publishing to the stream.
  const connections: RedisClientType[] = await Promise.all(Array.from({ length: producers }, () => connect()));
  let produced = 0;
  await Promise.all(
    connections.map(async (connection, p) => {
      const producer = createProducer(connection, { topic });
      const share = Math.floor(total / producers) + (p < total % producers ? 1 : 0);
      for (let seq = 1; seq <= share && !signal.aborted; seq++) {
        await producer.publish({ type: 'reading', data: { producer: `P${p + 1}`, seq } });
        produced++;
        await sleep(2); // producers interleave in the stream
      }
      await producer.close();
    }),
  );
  await until(() => handled.size >= produced, { timeoutMs: 30_000 });
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(connections.map((c) => c.close()));

  // Stream order: the entry IDs sort as Redis appended them.
  const order = [...handled.entries()].sort(([a], [b]) => compareStreamIds(a, b));
  const byProducer: Record<string, number> = {};
  const byConsumer: Record<string, number> = Object.fromEntries(consumerNames.map((c) => [c, 0]));
  for (const [, entry] of order) {
    byProducer[entry.producer] = (byProducer[entry.producer] ?? 0) + 1;
    for (const c of entry.consumers) byConsumer[c] = (byConsumer[c] ?? 0) + 1;
  }
  const bar = (count: number) => '█'.repeat(Math.round((count / Math.max(1, produced)) * 30));
  console.log(`  produced by: ${Object.entries(byProducer).map(([p, c]) => `${p}=${c}`).join(' ')}`);
  for (const [consumer, count] of Object.entries(byConsumer)) console.log(`  ${consumer} consumed ${String(count).padStart(4)} ${bar(count)}`);
  console.log(`  stream order: ${order.slice(0, 12).map(([, e], i) => `${i + 1}:${e.producer}→${e.consumers.join('+')}`).join(' ')}${order.length > 12 ? ' …' : ''}`);

  const duplicates = order.filter(([, e]) => e.consumers.length > 1).length;
  const pending = Number((await client.xPending(topic.keys.stream, 'scenario')).pending);
  if (!args.keep) await deleteTopicKeys(client, topic);
  return { name, produced, consumed: handled.size, duplicates, lost: produced - handled.size + pending, byConsumer };
}

const outcomes: Outcome[] = [];
for (const [name, producers, consumers] of [['1:1', 1, 1], ['1:N', 1, n], ['N:1', n, 1], ['N:N', n, n]] as const) {
  if (signal.aborted) break;
  outcomes.push(await scenario(name, producers, consumers, perScenario));
}
await client.close();

const sum = (pick: (o: Outcome) => number) => outcomes.reduce((total, o) => total + pick(o), 0);
printSummary({
  scenarios: outcomes.length,
  produced: sum((o) => o.produced),
  consumed: sum((o) => o.consumed),
  duplicates: sum((o) => o.duplicates),
  lost: sum((o) => o.lost),
  ...Object.fromEntries(outcomes.map((o) => [o.name, Object.entries(o.byConsumer).map(([c, k]) => `${c}:${k}`).join(',')])),
});
// Stopped early with Ctrl-C is fine too, as long as nothing was lost or delivered twice.
finish((outcomes.length === 4 || signal.aborted) && sum((o) => o.lost + o.duplicates) === 0 ? 0 : 1);
