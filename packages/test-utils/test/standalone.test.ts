import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createClient } from 'redis';
import { type RedisServer, startRedis, uniqueName } from '../src/index.js';
import { portAcceptsConnections, processExists } from './os-probes.js';

describe('startRedis (standalone)', () => {
  let server: RedisServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('runs a real redis-server on its own loopback port and temp dir', async () => {
    server = await startRedis();
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).not.toBe(6379);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.dir.startsWith(tmpdir())).toBe(true);
    expect(server.dir).toContain('tributary-redis-');
    expect(existsSync(server.dir)).toBe(true);
    expect(server.pid !== undefined && processExists(server.pid)).toBe(true);

    const client = createClient({ url: server.url });
    await client.connect();
    try {
      const key = uniqueName('standalone');
      await client.set(key, 'hello');
      expect(await client.get(key)).toBe('hello');
      expect(await client.configGet('appendonly')).toEqual({ appendonly: 'no' });
      expect(await client.configGet('save')).toEqual({ save: '' });
    } finally {
      client.destroy();
    }
  });

  it('stop() kills the process, removes the dir, frees the port, and is idempotent', async () => {
    server = await startRedis();
    const { port, dir, pid } = server;
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    expect(existsSync(dir)).toBe(false);
    expect(pid !== undefined && processExists(pid)).toBe(false);
    expect(server.pid).toBeUndefined();
    expect(await portAcceptsConnections(port)).toBe(false);
    await expect(server.restart()).rejects.toThrow(/was stopped/);
  });

  it('passes extra args to redis-server', async () => {
    server = await startRedis({ args: ['--maxmemory', '12mb'] });
    const client = createClient({ url: server.url });
    await client.connect();
    try {
      expect(await client.configGet('maxmemory')).toEqual({ maxmemory: String(12 * 1024 * 1024) });
    } finally {
      client.destroy();
    }
  });

  it('fails fast with the log tail when redis-server rejects its arguments', async () => {
    await expect(startRedis({ args: ['--no-such-option', 'x'] })).rejects.toThrow(/exited during start[\s\S]*no-such-option/i);
  });

  it('kill() refuses signals that would never end the process', async () => {
    server = await startRedis();
    await expect(server.kill('SIGSTOP')).rejects.toThrow(/signal\(SIGSTOP\)/);
  });
});
