/**
 * A server that stops answering without closing the connection (SIGSTOP): reads sent without
 * BLOCK carry no per-command timer, so the worker's read watchdog must fail them after 10 s,
 * report it, and pick the work up again once the server answers; and stop() must still return.
 * Own file: it freezes the file's shared redis-server.
 */
import { ErrorCode, isTributaryError } from '@tributary/core';
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
