import { createServer } from 'node:net';
import { getFreePort } from '../src/index.js';

/** Binds and releases `port` on loopback; resolves false if it is taken. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

describe('getFreePort', () => {
  it('returns a bindable loopback port', async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(0);
    expect(await canListen(port)).toBe(true);
  });

  it('with clusterBus, port + 10000 exists and is free too', async () => {
    const port = await getFreePort({ clusterBus: true });
    expect(port + 10000).toBeLessThanOrEqual(65535);
    expect(await canListen(port + 10000)).toBe(true);
  });
});
