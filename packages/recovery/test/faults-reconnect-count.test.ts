// Found by the 50,000-message chaos runs: after each Redis restart, good messages were
// dead-lettered as `max-deliveries` (MaxDeliveriesExceeded) with fewer real attempts than
// maxDeliveries.
//
// Cause (consumer-group worker.ts, readLoop): after a read error the worker reads its own pending
// list again from ID 0 ("replies lost with a dropped connection leave entries delivered to us but
// unseen"). An XREADGROUP of the pending list with an explicit ID increments the delivery counter
// of every entry it returns (and resets its idle time) — including the entries the worker is
// still handling, which startEntry() then skips because they are in flight. So every dropped
// reader connection (Redis restart, failover, network blip) counts one extra delivery for each
// message in flight: a handler that fails once on its first attempt gets no second attempt when
// maxDeliveries is 2, it is dead-lettered as soon as it is reclaimed.
//
// This test drops the worker's reader connection (CLIENT KILL) while a handler runs its first
// attempt, which then fails; with maxDeliveries 2 the message must get its second attempt.
// Fixed: the worker now re-checks its pending list with XPENDING (which counts nothing) and
// XCLAIMs only the IDs not in flight (worker.ts, resyncOwnPending).
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, parseEntries, toCommander } from '@tributary/core';
import { createWorker, ensureGroup } from '@tributary/consumer-group';
import { createRecovery } from '@tributary/recovery';
import { startRedis, uniqueName, waitFor } from '@tributary/test-utils';
import { FAULT_GROUP, faultTopic, MessageKind, messageFields } from './fixtures/fault-topic.js';
import { groupSettled } from './helpers/chaos-checker.js';

test('a dropped reader connection does not count as a delivery of the messages in flight', async () => {
  const server = await startRedis();
  const client = await connectRedis({ url: server.url });
  const commander = toCommander(client);
  const topic = faultTopic(uniqueName('recount'));
  const key = topic.keys.stream;
  const attempts: number[] = [];
  let readerKilled = false;
  const worker = createWorker(client, {
    topic,
    group: FAULT_GROUP,
    consumer: 'w',
    blockMs: 5000,
    failureHandler: createRecovery(client, { maxDeliveries: 2, backoff: [50], claimIdleMs: 500, reclaimIntervalMs: 50 }),
    handlers: {
      job: async (_message, context) => {
        attempts.push(context.deliveries);
        if (attempts.length > 1) return; // the second attempt succeeds
        // First attempt: the reader's connection drops meanwhile, then this attempt fails.
        await waitFor(() => readerKilled, { timeoutMs: 10_000 });
        await sleep(500); // the worker reconnects and re-reads its pending list
        throw new Error('transient failure on the first attempt');
      },
    },
  });
  try {
    await ensureGroup(commander, topic, FAULT_GROUP, '0');
    await worker.start();
    await commander.send(key, ['XADD', key, '*', ...messageFields(topic, 'm', 0, MessageKind.Good)]);
    await waitFor(() => attempts.length === 1, { message: 'first attempt running' });
    // The worker's blocked reader is the client running XREADGROUP … BLOCK.
    const clients = String(await commander.send(undefined, ['CLIENT', 'LIST']));
    const reader = clients.split('\n').find((line) => /cmd=xreadgroup/.test(line));
    const readerId = /\bid=(\d+)/.exec(reader ?? '')?.[1];
    if (!readerId) throw new Error(`no blocked XREADGROUP client found:\n${clients}`);
    await commander.send(undefined, ['CLIENT', 'KILL', 'ID', readerId]);
    readerKilled = true;
    const settled = await waitFor(() => groupSettled(commander, topic, FAULT_GROUP), { timeoutMs: 15_000 }).then(
      () => true,
      () => false,
    );
    if (!settled) {
      console.error('the group did not drain');
      return;
    }

    const letters = parseEntries(await commander.send(topic.keys.deadLetter, ['XRANGE', topic.keys.deadLetter, '-', '+']));
    // Two real attempts (counters 1 and 2), the second succeeded; nothing dead-lettered.
    expect({ attempts, deadLettered: letters.map((l) => l.fields?.join(' ')) }).toEqual({ attempts: [1, 2], deadLettered: [] });
  } finally {
    await worker.stop();
    client.destroy();
    await server.stop();
  }
}, 60_000);
