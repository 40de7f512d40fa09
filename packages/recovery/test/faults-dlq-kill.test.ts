// kill -9 of a worker process between the dead-letter write and the ack. The move is one Lua
// script (XADD to {t}:dlq + XACK of {t}), so it cannot be split; this proves it from outside:
// 1. a worker dead-lettering hundreds of poison messages is killed with kill -9 at random
//    moments and restarted, and after every kill no dead-lettered entry is still pending;
// 2. a proxy between the worker and Redis freezes the wire right after the worker sent the
//    dead-letter write (the first command naming {t}:dlq), the worker is killed there — the
//    exact point between "DLQ write sent" and whatever it would send next — and the message
//    must be either in the DLQ and acked, or in neither;
// 3. a last worker finishes the job: every poison message is in the DLQ exactly once, nothing
//    is pending, the good messages were processed.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Commander, connectRedis, pairsToObject, parseEntries, toCommander, type Topic } from '@tributary/core';
import { ensureGroup } from '@tributary/consumer-group';
import { type ChildScript, startRedis, uniqueName, waitFor } from '@tributary/test-utils';
import { appIdOf, FAULT_GROUP, faultTopic, type FaultWorkerConfig, MessageKind, type MessageKindValue, messageFields } from './fixtures/fault-topic.js';
import { checkRun, groupSettled } from './helpers/chaos-checker.js';
import { startChaosProxy } from './helpers/chaos-proxy.js';
import { fatalLines, spawnFaultWorker, stopChild, within } from './helpers/chaos-processes.js';

const MESSAGES = 1000; // every 10th is good, the rest poison
const RANDOM_KILLS = 6;
const WIRE_KILLS = 3;
/** Commands that name the DLQ key without writing it. */
const DLQ_READS = new Set(['XRANGE', 'XREVRANGE', 'XLEN', 'XINFO', 'XREAD', 'TYPE', 'EXISTS']);

async function pendingIds(commander: Commander, topic: Topic): Promise<Set<string>> {
  const key = topic.keys.stream;
  const reply = await commander.send<unknown[][]>(key, ['XPENDING', key, FAULT_GROUP, '-', '+', '100000']);
  return new Set(reply.map((item) => String(item[0])));
}

