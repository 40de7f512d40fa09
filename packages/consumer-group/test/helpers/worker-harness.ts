/**
 * Shared helpers of the worker tests: a redis-server per test file, a tiny publisher that XADDs
 * the wire format directly (consumer-group must not depend on @tributary/producer, even in
 * tests), pending-list probes, and teardown of every worker a test creates.
 */
import { z } from 'zod';
import {
  type Commander,
  connectRedis,
  defineTopic,
  encodeMessage,
  type OutgoingMessage,
  type RedisClientLike,
  type Topic,
  type TopicTypes,
  toCommander,
} from '@tributary/core';
import { createWorker, type Worker, type WorkerOptions } from '@tributary/consumer-group';
import { type RedisServer, startRedis, uniqueName } from '@tributary/test-utils';

/** Most XADDs pipelined at once (one Promise.all). */
const PUBLISH_CHUNK = 500;

/**
 * XADDs messages in order, pipelined in chunks (commands sent in one tick share a write).
 * @returns the stream IDs, in publish order
 */
export async function publish<T extends TopicTypes>(
  connection: RedisClientLike | Commander,
  topic: Topic<T>,
  messages: readonly OutgoingMessage<T>[],
): Promise<string[]> {
  const commander = 'evalScript' in connection ? connection : toCommander(connection);
  const key = topic.keys.stream;
  const ids: string[] = [];
  for (let i = 0; i < messages.length; i += PUBLISH_CHUNK) {
    const chunk = messages.slice(i, i + PUBLISH_CHUNK);
    const replies = await Promise.all(chunk.map((m) => commander.send<string>(key, ['XADD', key, '*', ...encodeMessage(topic, m)])));
    ids.push(...replies.map(String));
  }
  return ids;
}

/** XADDs raw field/value pairs (for malformed entries the envelope codec would refuse to write). */
export async function publishRaw(connection: RedisClientLike | Commander, topic: Topic, fields: readonly string[]): Promise<string> {
  const commander = 'evalScript' in connection ? connection : toCommander(connection);
  const key = topic.keys.stream;
  return String(await commander.send(key, ['XADD', key, '*', ...fields]));
}

/** One entry of a group's pending list (XPENDING extended form). */
export interface PendingEntry {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

/** The group's pending entries (all, or one consumer's), oldest first. */
export async function pendingEntries(commander: Commander, topic: Topic, group: string, consumer?: string): Promise<PendingEntry[]> {
  const key = topic.keys.stream;
  const args = ['XPENDING', key, group, '-', '+', '1000000'];
  if (consumer !== undefined) args.push(consumer);
  const reply = await commander.send<unknown[]>(key, args);
  return (reply ?? []).map((item) => {
    const [id, owner, idle, deliveries] = item as [string, string, number, number];
    return { id: String(id), consumer: String(owner), idleMs: Number(idle), deliveries: Number(deliveries) };
  });
}

/** Size of the group's pending list (XPENDING summary form). */
export async function pendingCount(commander: Commander, topic: Topic, group: string): Promise<number> {
  const key = topic.keys.stream;
  const reply = await commander.send<unknown[]>(key, ['XPENDING', key, group]);
  return Number(reply?.[0] ?? 0);
}

/** Entries in the stream (XLEN). */
export async function streamLength(commander: Commander, topic: Topic): Promise<number> {
  const key = topic.keys.stream;
  return Number(await commander.send(key, ['XLEN', key]));
}

/** A one-type topic with a unique name: `ping { n: number, from?: string }`. */
export function pingTopic(prefix = 'ping') {
  return defineTopic({
    name: uniqueName(prefix),
    types: { ping: z.object({ n: z.number().int(), from: z.string().optional() }) },
  });
}

/** `count` ping messages numbered from `first`. */
export function pings(count: number, first = 0, from?: string): OutgoingMessage<ReturnType<typeof pingTopic>['types']>[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'ping' as const, data: from === undefined ? { n: first + i } : { n: first + i, from } }));
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (a well-behaved handler). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Counts how often each key was seen; `duplicates()` lists keys seen more than once. */
export class Tally<K = number> {
  readonly counts = new Map<K, number>();
  add(key: K): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  get distinct(): number {
    return this.counts.size;
  }
  has(key: K): boolean {
    return this.counts.has(key);
  }
  duplicates(): K[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([k]) => k);
  }
}

/** Numbers `0 … n-1`, for "every message exactly once" assertions. */
export const range = (n: number, first = 0): number[] => Array.from({ length: n }, (_, i) => first + i);

/**
 * One redis-server for the whole test file (beforeAll/afterAll), a client, and teardown of every
 * worker a test creates through `worker()` (stopped after each test, even a failing one).
 */
/** What {@link useRedis} gives a test file. */
export interface RedisHarness {
  readonly server: RedisServer;
  readonly client: Awaited<ReturnType<typeof connectRedis>>;
  readonly commander: Commander;
  worker<T extends TopicTypes>(options: WorkerOptions<T>, connection?: RedisClientLike | Commander): Worker<T>;
  connect(): Promise<Awaited<ReturnType<typeof connectRedis>>>;
}

export function useRedis(): RedisHarness {
  const state: { server?: RedisServer; client?: Awaited<ReturnType<typeof connectRedis>> } = {};
  const workers: Worker<never>[] = [];
  const extraClients: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    state.server = await startRedis();
    state.client = await connectRedis({ url: state.server.url });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 200 }).catch(() => undefined)));
    await Promise.all(extraClients.splice(0).map((c) => c.close().catch(() => undefined)));
  });
  afterAll(async () => {
    await state.client?.close();
    await state.server?.stop();
  });

  const harness: RedisHarness = {
    get server(): RedisServer {
      if (!state.server) throw new Error('redis not started');
      return state.server;
    },
    get client() {
      if (!state.client) throw new Error('redis not started');
      return state.client;
    },
    get commander(): Commander {
      return toCommander(harness.client);
    },
    /** Creates a worker on the shared client; it is stopped after the test. */
    worker<T extends TopicTypes>(options: WorkerOptions<T>, connection: RedisClientLike | Commander = harness.client): Worker<T> {
      const w = createWorker(connection, options);
      workers.push(w as unknown as Worker<never>);
      return w;
    },
    /** A second connection (another "process"), closed after the test. */
    async connect() {
      const c = await connectRedis({ url: harness.server.url });
      extraClients.push(c);
      return c;
    },
  };
  return harness;
}
