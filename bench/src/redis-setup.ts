import { connectRedis, pairsToObject } from '@tributary/core';
import { startRedis } from '@tributary/test-utils';
import { createClient, type RedisClientType } from 'redis';
import { sleep } from './timing.js';

/** The Redis server a run uses. */
export interface BenchServer {
  readonly url: string;
  /** True when the bench started it (and stops it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

/**
 * `REDIS_URL` when set; otherwise a private redis-server on a free loopback port (no RDB, no
 * AOF), started through @tributary/test-utils so it is killed even if the bench dies.
 */
export async function acquireServer(): Promise<BenchServer> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, owned: false, stop: async () => undefined };
  const server = await startRedis({ args: ['--save', '', '--appendonly', 'no'] });
  return { url: server.url, owned: true, stop: () => server.stop() };
}

/**
 * The client both sides share in a comparison: node-redis with the per-command timeout off
 * (`commandOptions: { timeout: 0 }`), as core's `connectRedis` creates it.
 */
export function connectBench(url: string): Promise<RedisClientType> {
  return connectRedis({ url });
}

/** node-redis with its defaults (5 s per-command timeout), for the timeout comparison. */
export async function connectDefault(url: string): Promise<RedisClientType> {
  const client = createClient({ url }) as unknown as RedisClientType;
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A group's progress as XINFO GROUPS reports it. */
export interface GroupProgress {
  pending: number;
  lastDeliveredId: string;
}

export async function groupProgress(monitor: RedisClientType, key: string, group: string): Promise<GroupProgress | undefined> {
  const reply = (await monitor.sendCommand(['XINFO', 'GROUPS', key])) as unknown[];
  for (const raw of reply) {
    // RESP3 (node-redis 6's default) gives objects, RESP2 flat arrays.
    const info = Array.isArray(raw) ? pairsToObject(raw) : (raw as unknown as Record<string, unknown>);
    if (String(info.name) === group) {
      return { pending: Number(info.pending), lastDeliveredId: String(info['last-delivered-id']) };
    }
  }
  return undefined;
}

/**
 * Resolves once the group has been delivered everything up to `lastId` and has nothing pending
 * (every message read and acked). `ready` short-cuts polling until the caller knows all were
 * handled (in-process runs), so the poll itself does not slow the measured loop.
 */
export async function waitConsumed(
  monitor: RedisClientType,
  key: string,
  group: string,
  lastId: string,
  options: { intervalMs?: number; ready?: () => boolean; timeoutMs?: number } = {},
): Promise<void> {
  const interval = options.intervalMs ?? 5;
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  for (;;) {
    if (Date.now() > deadline) throw new Error(`group ${group} of ${key} did not finish in time`);
    if (!options.ready || options.ready()) {
      const progress = await groupProgress(monitor, key, group);
      if (progress && progress.pending === 0 && progress.lastDeliveredId === lastId) return;
      await sleep(options.ready ? 1 : interval);
    } else {
      await sleep(1);
    }
  }
}

/** The stream's last entry ID. */
export async function lastStreamId(client: RedisClientType, key: string): Promise<string> {
  const raw = await client.sendCommand(['XINFO', 'STREAM', key]);
  const info = Array.isArray(raw) ? pairsToObject(raw) : (raw as unknown as Record<string, unknown>);
  return String(info['last-generated-id']);
}

/** Creates a group reading the stream from its start. */
export async function createGroup(client: RedisClientType, key: string, group: string): Promise<void> {
  await client.sendCommand(['XGROUP', 'CREATE', key, group, '0', 'MKSTREAM']);
}

export async function serverVersion(client: RedisClientType): Promise<string> {
  const info = String(await client.sendCommand(['INFO', 'server']));
  return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
}
