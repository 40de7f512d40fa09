import { createConnection, createServer, type Server, type Socket } from 'node:net';

const LOOPBACK = '127.0.0.1';

/** Most client-to-server bytes a proxied connection keeps for {@link ProxiedConnection.carried}. */
const KEPT_BYTES = 1 << 20;

/** One client connection through a {@link TcpProxy}. */
export interface ProxiedConnection {
  /** Order of arrival at the proxy, from 0. */
  readonly index: number;
  /** True once either side closed (the proxy then closes the other). */
  readonly closed: boolean;
  /** True after {@link ProxiedConnection.blackhole}. */
  readonly blackholed: boolean;
  /** Whether the client sent `text` so far (e.g. a command name), within its first 1 MiB. */
  carried(text: string): boolean;
  /**
   * Stops forwarding while both sockets stay open: what a half-open connection looks like (a
   * peer gone without a reset, a NAT that forgot the flow). Writes still succeed and nothing
   * comes back. `'replies'`: only the server's replies are dropped, so commands still run (a
   * connection lost after its commands went through). Closing still propagates.
   */
  blackhole(what?: 'both' | 'replies'): void;
}

/** A TCP proxy on a free loopback port forwarding to `target`, for network fault tests. */
export interface TcpProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`: connect a Redis client through the proxy. */
  readonly url: string;
  /** Every connection accepted so far, in order. */
  connections(): readonly ProxiedConnection[];
  /** Closes the listener and every connection. Idempotent. */
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} to `target` (a loopback port). */
export async function startTcpProxy(target: { port: number; host?: string }): Promise<TcpProxy> {
  const accepted: ProxiedConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ port: target.port, host: target.host ?? LOOPBACK });
    let toServer = true;
    let toClient = true;
    let closed = false;
    let sent = '';
    const end = (): void => {
      closed = true;
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', end);
      socket.on('close', () => {
        sockets.delete(socket);
        end();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (sent.length < KEPT_BYTES) sent += chunk.toString('latin1');
      if (toServer) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (toClient) client.write(chunk);
    });
    accepted.push({
      index: accepted.length,
      get closed() { return closed; },
      get blackholed() { return !toClient; },
      carried: (text) => sent.includes(text),
      blackhole: (what = 'both') => {
        toClient = false;
        if (what === 'both') toServer = false;
      },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: LOOPBACK }, () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('startTcpProxy: server has no TCP address');
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    url: `redis://${LOOPBACK}:${address.port}`,
    connections: () => accepted,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
