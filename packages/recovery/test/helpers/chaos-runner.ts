// The chaos scenario, shared by chaos.test.ts (CI size) and scripts/chaos.ts (larger runs): a
// persistent (AOF, fsync always) Redis, a producer process publishing messages (1% poison, a few
// malformed), worker processes with recovery killed with kill -9 at random and restarted, Redis
// itself killed with kill -9 and restarted; then the checker classifies every message.
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, toCommander } from '@tributary/core';
import { ensureGroup } from '@tributary/consumer-group';
import { type ChildScript, type RedisServer, startRedis, uniqueName, waitFor } from '@tributary/test-utils';
import {
  DEFAULT_MIX,
  expectedMessages,
  FAULT_GROUP,
  type FaultProducerConfig,
  faultTopic,
  type FaultWorkerConfig,
  type MessageMix,
} from '../fixtures/fault-topic.js';
import { checkRun, groupSettled } from './chaos-checker.js';
import type { ChaosReport } from './chaos-report.js';
import { countLines, printedProcessed, spawnFaultProducer, spawnFaultWorker, stopChild } from './chaos-processes.js';

/** Knobs of a chaos run. */
export interface ChaosOptions {
  /** Messages to publish. Default 10,000. */
  messages?: number;
  /** Worker processes. Default 4. */
  workers?: number;
  /** How long publishing takes (the producer's rate is messages / seconds). Default 20. */
  seconds?: number;
  /** kill -9 + restart of Redis during publishing. Default 1. */
  redisRestarts?: number;
  /** A worker is killed every [min, max] ms while the producer runs. Default [600, 2000]. */
  killEveryMs?: readonly [number, number];
  /** Recovery's claimIdleMs. Default 1000. */
  claimIdleMs?: number;
  /** Worker lease renewal. Default 300 (< claimIdleMs / 2). */
  leaseRenewMs?: number;
  /** Recovery's maxDeliveries. Default 3. */
  maxDeliveries?: number;
  /** Handler concurrency per worker. Default 20. */
  concurrency?: number;
  /** Each good message's handler takes this long (so kills catch work in flight). Default 5 ms. */
  holdMs?: number;
  /** How long to wait for the group to drain after publishing. Default 90 s. */
  settleTimeoutMs?: number;
  /** Which messages are bad. Default 1% poison, 0.1% schema-invalid, 0.05% undecodable. */
  mix?: MessageMix;
  /** Workers and producer print no line per message (large runs; skips the printed-vs-recorded check). */
  quiet?: boolean;
  /** Workers print a `start` line per handler run, and the report traces good messages that were dead-lettered. */
  trace?: boolean;
  /** Seed of the kill schedule. Default: random (printed in the report). */
  seed?: number;
  /** Progress lines (kills, restarts). */
  log?: (line: string) => void;
}

/** Deterministic PRNG (mulberry32) so a schedule can be replayed with --seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One worker position: a process that is killed and replaced over the run. */
interface Slot {
  index: number;
  generation: number;
  consumer: string;
  child: ChildScript | undefined;
}

