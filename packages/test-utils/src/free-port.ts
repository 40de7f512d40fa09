import { createServer } from 'node:net';

/** Redis Cluster's node-to-node bus listens on the client port plus this offset. */
export const CLUSTER_BUS_PORT_OFFSET = 10_000;

const MAX_PORT = 65_535;
const LOOPBACK = '127.0.0.1';

/** Options for {@link getFreePort}. */
export interface GetFreePortOptions {
  /**
   * Also require `port + 10000` (the Redis Cluster bus port) to be free and to exist, i.e. the
   * port is at most 55535. Used for cluster nodes.
   */
  clusterBus?: boolean;
}

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the port the
 * kernel chose, and closes the socket.
 *
 * "A moment ago" matters: another process (another jest worker) may take the port before the
 * caller binds it. {@link startRedis} therefore retries with a new port when redis-server reports
 * "Address already in use"; other callers should do the same.
 *
 * @param options - `clusterBus: true` to also check the cluster bus port.
 */
export async function getFreePort(options: GetFreePortOptions = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = await listenAndRelease(0);
    if (!options.clusterBus) return port;
    // Ephemeral ports go up to ~61000 on Linux, so the bus port may not exist; just draw again.
    const busPort = port + CLUSTER_BUS_PORT_OFFSET;
    if (busPort > MAX_PORT) continue;
    const busFree = await listenAndRelease(busPort).then(
      () => true,
      () => false,
    );
    if (busFree) return port;
  }
  throw new Error('getFreePort: found no free port (with a free cluster bus port) after 200 attempts');
}

/** Listens on `port` (0 = any) on the loopback address, closes again, resolves with the port. */
function listenAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    // Never let a half-open probe keep a test process alive.
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => {
        if (chosen === undefined) reject(new Error('getFreePort: server has no TCP address'));
        else resolve(chosen);
      });
    });
  });
}
