// Found by the chaos run: good messages dead-lettered as `max-deliveries` (error
// MaxDeliveriesExceeded, "its consumers crashed or stalled") although no handler ever failed
// them and at most one consumer had died holding them.
//
// Cause (recovery at commit 6c12c04): the reclaim loop claimed up to `freeSlots()` entries
// (XAUTOCLAIM + an XCLAIM that bumps the delivery counter), then called `worker.dispatch()`.
// Between the two round trips the worker's read loop could fill those slots with new messages;
// `dispatch` then started nothing and left the claimed entries pending and owned, not renewed,
// so after claimIdleMs they were claimed again — another delivery counted for a run that never
// happened — until the counter passed maxDeliveries and the loop dead-lettered them unrun.
// Fixed since: the loop dispatches only what fits at that moment and gives the rest back with
// their counters restored (XCLAIM … RETRYCOUNT) and due again at once.
//
// This regression test makes the race deterministic: the recovery's connection holds back the
// reply of the counting claim until new messages have filled the worker's slots.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Commander, connectRedis, parseEntries, toCommander } from '@tributary/core';
import { createWorker, ensureGroup } from '@tributary/consumer-group';
import { createRecovery } from '@tributary/recovery';
import { startRedis, uniqueName, waitFor } from '@tributary/test-utils';
import { appIdOf, FAULT_GROUP, faultTopic, MessageKind, messageFields, processedKey } from './fixtures/fault-topic.js';
import { groupSettled } from './helpers/chaos-checker.js';

const CLAIM_IDLE_MS = 300;
const CONCURRENCY = 2;

test('a reclaimed message whose dispatch found no free slot is run later, not dead-lettered for deliveries that never ran', async () => {
  const server = await startRedis();
  const client = await connectRedis({ url: server.url });
  const commander = toCommander(client);
  const topic = faultTopic(uniqueName('slots'));
  const prefix = uniqueName('m');
  const key = topic.keys.stream;
  const processed = processedKey(topic);
  const worker = { current: undefined as ReturnType<typeof createWorker<typeof topic.types>> | undefined };
  try {
    await ensureGroup(commander, topic, FAULT_GROUP, '0');
    // Two messages taken by a consumer that then disappears (delivery 1, never acked).
    for (let n = 0; n < 2; n++) await commander.send(key, ['XADD', key, '*', ...messageFields(topic, prefix, n, MessageKind.Good)]);
    await commander.send(key, ['XREADGROUP', 'GROUP', FAULT_GROUP, 'ghost', 'COUNT', '2', 'STREAMS', key, '>']);
    await sleep(CLAIM_IDLE_MS + 50);

    // Recovery's connection: after the first counting claim (an XCLAIM without JUSTID in a
    // script) returns, new messages arrive and fill the worker's slots before dispatch runs.
    let raced = false;
    const deliveries = new Map<string, number>();
    const base = toCommander(client);
    const racing: Commander = {
      ...base,
      async evalScript<T>(...args: Parameters<Commander['evalScript']>): Promise<T> {
        const reply = await base.evalScript<T>(...args);
        const source = args[0].source;
        if (!raced && /XCLAIM/.test(source) && !/JUSTID/.test(source)) {
          raced = true;
          for (let n = 2; n < 2 + CONCURRENCY; n++) {
            await base.send(key, ['XADD', key, '*', ...messageFields(topic, prefix, n, MessageKind.Good, 1000)]);
          }
          await waitFor(() => worker.current?.stats().inFlight === CONCURRENCY, { timeoutMs: 5000, message: 'slots filled by new messages' });
        }
        return reply;
      },
    };
    worker.current = createWorker(client, {
      topic,
      group: FAULT_GROUP,
      consumer: 'w',
      concurrency: CONCURRENCY,
      blockMs: 200,
      failureHandler: createRecovery(racing, { maxDeliveries: 2, backoff: [10], claimIdleMs: CLAIM_IDLE_MS, reclaimIntervalMs: 50 }),
      handlers: {
        job: async (message, context) => {
          deliveries.set(message.id, context.deliveries);
          if (message.data.holdMs) await sleep(message.data.holdMs);
          await commander.send(processed, ['HINCRBY', processed, message.id, '1']);
        },
      },
    });
    await worker.current.start();
    await waitFor(() => raced, { timeoutMs: 5000, message: 'the reclaim loop claimed the ghost messages' });
    await waitFor(() => groupSettled(commander, topic, FAULT_GROUP), { timeoutMs: 15_000, message: 'group drained' });

    const letters = parseEntries(await commander.send(topic.keys.deadLetter, ['XRANGE', topic.keys.deadLetter, '-', '+']));
    const done = await commander.send<string[]>(processed, ['HGETALL', processed]);
    // Every message is good and no handler ever failed: all four processed, none dead-lettered,
    // and the ghost messages ran with counters of real deliveries only (the ghost's, then this run).
    expect(letters.map((l) => l.fields?.join(' '))).toEqual([]);
    expect(done.filter((_, i) => i % 2 === 0).sort()).toEqual([0, 1, 2, 3].map((n) => appIdOf(prefix, n)).sort());
    expect([0, 1].map((n) => deliveries.get(appIdOf(prefix, n)))).toEqual([2, 2]);
  } finally {
    await worker.current?.stop();
    client.destroy();
    await server.stop();
  }
}, 60_000);
