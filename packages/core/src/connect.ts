import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';
import { z } from 'zod';
import { parseOptions } from './options.js';

/** Options of {@link connectRedis}. */
export interface ConnectRedisOptions {
  /** `redis://[user:pass@]host:port[/db]` (or `rediss://`). Default: `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Per-command timeout in ms; `0` (default) disables it. node-redis 6 defaults to 5000 ms,
   * whose timer per command costs about 3× throughput on pipelined XADD. node-redis 6 runs that
   * timer only until a command is written, so it never caught a silent server anyway: closed
   * sockets are found by `pingIntervalMs`, and the worker and checkpoint reader put their own
   * deadline on each read.
   */
  commandTimeoutMs?: number;
  /** Sends PING this often on an idle connection to detect dead sockets. Default 5000 ms. */
  pingIntervalMs?: number;
  /** Give up connecting after this many ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Longest wait between reconnect attempts. Default 2000 ms. */
  maxReconnectDelayMs?: number;
}

/** Options of {@link connectRedisCluster}. */
export interface ConnectRedisClusterOptions extends Omit<ConnectRedisOptions, 'url'> {
  /** Seed nodes, e.g. `['redis://10.0.0.1:7000']`; the rest of the topology is discovered. */
  rootNodes: readonly string[];
}

const baseSchema = {
  commandTimeoutMs: z.number().int().nonnegative().default(0),
  pingIntervalMs: z.number().int().positive().default(5000),
  connectTimeoutMs: z.number().int().positive().default(5000),
  maxReconnectDelayMs: z.number().int().positive().default(2000),
};
const clientSchema = z.strictObject({ url: z.string().url().default('redis://127.0.0.1:6379'), ...baseSchema });
const clusterSchema = z.strictObject({ rootNodes: z.array(z.string().url()).min(1), ...baseSchema });

/**
 * Exponential backoff with full jitter: retries spread out so a restarted server is not hit by
 * every client at once.
 */
export function reconnectDelay(retries: number, maxDelayMs: number): number {
  const ceiling = Math.min(maxDelayMs, 50 * 2 ** Math.min(retries, 16));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function socketOptions(o: z.output<typeof clientSchema> | z.output<typeof clusterSchema>, firstConnect?: { done: boolean }) {
  // node-redis runs the first connect() through reconnectStrategy as well: without a limit an
  // unreachable server makes connect() retry forever. Until the first connection succeeds,
  // stop once connectTimeoutMs has passed (`false` makes connect() reject with the socket error).
  const giveUpAt = Date.now() + o.connectTimeoutMs;
  return {
    connectTimeout: o.connectTimeoutMs,
    keepAlive: true,
    reconnectStrategy: (retries: number) =>
      firstConnect && !firstConnect.done && Date.now() >= giveUpAt ? false : reconnectDelay(retries, o.maxReconnectDelayMs),
  };
}

/**
 * Creates and connects a node-redis client with settings suited to streams: no per-command
 * timer (see `commandTimeoutMs`), PING keep-alive, jittered reconnects. Attach your own
 * `error` listener for logging; one that ignores errors is installed so a dropped socket never
 * crashes the process (node-redis reconnects by itself).
 *
 * @throws InvalidArgumentError for bad options; the connection error if it cannot connect
 */
export async function connectRedis(options: ConnectRedisOptions = {}): Promise<RedisClientType> {
  const o = parseOptions(clientSchema, options, 'ConnectRedisOptions');
  const firstConnect = { done: false };
  const client = createClient({
    url: o.url,
    pingInterval: o.pingIntervalMs,
    commandOptions: { timeout: o.commandTimeoutMs },
    socket: socketOptions(o, firstConnect),
  }) as unknown as RedisClientType;
  client.on('error', () => {});
  await client.connect();
  firstConnect.done = true;
  return client;
}

/**
 * Creates and connects a node-redis cluster client with the same settings as
 * {@link connectRedis} for every node.
 */
export async function connectRedisCluster(options: ConnectRedisClusterOptions): Promise<RedisClusterType> {
  const o = parseOptions(clusterSchema, options, 'ConnectRedisClusterOptions');
  const cluster = createCluster({
    rootNodes: o.rootNodes.map((url) => ({ url })),
    defaults: { pingInterval: o.pingIntervalMs, socket: socketOptions(o) },
    commandOptions: { timeout: o.commandTimeoutMs },
  }) as unknown as RedisClusterType;
  cluster.on('error', () => {});
  await cluster.connect();
  return cluster;
}
