// The consumers of the orders service: workers in one consumer group, each with recovery as
// its failure handler, processing orders with a simulated failure rate. Failed orders are
// retried after a backoff and dead-lettered after `maxDeliveries`; peers (in this process or
// another instance) reclaim what a crashed consumer left pending.
import type { RedisClientType } from 'redis';
import { createWorker, type Worker, type WorkerEvents } from '@tributary/consumer-group';
import { createRecovery, type RecoveryOptions } from '@tributary/recovery';
import { sleep } from '../lib/cli.js';
import { ORDER_GROUP, type OrdersTopic, POISON_PRODUCT, processedKey } from './topic.js';

/** Options of {@link startProcessing}. */
export interface ProcessingOptions {
  topic: OrdersTopic;
  /** Names the consumers: `<instance>-c1`, `<instance>-c2`… Keep it stable per instance. */
  instance: string;
  /** Workers in this process. Default 2. */
  consumers?: number;
  /** Orders each worker handles at once. Default 8. */
  concurrency?: number;
  /** Probability that processing an order fails (0..1). Default 0.1. */
  failureRate?: number;
  /** Simulated work per order, ms: a random time in [min, max]. Default [5, 25]. */
  workMs?: readonly [number, number];
  /** Recovery settings (attempt limit, backoff, reclaim). */
  recovery?: RecoveryOptions;
  /** Prints one line per processed / failed order. Default false. */
  verbose?: boolean;
}

/** What the consumers of this process did since they started. */
export interface ProcessingStats {
  /** Orders processed for the first time (counted once per application message ID). */
  processed: number;
  /** Deliveries of orders already processed before (at-least-once redeliveries), acked without work. */
  duplicates: number;
  /** Failed deliveries left pending for a retry. */
  retried: number;
  /** Orders this process moved to the dead-letter stream (poison, undecodable, too many attempts). */
  deadLettered: number;
  /** Processed orders by consumer name. */
  byConsumer: Record<string, number>;
}

/** The running consumers. */
export interface Processing {
  readonly workers: readonly Worker[];
  stats(): ProcessingStats;
  /** Graceful stop: running handlers finish and are acked; unstarted orders stay pending for peers. */
  stop(): Promise<void>;
}

/** Default recovery for the orders service: 3 attempts, quick retries, reclaim after 10 s idle. */
export const ORDER_RECOVERY: RecoveryOptions = {
  maxDeliveries: 3,
  backoff: [500, 1500],
  claimIdleMs: 10_000,
  reclaimIntervalMs: 1000,
};

/** Starts the consumers and resolves once every one is reading. */
export async function startProcessing(client: RedisClientType, options: ProcessingOptions): Promise<Processing> {
  const { topic, instance } = options;
  const failureRate = options.failureRate ?? 0.1;
  const [minWork, maxWork] = options.workMs ?? [5, 25];
  const stats: ProcessingStats = { processed: 0, duplicates: 0, retried: 0, deadLettered: 0, byConsumer: {} };
  const log = options.verbose ? (line: string) => console.log(line) : () => undefined;
  // One recovery serves every worker of the process; each worker gets its own reclaim loop.
  const recovery = createRecovery(client, { ...ORDER_RECOVERY, ...options.recovery });
  const done = processedKey(topic);

  const workers = Array.from({ length: options.consumers ?? 2 }, (_, i) => {
    const consumer = `${instance}-c${i + 1}`;
    stats.byConsumer[consumer] = 0;
    const worker = createWorker(client, {
      topic,
      group: ORDER_GROUP,
      consumer,
      // A new group reads the stream from its start, so orders posted before any consumer
      // existed are processed too.
      startId: '0',
      concurrency: options.concurrency ?? 8,
      failureHandler: recovery,
      handlers: {
        'order.created': async (msg, ctx) => {
          const { orderId, product, quantity } = msg.data;
          await sleep(minWork + Math.random() * (maxWork - minWork));
          if (product === POISON_PRODUCT) throw new Error(`order ${orderId}: product "${product}" cannot be shipped`);
          if (Math.random() < failureRate) throw new Error(`order ${orderId}: payment gateway timed out (simulated)`);
          // Idempotent on the application message ID: a redelivered order is not processed twice.
          if ((await client.sAdd(done, msg.id)) === 0) {
            stats.duplicates++;
            return;
          }
          stats.processed++;
          stats.byConsumer[consumer] = (stats.byConsumer[consumer] ?? 0) + 1;
          log(`${consumer} processed order ${orderId} (${quantity} × ${product}) ${msg.streamId} delivery ${ctx.deliveries}`);
        },
      },
    });
    worker.on('failure', (event) => {
      const failure = event as WorkerEvents['failure'][0];
      if (failure.outcome === 'pending') stats.retried++;
      log(`${consumer} failed ${failure.streamId} (${failure.kind}, delivery ${failure.deliveries}): ${failure.outcome === 'pending' ? 'will retry' : 'dead-lettered'}`);
    });
    // Recovery's event: every move to the dead-letter stream, including those made by the
    // reclaim loop for messages whose consumers kept crashing.
    worker.on('dead-lettered', () => {
      stats.deadLettered++;
    });
    worker.on('worker-error', (event) => {
      const { stage, error } = event as WorkerEvents['worker-error'][0];
      console.error(`${consumer} ${stage} error: ${(error as Error).message}`);
    });
    return worker;
  });
  await Promise.all(workers.map((w) => w.start()));
  return {
    workers,
    stats: () => ({ ...stats, byConsumer: { ...stats.byConsumer } }),
    stop: async () => {
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}
