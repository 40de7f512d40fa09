// Slow handlers: every handler runs 4× longer than claimIdleMs while a peer worker with recovery
// tries to reclaim idle messages.
// - With leaseRenewMs (< claimIdleMs / 2) the owner keeps renewing its leases: the peer never
//   takes them, each message is processed exactly once.
// - Without it the peer reclaims messages that are still being handled: the duplicate happens,
//   and it is detected (double processing counted from the durable record, and the peer's
//   `start` of a message the owner was still running).
// The owner runs without a failure handler, so the peer's reclaim loop is the only one: a
// recovery loop in the owner would XAUTOCLAIM its own in-flight entries once idle and so reset
// their idle time too, which makes the no-renewal duplicate a race instead of a certainty.
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, toCommander } from '@tributary/core';
import { ensureGroup } from '@tributary/consumer-group';
import { type ChildScript, type RedisServer, startRedis, uniqueName, waitFor } from '@tributary/test-utils';
import { appIdOf, FAULT_GROUP, faultTopic, type FaultWorkerConfig, MessageKind, messageFields } from './fixtures/fault-topic.js';
import { type ChaosCheck, checkRun, groupSettled } from './helpers/chaos-checker.js';
import { fatalLines, linesOf, spawnFaultWorker, stopChild } from './helpers/chaos-processes.js';

const MESSAGES = 6;
const CLAIM_IDLE_MS = 1000;
const HANDLER_MS = 6000;

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectRedis>>;
beforeAll(async () => {
  server = await startRedis();
  client = await connectRedis({ url: server.url });
});
afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

interface SlowRun {
  check: ChaosCheck;
  owner: ChildScript;
  peer: ChildScript;
  /** How long the peer's reclaim loop ran while the owner's handlers were still running. */
  overlapMs: number;
}

/** The owner takes every message; once all its handlers run, the peer starts and tries to reclaim. */
async function runSlow(leaseRenewMs: number | undefined): Promise<SlowRun> {
  const commander = toCommander(client);
  const topic = faultTopic(uniqueName('slow'));
  const prefix = uniqueName('m');
  const key = topic.keys.stream;
  await ensureGroup(commander, topic, FAULT_GROUP, '0');
  const config = (consumer: string, withRecovery: boolean): FaultWorkerConfig => ({
    url: server.url,
    topic: topic.name,
    consumer,
    concurrency: 2 * MESSAGES, // room to spare: a worker reads only when a quarter of its slots are free
    holdMs: HANDLER_MS,
    traceStarts: true,
    ...(leaseRenewMs ? { leaseRenewMs } : {}),
    recovery: withRecovery ? { maxDeliveries: 10, backoff: [100], claimIdleMs: CLAIM_IDLE_MS, reclaimIntervalMs: 100 } : false,
  });
  const children: ChildScript[] = [];
  try {
    const owner = spawnFaultWorker(config('owner', false));
    // The peer boots meanwhile, and starts consuming only when told.
    const peer = spawnFaultWorker({ ...config('peer', true), startOnSignal: true });
    children.push(owner, peer);
    await owner.waitForOutput(/^ready /, 60_000);
    await peer.waitForOutput(/^armed /, 60_000);
    const expected = new Map<string, typeof MessageKind.Good>();
    for (let n = 0; n < MESSAGES; n++) {
      expected.set(appIdOf(prefix, n), MessageKind.Good);
      await commander.send(key, ['XADD', key, '*', ...messageFields(topic, prefix, n, MessageKind.Good)]);
    }
    await waitFor(() => linesOf(owner, 'start').length === MESSAGES, { message: 'owner runs every handler' });
    peer.signal('SIGUSR2');
    await peer.waitForOutput(/^ready /);
    const peerReadyAt = Date.now();
    await waitFor(() => linesOf(owner, 'processed').length === MESSAGES, { timeoutMs: 20_000, message: 'owner finished', intervalMs: 10 });
    const overlapMs = Date.now() - peerReadyAt;
    // Whatever the peer took is running too: let it finish, then everything must be acked.
    await waitFor(() => linesOf(peer, 'processed').length >= linesOf(peer, 'start').length, { timeoutMs: 30_000, message: 'peer finished' });
    await waitFor(() => groupSettled(commander, topic, FAULT_GROUP), { timeoutMs: 30_000, message: 'group drained' });
    await sleep(500);
    const check = await checkRun(commander, topic, FAULT_GROUP, expected);
    expect(fatalLines(children)).toEqual([]);
    return { check, owner, peer, overlapMs };
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
  }
}

test(`handlers ${HANDLER_MS} ms > claimIdleMs ${CLAIM_IDLE_MS} ms with leaseRenewMs 300: the peer never reclaims, no duplicate`, async () => {
  const { check, owner, peer, overlapMs } = await runSlow(300);
  console.log(
    `faults-slow-handler (leaseRenewMs 300): processed=${check.processed} duplicates=${check.duplicates} ` +
      `peer-starts=${linesOf(peer, 'start').length} owner-lease-lost=${linesOf(owner, 'lease-lost').length} peer-reclaiming-for=${overlapMs}ms`,
  );
  // The peer had several claimIdleMs periods to reclaim while the handlers ran.
  expect(overlapMs).toBeGreaterThanOrEqual(2 * CLAIM_IDLE_MS);
  expect(check.lost).toBe(0);
  expect(check.unexpected).toBe(0);
  expect(check.processed).toBe(MESSAGES);
  expect(check.duplicates).toBe(0);
  expect(linesOf(peer, 'start')).toEqual([]);
  expect(linesOf(owner, 'lease-lost')).toEqual([]);
  expect(check.pending).toBe(0);
}, 90_000);

test(`handlers ${HANDLER_MS} ms > claimIdleMs ${CLAIM_IDLE_MS} ms without lease renewal: the peer reclaims running work, the duplicate is detected`, async () => {
  const { check, owner, peer } = await runSlow(undefined);
  const peerStarts = linesOf(peer, 'start').length;
  console.log(
    `faults-slow-handler (no lease renewal): processed=${check.processed} duplicates=${check.duplicates} ` +
      `peer-starts=${peerStarts} owner-lease-lost=${linesOf(owner, 'lease-lost').length} samples=${check.samples.duplicates.join(',')}`,
  );
  expect(check.lost).toBe(0);
  expect(check.unexpected).toBe(0);
  expect(check.processed).toBe(MESSAGES);
  // Every message was run by the owner and again by the peer while the owner still ran it:
  // each is processed exactly twice.
  expect(peerStarts).toBe(MESSAGES);
  expect(check.duplicates).toBe(MESSAGES);
  expect(check.pending).toBe(0);
}, 90_000);
