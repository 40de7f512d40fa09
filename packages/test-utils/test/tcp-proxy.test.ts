import { createClient } from 'redis';
import { type RedisServer, startRedis, startTcpProxy, type TcpProxy, waitFor } from '../src/index.js';

describe('startTcpProxy', () => {
  let server: RedisServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    proxy = await startTcpProxy({ port: server.port });
  });
  afterEach(() => proxy.close());

  const connect = async (url: string) => {
    const client = createClient({ url, commandOptions: { timeout: 0 } });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  it('forwards both ways, lists connections in order and records what each client sent', async () => {
    const a = await connect(proxy.url);
    const b = await connect(proxy.url);
    try {
      await a.set('proxy:k', 'v');
      expect(await b.get('proxy:k')).toBe('v');
      const [ca, cb] = proxy.connections();
      expect([ca!.index, cb!.index]).toEqual([0, 1]);
      // RESP frames each argument: "\r\nSET\r\n" is the command SET, not CLIENT SETINFO.
      expect(ca!.carried('\r\nSET\r\n')).toBe(true);
      expect(cb!.carried('\r\nSET\r\n')).toBe(false);
      expect(cb!.carried('proxy:k')).toBe(true);
    } finally {
      a.destroy();
      b.destroy();
    }
    await waitFor(() => proxy.connections().every((c) => c.closed));
  });

  it("blackhole() leaves the connection open and silent; 'replies' still lets commands run", async () => {
    const direct = await connect(server.url);
    const silent = await connect(proxy.url);
    const repliesLost = await connect(proxy.url);
    try {
      const [first, second] = proxy.connections();
      first!.blackhole();
      second!.blackhole('replies');
      const lostSet = silent.set('proxy:both', '1');
      const ranSet = repliesLost.set('proxy:replies', '1');
      await waitFor(async () => (await direct.get('proxy:replies')) === '1');
      expect(await direct.get('proxy:both')).toBeNull();
      const unanswered = await Promise.race([Promise.all([lostSet, ranSet]).then(() => 'answered'), new Promise((r) => setTimeout(() => r('silent'), 300))]);
      expect(unanswered).toBe('silent');
      expect(first!.closed || second!.closed).toBe(false);
      expect(silent.isOpen && repliesLost.isOpen).toBe(true);
    } finally {
      direct.destroy();
      silent.destroy();
      repliesLost.destroy();
    }
  });
});