/** DLQ entries per source stream ID. */
async function deadLetterCounts(commander: Commander, topic: Topic): Promise<Map<string, number>> {
  const key = topic.keys.deadLetter;
  const counts = new Map<string, number>();
  for (const entry of parseEntries(await commander.send(key, ['XRANGE', key, '-', '+']))) {
    const source = String(pairsToObject(entry.fields ?? [])['dlq:source-id']);
    counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  return counts;
}

test('kill -9 between the dead-letter write and the ack never splits the move: each poison message in the DLQ exactly once, none pending', async () => {
  const server = await startRedis();
  const proxy = await startChaosProxy(server.port);
  const children: ChildScript[] = [];
  let client: Awaited<ReturnType<typeof connectRedis>> | undefined;
  try {
    client = await connectRedis({ url: server.url });
    const commander = toCommander(client);
    const topic = faultTopic(uniqueName('dlqkill'));
    const prefix = uniqueName('m');
    await ensureGroup(commander, topic, FAULT_GROUP, '0');
    const expected = new Map<string, MessageKindValue>();
    for (let n = 0; n < MESSAGES; n++) {
      const kind = n % 10 === 9 ? MessageKind.Good : MessageKind.Poison;
      expected.set(appIdOf(prefix, n), kind);
      await commander.send(topic.keys.stream, ['XADD', topic.keys.stream, '*', ...messageFields(topic, prefix, n, kind)]);
    }

    // Always the same consumer name: each new process first resumes the pending list the killed
    // one left (its own name), as a restarted pod would.
    const config: FaultWorkerConfig = {
      url: proxy.url,
      topic: topic.name,
      consumer: 'dlq-worker',
      concurrency: 4,
      holdMs: 20,
      recovery: { maxDeliveries: 2, backoff: [10], claimIdleMs: 500, reclaimIntervalMs: 100 },
    };
    const start = async (): Promise<ChildScript> => {
      const child = spawnFaultWorker(config);
      children.push(child);
      await child.waitForOutput(/^ready /, 60_000);
      return child;
    };
    const splitMoves = async (): Promise<string[]> => {
      const pending = await pendingIds(commander, topic);
      return [...(await deadLetterCounts(commander, topic)).keys()].filter((id) => pending.has(id));
    };

    // 1. Random moments.
    const dlqSizeAfterKill: number[] = [];
    for (let round = 0; round < RANDOM_KILLS; round++) {
      const child = await start();
      await sleep(50 + Math.floor(Math.random() * 350));
      await child.kill('SIGKILL');
      proxy.reset();
      expect(await splitMoves()).toEqual([]);
      dlqSizeAfterKill.push((await deadLetterCounts(commander, topic)).size);
    }
    // The kills landed while it was dead-lettering (the DLQ grew between kills).
    expect(new Set(dlqSizeAfterKill).size).toBeGreaterThan(RANDOM_KILLS / 2);

    // Enough poison left for the wire kills (each round moves fewer than 10 before it trips).
    expect((await deadLetterCounts(commander, topic)).size).toBeLessThan(MESSAGES - MESSAGES / 10 - 10 * WIRE_KILLS);

    // 2. Exactly after the dead-letter write went out.
    const tripped: string[] = [];
    for (let round = 0; round < WIRE_KILLS; round++) {
      const trip = proxy.armTrip(
        (args) => args.includes(topic.keys.deadLetter) && !DLQ_READS.has(String(args[0]).toUpperCase()),
        // Not the very first write of a process: that one may be an EVALSHA answered NOSCRIPT.
        2 + Math.floor(Math.random() * 6),
      );
      const child = await start();
      const command = await within(Promise.race([trip, child.exited.then(() => undefined)]), 30_000);
      if (!command) {
        const pending = await pendingIds(commander, topic);
        throw new Error(`round ${round}: no dead-letter write within 30 s (pending ${pending.size}); worker output:\n${child.output().slice(-3000)}`);
      }
      await child.kill('SIGKILL');
      proxy.reset();
      // The stream ID being moved is in the command's arguments (script ARGV, or the XADD's fields).
      const sourceId = command.find((arg, i) => i > 0 && /^\d+-\d+$/.test(arg));
      expect(sourceId).toBeDefined();
      tripped.push(`${String(command[0]).toUpperCase()} ${sourceId}`);
      // Redis runs the forwarded command on its own time: give it a moment, then the move must
      // be all (in the DLQ once, not pending) or nothing (pending, not in the DLQ).
      const inDlq = await waitFor(async () => ((await deadLetterCounts(commander, topic)).get(sourceId!) ?? 0) > 0, { timeoutMs: 3000 }).then(
        () => true,
        () => false,
      );
      const stillPending = (await pendingIds(commander, topic)).has(sourceId!);
      expect({ sourceId, inDlq, stillPending }).toEqual({ sourceId, inDlq: !stillPending, stillPending: !inDlq });
      expect((await deadLetterCounts(commander, topic)).get(sourceId!) ?? 0).toBeLessThanOrEqual(1);
      expect(await splitMoves()).toEqual([]);
    }

    // 3. A last worker finishes; nothing killed any more.
    const last = await start();
    await waitFor(() => groupSettled(commander, topic, FAULT_GROUP), { timeoutMs: 60_000, intervalMs: 250, message: 'group drained' });
    const check = await checkRun(commander, topic, FAULT_GROUP, expected);
    console.log(
      `faults-dlq-kill: poison=${MESSAGES - MESSAGES / 10} dead-lettered=${check.badDeadLettered} dlq-duplicates=${check.deadLetterDuplicates} ` +
        `pending=${check.pending} good-processed=${check.processed} kills=${RANDOM_KILLS + WIRE_KILLS} ` +
        `dlq-size-after-random-kills=[${dlqSizeAfterKill.join(',')}] wire-kills-at=[${tripped.join(', ')}] reasons=${JSON.stringify(check.reasons)}`,
    );
    expect(check.samples.unexpected).toEqual([]);
    expect(check.samples.lost).toEqual([]);
    expect(check.deadLetterDuplicates).toBe(0);
    expect(check.badDeadLettered).toBe(MESSAGES - MESSAGES / 10);
    expect(check.processed).toBe(MESSAGES / 10);
    expect(check.pending).toBe(0);
    expect(check.reasons[MessageKind.Poison]).toEqual({ 'max-deliveries': MESSAGES - MESSAGES / 10 });
    expect(fatalLines(children)).toEqual([]);
    await stopChild(last);
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    await proxy.close();
    client?.destroy();
    await server.stop();
  }
}, 240_000);
