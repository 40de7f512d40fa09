// Zombie consumer: a worker process holding messages in its handlers is frozen with SIGSTOP past
// claimIdleMs; a peer worker with recovery reclaims and processes them; then the zombie is
// resumed with SIGCONT.
//
// The defined outcome (at-least-once):
// - nothing is lost: every message is processed and acked, nothing stays pending;
// - the zombie's lease renewal runs first when it wakes, finds the messages owned by the peer
//   and does NOT steal them back (lease.ts checks ownership in the same script): it emits
//   `lease-lost` for each, and the peer keeps them (its own renewals keep working);
// - the zombie's handlers are not cancelled: they finish later, so each held message is
//   processed twice — duplicates = messages the zombie held, counted and printed;
// - the zombie's late XACK is harmless: the entries are already acked, no error, nothing pending.
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, toCommander } from '@tributary/core';
import { ensureGroup } from '@tributary/consumer-group';
import { type ChildScript, startRedis, uniqueName, waitFor } from '@tributary/test-utils';
import { appIdOf, FAULT_GROUP, faultTopic, type FaultWorkerConfig, MessageKind, messageFields, processedKey } from './fixtures/fault-topic.js';
import { checkRun, groupSettled } from './helpers/chaos-checker.js';
import { fatalLines, linesOf, spawnFaultWorker, stopChild } from './helpers/chaos-processes.js';

const HELD = 5;
const CLAIM_IDLE_MS = 1000;

test('SIGSTOP past claimIdleMs: the peer reclaims and processes, the resumed zombie loses its leases without stealing back; no loss, duplicates counted', async () => {
  const server = await startRedis();
  const children: ChildScript[] = [];
  let client: Awaited<ReturnType<typeof connectRedis>> | undefined;
  try {
    client = await connectRedis({ url: server.url });
    const commander = toCommander(client);
    const topic = faultTopic(uniqueName('zombie'));
    const prefix = uniqueName('m');
    const key = topic.keys.stream;
    await ensureGroup(commander, topic, FAULT_GROUP, '0');
    const common = (consumer: string, holdMs: number): FaultWorkerConfig => ({
      url: server.url,
      topic: topic.name,
      consumer,
      concurrency: 2 * HELD, // room to spare: a worker reads only when a quarter of its slots are free
      holdMs,
      leaseRenewMs: 300,
      traceStarts: true,
      recovery: { maxDeliveries: 5, backoff: [100], claimIdleMs: CLAIM_IDLE_MS, reclaimIntervalMs: 200 },
    });

    // The zombie takes every message and sits in its handlers (8 s each). The peer (handlers
    // of 3 s, so it still holds the messages when the zombie wakes) boots meanwhile and starts
    // consuming only when told.
    const zombie = spawnFaultWorker(common('zombie', 8000));
    const peer = spawnFaultWorker({ ...common('peer', 3000), startOnSignal: true });
    children.push(zombie, peer);
    await zombie.waitForOutput(/^ready /, 60_000);
    await peer.waitForOutput(/^armed /, 60_000);
    const expected = new Map<string, typeof MessageKind.Good>();
    for (let n = 0; n < HELD; n++) {
      expected.set(appIdOf(prefix, n), MessageKind.Good);
      await commander.send(key, ['XADD', key, '*', ...messageFields(topic, prefix, n, MessageKind.Good)]);
    }
    await waitFor(() => linesOf(zombie, 'start').length === HELD, { message: 'zombie holds every message' });
    zombie.signal('SIGSTOP');
    const frozenAt = Date.now();

    peer.signal('SIGUSR2');
    await waitFor(() => linesOf(peer, 'start').length === HELD, { timeoutMs: 20_000, message: 'peer reclaimed every message' }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- peer ---\n${peer.output().slice(-2000)}\n--- zombie ---\n${zombie.output().slice(-2000)}`);
    });
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(CLAIM_IDLE_MS);
    const ownersBefore = await commander.send<unknown[][]>(key, ['XPENDING', key, FAULT_GROUP, '-', '+', '100']);
    expect(ownersBefore.map((item) => String(item[1]))).toEqual(Array(HELD).fill('peer'));

    zombie.signal('SIGCONT');
    const frozenForMs = Date.now() - frozenAt;
    // Its renewal timer is long overdue and fires at once: every lease is gone.
    await waitFor(() => linesOf(zombie, 'lease-lost').length === HELD, { timeoutMs: 10_000, message: 'zombie reports lease-lost' });
    // …and nothing was stolen back: the peer still owns all of them.
    const ownersAfter = await commander.send<unknown[][]>(key, ['XPENDING', key, FAULT_GROUP, '-', '+', '100']);
    expect(ownersAfter.map((item) => String(item[1])).filter((owner) => owner !== 'peer')).toEqual([]);

    // Both finish: the peer first, the zombie's handlers later (8 s after they started).
    await waitFor(() => linesOf(peer, 'processed').length === HELD, { timeoutMs: 20_000, message: 'peer processed' });
    await waitFor(() => linesOf(zombie, 'processed').length === HELD, { timeoutMs: 20_000, message: 'zombie finished its handlers' });
    await waitFor(() => groupSettled(commander, topic, FAULT_GROUP), { timeoutMs: 10_000, message: 'group drained' });
    await sleep(300); // let any late ack (or ack error) of the zombie surface

    const check = await checkRun(commander, topic, FAULT_GROUP, expected);
    const counts = await commander.send<string[]>(processedKey(topic), ['HVALS', processedKey(topic)]);
    console.log(
      `faults-zombie: held=${HELD} processed=${check.processed} lost=${check.lost} duplicates=${check.duplicates} ` +
        `zombie-lease-lost=${linesOf(zombie, 'lease-lost').length} peer-lease-lost=${linesOf(peer, 'lease-lost').length} ` +
        `frozen-for=${frozenForMs}ms pending=${check.pending}`,
    );
    expect(check.lost).toBe(0);
    expect(check.unexpected).toBe(0);
    expect(check.processed).toBe(HELD);
    expect(check.pending).toBe(0);
    // Defined outcome: each message the zombie held is processed exactly twice.
    expect(check.duplicates).toBe(HELD);
    expect(counts.map(Number)).toEqual(Array(HELD).fill(2));
    // The peer never lost a lease (nobody stole from it); the zombie's late acks raised nothing.
    expect(linesOf(peer, 'lease-lost')).toEqual([]);
    expect(linesOf(zombie, 'worker-error')).toEqual([]);
    expect(fatalLines(children)).toEqual([]);
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    client?.destroy();
    await server.stop();
  }
}, 90_000);
