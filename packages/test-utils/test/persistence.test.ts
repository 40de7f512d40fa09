import { createServer } from 'node:net';
import { createClient } from 'redis';
import { type RedisServer, startRedis, uniqueName } from '../src/index.js';
import { processExists } from './os-probes.js';

/** XADDs `count` entries to `key` and closes the client. */
async function addEntries(url: string, key: string, count: number): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for (let i = 0; i < count; i += 1) await client.xAdd(key, '*', { n: String(i) });
  } finally {
    client.destroy();
  }
}

async function streamLength(url: string, key: string): Promise<number> {
  const client = createClient({ url });
  await client.connect();
  try {
    return await client.xLen(key);
  } finally {
    client.destroy();
  }
}

describe('kill -9 and restart', () => {
  let server: RedisServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('persistent: every acknowledged XADD survives kill -9 + restart on the same port', async () => {
    server = await startRedis({ persistent: true });
    const key = uniqueName('orders');
    await addEntries(server.url, key, 100);

    const { port, pid } = server;
    expect(pid).toBeDefined();
    await server.kill();
    expect(processExists(pid as number)).toBe(false);
    expect(server.pid).toBeUndefined();

    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).toBeDefined();
    expect(server.pid).not.toBe(pid);
    expect(await streamLength(server.url, key)).toBe(100);
  });

  it('non-persistent: the same kill -9 + restart loses the data', async () => {
    server = await startRedis();
    const key = uniqueName('orders');
    await addEntries(server.url, key, 100);
    expect(await streamLength(server.url, key)).toBe(100);

    await server.kill();
    await server.restart();
    expect(await streamLength(server.url, key)).toBe(0);
  });

  it('restart() of a running server crashes it first; kill() of a stopped process is a no-op', async () => {
    server = await startRedis({ persistent: true });
    const key = uniqueName('orders');
    await addEntries(server.url, key, 3);
    const firstPid = server.pid as number;
    await server.restart();
    expect(processExists(firstPid)).toBe(false);
    expect(await streamLength(server.url, key)).toBe(3);
    await server.kill('SIGTERM');
    await server.kill();
    expect(server.pid).toBeUndefined();
  });

  it('restart() waits briefly for its port if something else grabbed it meanwhile', async () => {
    server = await startRedis({ persistent: true });
    const key = uniqueName('orders');
    await addEntries(server.url, key, 5);
    await server.kill();

    // Squat on the port for 500 ms: the first launches fail with "Address already in use".
    // (The squatter hangs up on connections: readiness probes reach it, and close() waits for them.)
    const squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen({ port: server?.port, host: '127.0.0.1' }, resolve));
    const released = new Promise<void>((resolve) => setTimeout(() => squatter.close(() => resolve()), 500));

    await server.restart();
    await released;
    expect(await streamLength(server.url, key)).toBe(5);
  });

  it('signal(SIGSTOP) freezes the server and SIGCONT resumes it', async () => {
    server = await startRedis();
    const client = createClient({ url: server.url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      server.signal('SIGSTOP');
      const frozen = await Promise.race([
        client.ping().then(() => 'answered'),
        new Promise((resolve) => setTimeout(() => resolve('frozen'), 300)),
      ]);
      expect(frozen).toBe('frozen');
      server.signal('SIGCONT');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.destroy();
    }
  });
});
