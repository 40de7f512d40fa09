// Finds a Redis for the demo: REDIS_URL (or the default 127.0.0.1:6379) if a server answers
// there, otherwise a redis-server from PATH started on a free port (and stopped on exit).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClientType } from 'redis';
import { connectRedis } from '@tributary/core';

/** A Redis the demo can use, with its connection. */
export interface DemoRedis {
  readonly url: string;
  /** How it was found, for the header line. */
  readonly origin: string;
  readonly client: RedisClientType;
  /** Closes the connection, and stops the server if the demo started it. */
  close(): Promise<void>;
}

/** What to print when there is no Redis at all: one line, what to do. */
export function noRedisMessage(url: string): string {
  return `No Redis answers at ${url} and there is no redis-server on PATH: run \`docker compose up -d\` in this repo (Redis 7 on 6379), or install your OS package (\`apt install redis-server\`, \`brew install redis\`), or set REDIS_URL.`;
}

async function tryConnect(url: string, timeoutMs: number): Promise<RedisClientType | undefined> {
  try {
    return await connectRedis({ url, connectTimeoutMs: timeoutMs });
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts `redis-server` from PATH on a free loopback port, without persistence. `undefined` if there is none. */
async function startLocalServer(): Promise<{ url: string; child: ChildProcess; dir: string; client: RedisClientType } | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tributary-demo-redis-'));
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    const spawned = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (!spawned) {
      rmSync(dir, { recursive: true, force: true });
      return undefined; // ENOENT: not on PATH
    }
    // Never leave it running, however the demo ends (SIGKILL of the demo aside).
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.off('exit', kill));
    const url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && child.exitCode === null) {
      const client = await tryConnect(url, 500);
      if (client) return { url, child, dir, client };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Exited at once (port taken meanwhile?) or never answered: try another port.
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  return undefined;
}

/** Finds or starts a Redis; `undefined` when there is none and none can be started. */
export async function findRedis(): Promise<DemoRedis | undefined> {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const client = await tryConnect(url, 1500);
  if (client) {
    return { url, origin: process.env.REDIS_URL ? 'REDIS_URL' : 'default URL', client, close: () => client.close() };
  }
  const local = await startLocalServer();
  if (!local) return undefined;
  return {
    url: local.url,
    origin: `nothing answered at ${url}: started redis-server (pid ${local.child.pid}), stopped on exit`,
    client: local.client,
    close: async () => {
      await local.client.close().catch(() => undefined);
      const exited = new Promise((resolve) => local.child.once('exit', resolve));
      if (local.child.exitCode === null && local.child.signalCode === null) {
        local.child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
        if (local.child.exitCode === null && local.child.signalCode === null) local.child.kill('SIGKILL');
      }
      rmSync(local.dir, { recursive: true, force: true });
    },
  };
}
