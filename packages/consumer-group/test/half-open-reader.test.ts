/**
 * A reader connection that goes half-open (the peer gone without a reset: nothing comes back,
 * writes still succeed) would stay silent until the kernel gives up retransmitting, about 15
 * minutes on Linux. Once a read on it passes its deadline, the worker and the checkpoint
 * reader replace the connection and read on. Simulated with a TCP proxy that stops forwarding
 * the reader's connection while keeping both of its sockets open.
 */
import { z } from 'zod';
import { connectRedis, defineTopic, encodeMessage, ErrorCode, isTributaryError } from '@tributary/core';
import { createCheckpointReader } from '@tributary/consumer-group';
import { type ProxiedConnection, startTcpProxy, type TcpProxy, uniqueName, waitFor } from '@tributary/test-utils';
import { pendingCount, pingTopic, pings, publish, range, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();
let proxy: TcpProxy;
let client: Awaited<ReturnType<typeof connectRedis>>;

beforeEach(async () => {
  proxy = await startTcpProxy({ port: redis.server.port });
  client = await connectRedis({ url: proxy.url });
});
afterEach(async () => {
  await client.close().catch(() => undefined);
  await proxy.close();
});

/** The connections through the proxy that sent `command` (a reader's XREADGROUP or XREAD). */
const readersOf = (command: string): ProxiedConnection[] => proxy.connections().filter((c) => c.carried(`\r\n${command}\r\n`));

/** Worker errors with their stage, and the TIMEOUT ones among them. */
function timeouts(errors: readonly { stage: string; error: unknown }[]): number {
  return errors.filter((e) => e.stage === 'read' && isTributaryError(e.error) && e.error.code === ErrorCode.Timeout).length;
}

test('worker: a read unanswered past blockMs + 10 s on a half-open reader gets the reader replaced; reading goes on', async () => {
  const topic = pingTopic('half-open');
  const done = new Tally();
  const errors: { stage: string; error: unknown }[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 500, handlers: { ping: (m) => { done.add(m.data.n); } } }, client);
  worker.on('worker-error', (e) => errors.push(e));
  await worker.start();
  try {
    await publish(redis.client, topic, pings(10));
    await waitFor(() => done.distinct === 10);
    const [reader] = readersOf('XREADGROUP');
    expect(readersOf('XREADGROUP')).toHaveLength(1);
    reader!.blackhole();
    const t0 = Date.now();
    await publish(redis.client, topic, pings(10, 10));
    await waitFor(() => done.distinct === 20, { timeoutMs: 25_000 });
    // The BLOCK read went out at most blockMs before t0; its deadline is blockMs + 10 s.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(9_500);
    expect(timeouts(errors)).toBe(1);
    const readers = readersOf('XREADGROUP');
    expect(readers).toHaveLength(2);
    expect(readers[0]!.closed).toBe(true); // the silent one was dropped, not left open
    expect(readers[1]!.blackholed).toBe(false);
    expect([...done.counts.keys()].sort((a, b) => a - b)).toEqual(range(20));
    expect(done.duplicates()).toEqual([]);
    await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
  } finally {
    await worker.stop();
  }
}, 40_000);

test('worker: entries a read took whose reply never came are found after the reader is replaced, each handled once', async () => {
  const topic = pingTopic('lost-reply');
  const done = new Tally();
  const deliveries = new Map<number, number>();
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500, concurrency: 4,
    handlers: { ping: (m, ctx) => { done.add(m.data.n); deliveries.set(m.data.n, ctx.deliveries); } },
  }, client);
  await worker.start();
  try {
    await waitFor(() => readersOf('XREADGROUP').length === 1);
    // Commands still reach the server, replies are dropped: the BLOCK read waiting now takes
    // the first entries published into the pending list, and its reply is lost.
    readersOf('XREADGROUP')[0]!.blackhole('replies');
    await publish(redis.client, topic, pings(10));
    await waitFor(() => done.distinct === 10, { timeoutMs: 25_000 });
    expect(done.duplicates()).toEqual([]);
    // Taken by the lost read, then claimed by the resync: delivered twice, handled once.
    expect([...deliveries.values()].filter((d) => d === 2).length).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
    expect(readersOf('XREADGROUP')).toHaveLength(2);
  } finally {
    await worker.stop();
  }
}, 40_000);

test('checkpoint reader: a half-open reader connection is replaced after the read deadline; reading goes on', async () => {
  const topic = defineTopic({ name: uniqueName('half-open-ckpt'), types: { tick: z.object({ n: z.number() }) } });
  const seen: number[] = [];
  const errors: { stage: string; error: unknown }[] = [];
  const reader = createCheckpointReader(client, { topic, name: 'r1', startId: '0', blockMs: 500, handlers: { tick: (m) => void seen.push(m.data.n) } });
  reader.on('reader-error', (e) => errors.push(e));
  const add = async (n: number) => {
    const key = topic.keys.stream;
    await redis.commander.send(key, ['XADD', key, '*', ...encodeMessage(topic, { type: 'tick', data: { n } })]);
  };
  await reader.start();
  try {
    await add(0);
    await waitFor(() => seen.length === 1);
    await waitFor(() => readersOf('XREAD').length === 1);
    readersOf('XREAD')[0]!.blackhole();
    const t0 = Date.now();
    await add(1);
    await add(2);
    await waitFor(() => seen.length === 3, { timeoutMs: 25_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(9_500);
    expect(seen).toEqual([0, 1, 2]);
    expect(timeouts(errors)).toBe(1);
    const readers = readersOf('XREAD');
    expect(readers).toHaveLength(2);
    expect(readers[0]!.closed).toBe(true);
  } finally {
    await reader.stop();
  }
}, 40_000);
