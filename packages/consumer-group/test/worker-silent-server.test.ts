/**
 * A server that stops answering without closing the connection (SIGSTOP, or CLIENT PAUSE):
 * reads carry no per-command timer (node-redis 6 drops its own once a command is written), so
 * the worker's read watchdog must fail them (10 s; a BLOCK read blockMs + 10 s), report it,
 * and pick the work up again once the server answers, including entries that a read given up
 * on took; and stop() must still return. Own file: it freezes the file's shared redis-server.
 */
import { createClient } from 'redis';
import { encodeMessage, ErrorCode, isTributaryError } from '@tributary/core';
import { waitFor } from '@tributary/test-utils';
import { pendingCount, pingTopic, pings, publish, range, sleep, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

test('a read without reply for 10 s is failed by the watchdog (worker-error, Timeout); after SIGCONT every message is handled', async () => {
  const topic = pingTopic('silent');
  const total = 20_000;
  await publish(redis.client, topic, pings(total));
  const done = new Tally();
  const errors: unknown[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', concurrency: 50, startId: '0', handlers: { ping: (m) => { done.add(m.data.n); } } });
  worker.on('worker-error', (e) => errors.push(e));
  await worker.start();
  await waitFor(() => done.distinct >= 2000, { intervalMs: 1 });
  expect(done.distinct).toBeLessThan(total); // frozen mid-backlog: reads ahead are on their way
  redis.server.signal('SIGSTOP');
  try {
    await waitFor(() => errors.length > 0, { timeoutMs: 15_000, intervalMs: 50 });
  } finally {
    redis.server.signal('SIGCONT');
  }
  const first = errors[0] as { stage: string; error: unknown };
  expect(first.stage).toBe('read');
  expect(isTributaryError(first.error) && first.error.code).toBe(ErrorCode.Timeout);
  await waitFor(() => done.distinct === total, { timeoutMs: 20_000 });
  expect([...done.counts.keys()].sort((a, b) => a - b)).toEqual(range(total));
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0, { timeoutMs: 5000 });
  await sleep(50);
  expect(worker.running).toBe(true);
}, 60_000);

test('stop() returns within a few seconds while the server does not answer (SIGSTOP)', async () => {
  const topic = pingTopic('silent-stop');
  await publish(redis.client, topic, pings(5000));
  const done = new Tally();
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', concurrency: 50, startId: '0', handlers: { ping: (m) => { done.add(m.data.n); } } });
  await worker.start();
  await waitFor(() => done.distinct >= 500, { intervalMs: 1 });
  redis.server.signal('SIGSTOP');
  // Resumed whatever happens, so a stop() that hangs fails this test instead of the whole file.
  const resume = setTimeout(() => redis.server.signal('SIGCONT'), 20_000);
  const t0 = Date.now();
  try {
    await worker.stop({ timeoutMs: 1000 });
  } finally {
    clearTimeout(resume);
    redis.server.signal('SIGCONT');
  }
  // Bounded by its graces: unanswered reads 0.5 s, the UNBLOCK 0.5 s, the ack flush at least
  // 5 s (finished handlers' acks get that long to land), closing the reader 0.5 s.
  expect(Date.now() - t0).toBeLessThan(8000);
  expect(worker.running).toBe(false);
  // Nothing is lost: what was fetched but not acked is still pending for c1, and a restart
  // under the same name drains it before reading on.
  const again = redis.worker({ topic, group: 'g', consumer: 'c1', concurrency: 50, handlers: { ping: (m) => { done.add(m.data.n); } } });
  await again.start();
  await waitFor(() => done.distinct === 5000, { timeoutMs: 20_000 });
  expect([...done.counts.keys()].sort((a, b) => a - b)).toEqual(range(5000));
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0, { timeoutMs: 5000 });
}, 60_000);

