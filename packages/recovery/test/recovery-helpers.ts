// Shared fixtures of recovery's own tests: one redis-server per test file, a client, publishing
// helpers, and workers that are always stopped after each test.
import { createClient } from 'redis';
import { z } from 'zod';
import {
  type Commander,
  defineScript,
  defineTopic,
  encodeMessage,
  type OutgoingMessage,
  parseReadReply,
  type Topic,
  type TopicTypes,
  toCommander,
} from '@tributary/core';
import { createWorker, type Worker, type WorkerOptions } from '@tributary/consumer-group';
import { type RedisServer, startRedis, uniqueName } from '@tributary/test-utils';

export type Client = ReturnType<typeof createClient>;

/** Starts a redis-server and a client for the test file; stops every worker after each test. */
export function useRedis(): { readonly server: RedisServer; readonly client: Client; readonly commander: Commander; workers: Worker[] } {
  const state = {
    server: undefined as unknown as RedisServer,
    client: undefined as unknown as Client,
    commander: undefined as unknown as Commander,
    workers: [] as Worker[],
  };
  beforeAll(async () => {
    state.server = await startRedis();
    state.client = createClient({ url: state.server.url });
    state.client.on('error', () => undefined);
    await state.client.connect();
    state.commander = toCommander(state.client);
  });
  afterEach(async () => {
    const workers = state.workers.splice(0);
    await Promise.all(workers.map((w) => w.stop({ timeoutMs: 2000 })));
  });
  afterAll(async () => {
    await state.client?.close();
    await state.server?.stop();
  });
  return state;
}

/** The topic most tests use: `job` messages with a number, and a second type `other`. */
export function jobTopic(prefix = 'rec') {
  return defineTopic({
    name: uniqueName(prefix),
    types: {
      job: z.object({ n: z.number() }),
      other: z.object({ text: z.string() }),
    },
  });
}

/** Publishes one message with XADD (what a producer does), returns its stream ID. */
export async function publish<T extends TopicTypes>(commander: Commander, topic: Topic<T>, message: OutgoingMessage<T>): Promise<string> {
  const key = topic.keys.stream;
  return String(await commander.send(key, ['XADD', key, '*', ...encodeMessage(topic, message)]));
}

/** XADDs raw fields (junk, or entries written by other tools). */
export async function publishRaw(commander: Commander, topic: Topic, fields: readonly string[]): Promise<string> {
  const key = topic.keys.stream;
  return String(await commander.send(key, ['XADD', key, '*', ...fields]));
}

/** Creates a worker that the fixture stops after the test. */
export function trackWorker<T extends TopicTypes>(state: { client: Client; workers: Worker[] }, options: WorkerOptions<T>): Worker<T> {
  const worker = createWorker(state.client, { blockMs: 200, stopTimeoutMs: 2000, ...options });
  state.workers.push(worker as unknown as Worker);
  return worker;
}

/** Reads a whole stream as `{ id, fields }` objects. */
export async function readAll(commander: Commander, key: string): Promise<{ id: string; fields: Record<string, string> }[]> {
  const raw = await commander.send<[string, string[]][]>(key, ['XRANGE', key, '-', '+']);
  return (raw ?? []).map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { id, fields };
  });
}

/** Size of a group's pending list. */
export async function pendingCount(commander: Commander, topic: Topic, group: string): Promise<number> {
  const reply = await commander.send<unknown[]>(topic.keys.stream, ['XPENDING', topic.keys.stream, group]);
  return Number(reply[0]);
}

/** Reads entries for a consumer without processing them (a consumer that crashes after reading). */
export async function readAsConsumer(commander: Commander, topic: Topic, group: string, consumer: string, count: number): Promise<string[]> {
  const key = topic.keys.stream;
  const reply = await commander.send(key, ['XREADGROUP', 'GROUP', group, consumer, 'COUNT', String(count), 'STREAMS', key, '>']);
  return (parseReadReply(reply).get(key) ?? []).map((e) => e.id);
}

/** Sets the idle time of pending entries (as if their consumer had been silent that long). */
const ageScript = defineScript(`
for i = 2, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] then redis.call('XCLAIM', KEYS[1], ARGV[1], p[1][2], 0, ARGV[i], 'IDLE', 3600000, 'JUSTID') end
end
return 1
`);

export async function agePending(commander: Commander, topic: Topic, group: string, ids: readonly string[]): Promise<void> {
  await commander.evalScript(ageScript, [topic.keys.stream], [group, ...ids]);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