/** Runs the chaos scenario and returns the figures. Everything it started is gone when it returns. */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const startedAt = Date.now();
  const messages = options.messages ?? 10_000;
  const workerCount = options.workers ?? 4;
  const seconds = options.seconds ?? 20;
  const redisRestartsWanted = options.redisRestarts ?? 1;
  const [killMin, killMax] = options.killEveryMs ?? [600, 2000];
  const claimIdleMs = options.claimIdleMs ?? 1000;
  const mix = options.mix ?? DEFAULT_MIX;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = prng(seed);
  const between = (min: number, max: number) => Math.round(min + random() * (max - min));
  const log = options.log ?? (() => undefined);

  const server: RedisServer = await startRedis({ persistent: true });
  const children: ChildScript[] = [];
  const slots: Slot[] = [];
  let client: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let running = true;
  let workerKills = 0;
  let redisRestarts = 0;
  let workerCrashes = 0;
  const crashLines: string[] = [];
  const killedByUs = new WeakSet<ChildScript>();
  const names = new Map<ChildScript, string>();

  try {
    client = await connectRedis({ url: server.url, maxReconnectDelayMs: 500 });
    const commander = toCommander(client);
    const topic = faultTopic(uniqueName('chaos'));
    const prefix = uniqueName('m');
    // The group exists, from the stream's start, before the first publish.
    await ensureGroup(commander, topic, FAULT_GROUP, '0');

    const workerConfig = (consumer: string): FaultWorkerConfig => ({
      url: server.url,
      topic: topic.name,
      consumer,
      concurrency: options.concurrency ?? 20,
      blockMs: 1000,
      leaseRenewMs: options.leaseRenewMs ?? 300,
      holdMs: options.holdMs ?? 5,
      quiet: options.quiet ?? false,
      traceStarts: options.trace ?? false,
      recovery: {
        maxDeliveries: options.maxDeliveries ?? 3,
        backoff: [100, 200, 400],
        claimIdleMs,
        reclaimIntervalMs: 250,
        reclaimCount: 100,
      },
    });

    const spawnWorker = (slot: Slot): void => {
      const child = spawnFaultWorker(workerConfig(slot.consumer));
      slot.child = child;
      children.push(child);
      names.set(child, slot.consumer);
      void child.exited.then((exit) => {
        if (killedByUs.has(child) || !running) return;
        // Exited on its own: a crash. Record it and put a new process in its place.
        workerCrashes++;
        const fatal = child.output().split('\n').filter((line) => line.startsWith('fatal')).slice(0, 3);
        crashLines.push(`${slot.consumer} exit=${exit.code}/${exit.signal} ${fatal.join(' ') || child.output().slice(-300)}`);
        log(`worker ${slot.consumer} crashed (${exit.code}/${exit.signal})`);
        if (slot.child === child) spawnWorker(slot);
      });
    };

    for (let i = 0; i < workerCount; i++) {
      const slot: Slot = { index: i, generation: 0, consumer: `w${i}-0`, child: undefined };
      slots.push(slot);
      spawnWorker(slot);
    }
    await Promise.all(slots.map((slot) => slot.child!.waitForOutput(/^ready /, 60_000)));

    const producerConfig: FaultProducerConfig = {
      url: server.url,
      topic: topic.name,
      prefix,
      count: messages,
      ratePerSec: Math.max(1, Math.round(messages / seconds)),
      window: 200,
      mix,
      quiet: options.quiet ?? false,
    };
    const producer = spawnFaultProducer(producerConfig);
    children.push(producer);
    let producerDone = false;
    void producer.exited.then(() => (producerDone = true));
    log(`chaos: ${messages} messages over ~${seconds}s, ${workerCount} workers, ${redisRestartsWanted} redis restart(s), seed ${seed}`);

    // Redis restarts at spread-out moments of the publishing period.
    const producerStartedAt = Date.now();
    const restartAt = Array.from({ length: redisRestartsWanted }, (_, k) =>
      producerStartedAt + (seconds * 1000 * (k + 1)) / (redisRestartsWanted + 1) + between(-500, 500),
    );

    const restartRedis = async () => {
      log(`redis kill -9 (#${redisRestarts + 1})`);
      await server.kill('SIGKILL');
      await sleep(between(200, 800));
      await server.restart();
      redisRestarts++;
      log(`redis restarted (#${redisRestarts})`);
    };

    while (!producerDone) {
      await Promise.race([sleep(between(killMin, killMax)), producer.exited]);
      if (producerDone) break;
      if (restartAt.length > 0 && Date.now() >= restartAt[0]!) {
        restartAt.shift();
        await restartRedis();
        continue;
      }
      // A worker that is consuming, if there is one (a process still booting holds no work).
      const consuming = slots.filter((s) => /^ready /m.test(s.child!.output()));
      const pool = consuming.length > 0 ? consuming : slots;
      const slot = pool[Math.floor(random() * pool.length)]!;
      const victim = slot.child!;
      killedByUs.add(victim);
      await victim.kill('SIGKILL');
      workerKills++;
      // Half the time the replacement keeps the name (it resumes its own pending list first);
      // otherwise it is a new consumer and the old one's pending entries must be reclaimed.
      if (random() < 0.5) slot.consumer = `w${slot.index}-${++slot.generation}`;
      log(`worker kill -9 pid ${victim.pid}; restarting as ${slot.consumer}`);
      await sleep(between(0, 300));
      spawnWorker(slot);
    }
    while (restartAt.length > 0) {
      restartAt.shift();
      await restartRedis();
    }

    const producerExit = await producer.exited;
    if (producerExit.code !== 0) {
      throw new Error(`producer failed (${producerExit.code}/${producerExit.signal}):\n${producer.output().slice(-2000)}`);
    }
    const producerRetries = countLines(producer, 'retry');
    log(`producer done: ${producer.output().match(/^done .*$/m)?.[0] ?? '?'}`);

    const settled = await waitFor(() => groupSettled(commander, topic, FAULT_GROUP), {
      timeoutMs: options.settleTimeoutMs ?? 90_000,
      intervalMs: 500,
      message: 'group drained',
    }).then(
      () => true,
      () => false,
    );
    running = false;

    const printed = options.quiet ? new Set<string>() : printedProcessed(children);
    const check = await checkRun(commander, topic, FAULT_GROUP, expectedMessages(prefix, messages, mix), printed);
    const trails: Record<string, string[]> = {};
    if (options.trace) {
      for (const id of check.goodDeadLetteredIds.slice(0, 20)) {
        trails[id] = children.flatMap((child) =>
          child.output().split('\n').filter((line) => line.includes(id)).map((line) => `${names.get(child) ?? 'producer'}#${child.pid}${killedByUs.has(child) ? '(killed)' : ''}: ${line.slice(0, 160)}`),
        );
      }
    }
    return {
      trails,
      outputs: options.trace
        ? children.map((child) => ({ name: names.get(child) ?? 'producer', pid: child.pid, killed: killedByUs.has(child), output: child.output() }))
        : [],
      ...check,
      workerKills,
      redisRestarts,
      workerCrashes,
      crashLines,
      producerRetries,
      settled,
      durationMs: Date.now() - startedAt,
      seed,
    };
  } finally {
    running = false;
    await Promise.all(children.map((child) => stopChild(child)));
    client?.destroy();
    await server.stop();
  }
}
