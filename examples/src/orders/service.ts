// One instance of the orders service: the HTTP API plus its consumers, on one Redis
// connection (each worker adds its own dedicated reader connection for blocking reads).
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { RedisClientType } from 'redis';
import { createProducer } from '@tributary/producer';
import type { RecoveryOptions } from '@tributary/recovery';
import { buildOrdersApi } from './http.js';
import { type Processing, type ProcessingStats, startProcessing } from './processing.js';
import { type OrdersTopic } from './topic.js';

/** Options of {@link startOrdersService}. */
export interface OrdersServiceOptions {
  client: RedisClientType;
  topic: OrdersTopic;
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Consumers in this instance. Default 2. */
  consumers?: number;
  /** Probability that processing an order fails. Default 0.1. */
  failureRate?: number;
  workMs?: readonly [number, number];
  recovery?: RecoveryOptions;
  verbose?: boolean;
}

/** A running orders service. */
export interface OrdersService {
  readonly app: FastifyInstance;
  /** `http://host:port`. */
  readonly url: string;
  /** Consumer names start with this (`<host>-<port>`). */
  readonly instance: string;
  stats(): ProcessingStats;
  processing(): Processing;
  /**
   * Graceful stop: the server stops accepting requests (running ones finish), the consumers
   * finish what they run and ack it, the producer waits for its publishes. Never closes the client.
   */
  stop(): Promise<void>;
}

/** Starts the HTTP API, then the consumers (named after the port actually bound). */
export async function startOrdersService(options: OrdersServiceOptions): Promise<OrdersService> {
  const { client, topic } = options;
  const producer = createProducer(client, { topic });
  let processing: Processing | undefined;
  let instance = '';
  const empty: ProcessingStats = { processed: 0, duplicates: 0, retried: 0, deadLettered: 0, byConsumer: {} };
  const app = buildOrdersApi({ client, topic, producer, stats: () => processing?.stats() ?? empty, instance: () => instance });
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  instance = `${hostname()}-${port}`;
  try {
    processing = await startProcessing(client, {
      topic,
      instance,
      consumers: options.consumers ?? 2,
      failureRate: options.failureRate ?? 0.1,
      ...(options.workMs ? { workMs: options.workMs } : {}),
      ...(options.recovery ? { recovery: options.recovery } : {}),
      verbose: options.verbose ?? false,
    });
  } catch (error) {
    await app.close();
    throw error;
  }
  const running = processing;
  let stopping: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    instance,
    stats: () => running.stats(),
    processing: () => running,
    stop: () => {
      stopping ??= (async () => {
        await app.close();
        await running.stop();
        await producer.close();
      })();
      return stopping;
    },
  };
}
