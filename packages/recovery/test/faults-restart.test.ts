// Reconnect after broker restarts: the persistent (AOF, appendfsync always) Redis is killed with
// kill -9 and restarted twice while a producer process publishes 3,000 messages and two worker
// processes with recovery consume them. Nobody is told about the restarts: the producer retries
// the publishes that failed (same app ID), the workers reconnect by themselves. Every published
// message must be processed.
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, toCommander } from '@tributary/core';
import { ensureGroup } from '@tributary/consumer-group';
import { type ChildScript, startRedis, uniqueName, waitFor } from '@tributary/test-utils';
import { expectedMessages, FAULT_GROUP, faultTopic } from './fixtures/fault-topic.js';
import { checkRun, groupSettled } from './helpers/chaos-checker.js';
import { countLines, fatalLines, printedProcessed, spawnFaultProducer, spawnFaultWorker, stopChild } from './helpers/chaos-processes.js';

const MESSAGES = 3000;
const NO_BAD_MESSAGES = { poisonEvery: 0, invalidEvery: 0, undecodableEvery: 0 };

test('kill -9 + restart of the AOF Redis twice during 3,000 publishes: producer retries, workers reconnect, nothing lost', async () => {
  const server = await startRedis({ persistent: true });
  const children: ChildScript[] = [];
  let client: Awaited<ReturnType<typeof connectRedis>> | undefined;
  try {
    client = await connectRedis({ url: server.url, maxReconnectDelayMs: 500 });
    const commander = toCommander(client);
    const topic = faultTopic(uniqueName('restart'));
    const prefix = uniqueName('m');
    await ensureGroup(commander, topic, FAULT_GROUP, '0');

    const workers = ['a', 'b'].map((name) =>
      spawnFaultWorker({
        url: server.url,
        topic: topic.name,
        consumer: `restart-${name}`,
        concurrency: 20,
        holdMs: 2,
        recovery: { maxDeliveries: 5, backoff: [100], claimIdleMs: 2000, reclaimIntervalMs: 500 },
      }),
    );
    children.push(...workers);
    await Promise.all(workers.map((w) => w.waitForOutput(/^ready /, 60_000)));

    const producer = spawnFaultProducer({
      url: server.url,
      topic: topic.name,
      prefix,
      count: MESSAGES,
      ratePerSec: 400, // ~7.5 s of publishing, so both restarts land in the middle of it
      window: 100,
      mix: NO_BAD_MESSAGES,
    });
    children.push(producer);

    const atKill: number[] = [];
    for (const threshold of [1000, 2000]) {
      await waitFor(() => countLines(producer, 'published') >= threshold, { timeoutMs: 30_000, message: `${threshold} published` });
      atKill.push(countLines(producer, 'published'));
      await server.kill('SIGKILL');
      await sleep(700);
      await server.restart();
    }
    // Both kills really happened while publishing was under way.
    expect(Math.max(...atKill)).toBeLessThan(MESSAGES);

    const producerExit = await producer.exited;
    expect(producerExit).toEqual({ code: 0, signal: null });
    await waitFor(() => groupSettled(commander, topic, FAULT_GROUP), { timeoutMs: 60_000, intervalMs: 250, message: 'group drained' });

    const check = await checkRun(commander, topic, FAULT_GROUP, expectedMessages(prefix, MESSAGES, NO_BAD_MESSAGES), printedProcessed(workers));
    const retries = countLines(producer, 'retry');
    const readErrors = workers.map((w) => countLines(w, 'worker-error'));
    console.log(
      `faults-restart: published=${MESSAGES} stream-entries=${check.streamEntries} processed=${check.processed} lost=${check.lost} ` +
        `unexpected=${check.unexpected} duplicates=${check.duplicates} publish-duplicates=${check.publishDuplicates} ` +
        `producer-retries=${retries} worker-errors=${readErrors.join('/')} kills-at=${atKill.join('/')}`,
    );
    expect(check.samples.lost).toEqual([]);
    expect(check.samples.unexpected).toEqual([]);
    expect(check.lost).toBe(0);
    expect(check.processed).toBe(MESSAGES);
    expect(check.pending).toBe(0);
    // The workers saw the outages (and got over them on their own, without crashing).
    expect(readErrors.every((n) => n > 0)).toBe(true);
    expect(fatalLines(children)).toEqual([]);
    for (const worker of workers) {
      await expect(Promise.race([worker.exited.then(() => 'exited'), sleep(10).then(() => 'running')])).resolves.toBe('running');
    }
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    client?.destroy();
    await server.stop();
  }
}, 150_000);