test('a BLOCK read without reply past blockMs + 10 s is failed too (node-redis drops its own timer once a command is written); entries its late reply took are still handled', async () => {
  const topic = pingTopic('silent-block');
  const done = new Tally();
  const errors: { stage: string; error: unknown }[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 500, handlers: { ping: (m) => { done.add(m.data.n); } } });
  worker.on('worker-error', (e) => errors.push(e));
  await worker.start();
  // Idle: the reader sits in its BLOCK read when the server freezes.
  await waitFor(async () => /\bcmd=xreadgroup\b/.test(String(await redis.commander.send(undefined, ['CLIENT', 'LIST']))), { intervalMs: 20 });
  redis.server.signal('SIGSTOP');
  const t0 = Date.now();
  let published: Promise<unknown> | undefined;
  try {
    await waitFor(() => errors.length > 0, { timeoutMs: 15_000, intervalMs: 50 });
    // blockMs + the 10 s margin, found by the once-a-second watchdog.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(10_000);
    // Sent while the server is frozen: on resume it runs the XADDs before it times out the BLOCK
    // the worker gave up on, so that read takes the new entries, and its late reply is ignored.
    // The worker must still find them (pending for it) and handle them.
    published = publish(redis.client, topic, pings(100));
    await sleep(200);
  } finally {
    redis.server.signal('SIGCONT');
  }
  await published;
  expect(errors[0]!.stage).toBe('read');
  expect(isTributaryError(errors[0]!.error) && errors[0]!.error.code).toBe(ErrorCode.Timeout);
  await waitFor(() => done.distinct === 100, { timeoutMs: 20_000 });
  expect([...done.counts.keys()].sort((a, b) => a - b)).toEqual(range(100));
  expect(worker.running).toBe(true);
}, 60_000);

test('entries that a read given up on takes when it is answered late are found and handled (CLIENT PAUSE WRITE holds the reads past the watchdog)', async () => {
  const topic = pingTopic('late-reply');
  const done = new Tally();
  const errors: { stage: string; error: unknown }[] = [];
  // Few slots and slow handlers: the late read takes a whole batch (4) while the next read's
  // batch still holds every slot, so finding them takes more than one pass over the list.
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500, concurrency: 4,
    handlers: { ping: async (m) => { await sleep(20); done.add(m.data.n); } },
  });
  worker.on('worker-error', (e) => errors.push(e));
  await worker.start();
  // Own connections: one held by the pause could not send the UNPAUSE.
  const admin = createClient({ url: redis.server.url });
  admin.on('error', () => undefined);
  await admin.connect();
  const writer = admin.duplicate();
  writer.on('error', () => undefined);
  await writer.connect();
  let published: Promise<unknown> | undefined;
  try {
    // XREADGROUP writes (the pending list), so the pause holds the worker's next read unanswered;
    // XPENDING reads, so the worker's resync after the watchdog's timeout sees an empty list.
    await admin.sendCommand(['CLIENT', 'PAUSE', '20000', 'WRITE']);
    try {
      await waitFor(() => errors.length > 0, { timeoutMs: 15_000, intervalMs: 50 });
      expect(errors[0]!.stage).toBe('read');
      expect(isTributaryError(errors[0]!.error) && errors[0]!.error.code).toBe(ErrorCode.Timeout);
      // Held too, behind the read given up on: when the pause ends, that read runs first and,
      // served after the transaction, takes the first 4 entries; its reply reaches a worker
      // that no longer waits for it.
      const transaction = writer.multi();
      for (const m of pings(100)) transaction.addCommand(['XADD', topic.keys.stream, '*', ...encodeMessage(topic, m)]);
      published = transaction.exec();
      await sleep(200);
    } finally {
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    }
    await published;
    await waitFor(() => done.distinct === 100, { timeoutMs: 20_000 });
    expect([...done.counts.keys()].sort((a, b) => a - b)).toEqual(range(100));
    await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0, { timeoutMs: 5000 });
    expect(worker.running).toBe(true);
  } finally {
    await Promise.all([admin.close(), writer.close()]);
  }
}, 60_000);
