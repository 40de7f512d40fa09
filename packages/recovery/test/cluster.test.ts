// Redis Cluster: every multi-key script stays inside one topic's slot ({t}, {t}:dlq,
// {t}:failures:<group>), so dead-lettering, redrive and reclaim work unchanged.
import { createCluster } from 'redis';
import { type Commander, toCommander } from '@tributary/core';
import { createWorker, type Worker } from '@tributary/consumer-group';
import { type RedisCluster, startRedisCluster, waitFor } from '@tributary/test-utils';
import {
  checkTrim,
  cleanupConsumers,
  createRecovery,
  listDeadLetters,
  pendingSummary,
  redrive,
  safeTrim,
} from '@tributary/recovery';
import { jobTopic, publish, readAsConsumer } from './recovery-helpers.js';

let cluster: RedisCluster;
let client: ReturnType<typeof createCluster>;
let commander: Commander;
const workers: Worker[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = createCluster({ rootNodes: [...cluster.rootNodes] });
  client.on('error', () => undefined);
  await client.connect();
  commander = toCommander(client);
}, 60_000);

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 2000 })));
});

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

test('poison messages are dead-lettered, redriven and processed on a cluster; crashed consumers are reclaimed', async () => {
  // Several topics, so their slots land on different nodes.
  for (let t = 0; t < 3; t++) {
    const topic = jobTopic('cl');
    await commander.send(topic.keys.stream, ['XGROUP', 'CREATE', topic.keys.stream, 'g', '0', 'MKSTREAM']);
    // A crashed consumer holds two messages.
    await publish(commander, topic, { type: 'job', data: { n: 100 } });
    await publish(commander, topic, { type: 'job', data: { n: 101 } });
    expect(await readAsConsumer(commander, topic, 'g', 'crashed', 10)).toHaveLength(2);
    let healthy = false;
    const done = new Set<number>();
    const recovery = createRecovery(client, { maxDeliveries: 2, backoff: [20], claimIdleMs: 400, reclaimIntervalMs: 50 });
    const worker = createWorker(client, {
      topic, group: 'g', consumer: 'live', blockMs: 200, failureHandler: recovery,
      handlers: { job: async (m) => { if (m.data.n < 100 && !healthy) throw new Error('poison'); done.add(m.data.n); } },
    });
    workers.push(worker as unknown as Worker);
    await worker.start();
    for (let i = 0; i < 3; i++) await publish(commander, topic, { type: 'job', data: { n: i } });
    await waitFor(async () => (await listDeadLetters(client, { topic })).length === 3, { timeoutMs: 10_000 });
    await waitFor(() => done.has(100) && done.has(101), { timeoutMs: 10_000 });
    const letters = await listDeadLetters(client, { topic });
    expect(letters.every((l) => l.reason === 'max-deliveries' && l.deliveries === 2)).toBe(true);
    healthy = true;
    expect((await redrive(client, { topic })).moved).toBe(3);
    await waitFor(() => done.size === 5, { timeoutMs: 10_000 });
    await waitFor(async () => (await pendingSummary(client, { topic, group: 'g' })).count === 0);
    expect(await listDeadLetters(client, { topic })).toEqual([]);
    const cleaned = await cleanupConsumers(client, { topic, group: 'g', idleMs: 0 });
    expect(cleaned.deleted).toContain('crashed');
    expect((await safeTrim(client, { topic, maxLen: 1 })).trimmed).toBeGreaterThan(0);
    expect((await checkTrim(client, { topic })).unsafe).toBe(false);
  }
});
