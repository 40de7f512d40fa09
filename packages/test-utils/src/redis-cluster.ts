import { execFile } from 'node:child_process';
import { type ManagedRedisServer, type RedisServer, startRedisProcess } from './redis-server.js';
import { sendRawCommands } from './raw-resp-client.js';
import { waitFor } from './wait-for.js';

const CLUSTER_SLOTS = 16_384;
const REDIS_CLI_TIMEOUT_MS = 60_000;
const CLUSTER_READY_TIMEOUT_MS = 30_000;

/**
 * Where a cluster node listens. Every {@link RedisServer} (and so every entry of
 * {@link RedisCluster.nodes}) has this shape.
 */
export interface RedisClusterNode {
  host: string;
  port: number;
}

/** A local Redis Cluster of masters only (no replicas), each a {@link RedisServer}. */
export interface RedisCluster {
  /**
   * The masters, in start order. Each can be killed and restarted like a standalone server; its
   * dir keeps `nodes.conf`, so a restarted node rejoins with the same id and slots.
   */
  readonly nodes: readonly RedisServer[];
  /** `[{ url }]` per node, ready for node-redis `createCluster({ rootNodes })`. */
  readonly rootNodes: readonly { url: string }[];
  /** Stops every node and removes their dirs. Idempotent; concurrent calls share one promise. */
  stop(): Promise<void>;
}

/** Options for {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /** Number of masters; `redis-cli --cluster create` needs at least 3. Default 3. */
  masters?: number;
  /** AOF with `appendfsync always` on every node, as in {@link StartRedisOptions.persistent}. */
  persistent?: boolean;
  /** Extra redis-server arguments for every node, appended last. */
  args?: string[];
}

/**
 * Starts `masters` cluster-enabled redis-servers on free ports (client port and bus port + 10000),
 * joins them with `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`, and resolves
 * once every node reports `cluster_state:ok`, all 16384 slots assigned and ok, and knows all the
 * other nodes. Nodes use `cluster-node-timeout 5000`. On failure every started node is stopped.
 *
 * @param options - number of masters (default 3), persistence and extra args.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new RangeError(`startRedisCluster: masters must be an integer >= 3 (redis-cli --cluster create needs 3), got ${masters}`);
  }
  const flavour = { persistent: options.persistent ?? false, cluster: true, extraArgs: options.args ?? [] };
  const started = await Promise.allSettled(Array.from({ length: masters }, () => startRedisProcess(flavour)));
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const cluster = new LocalRedisCluster(nodes);
  try {
    const failedStart = started.find((result) => result.status === 'rejected');
    if (failedStart) throw failedStart.reason;
    await createCluster(nodes);
    await waitForClusterOk(nodes);
    return cluster;
  } catch (error: unknown) {
    await cluster.stop();
    throw error;
  }
}

class LocalRedisCluster implements RedisCluster {
  readonly rootNodes: readonly { url: string }[];
  #stopped: Promise<void> | undefined;

  constructor(readonly nodes: readonly ManagedRedisServer[]) {
    this.rootNodes = nodes.map((node) => ({ url: node.url }));
  }

  stop(): Promise<void> {
    this.#stopped ??= Promise.all(this.nodes.map((node) => node.stop())).then(() => undefined);
    return this.#stopped;
  }
}

function createCluster(nodes: readonly RedisServer[]): Promise<void> {
  const args = [
    '--cluster', 'create',
    ...nodes.map((node) => `${node.host}:${node.port}`),
    '--cluster-replicas', '0',
    '--cluster-yes',
  ];
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: REDIS_CLI_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`redis-cli ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      } else {
        resolve();
      }
    });
  });
}

/**
 * redis-cli returns once the config epochs agree, but a node may still be gossiping its view of
 * the others; a client connecting then could see a partial slot map. Wait until each node itself
 * says the whole cluster is healthy.
 */
async function waitForClusterOk(nodes: readonly RedisServer[]): Promise<void> {
  const expected: Record<string, string> = {
    cluster_state: 'ok',
    cluster_slots_assigned: String(CLUSTER_SLOTS),
    cluster_slots_ok: String(CLUSTER_SLOTS),
    cluster_known_nodes: String(nodes.length),
  };
  await waitFor(
    async () => {
      for (const node of nodes) {
        const [info] = await sendRawCommands(node.port, [['CLUSTER', 'INFO']]);
        if (typeof info !== 'string') throw new Error(`node ${node.port}: CLUSTER INFO answered ${String(info)}`);
        const fields = new Map(info.split('\r\n').map((line) => line.split(':') as [string, string]));
        for (const [field, want] of Object.entries(expected)) {
          // Thrown, not returned: waitFor's timeout error then names the node and field that lag.
          const got = fields.get(field);
          if (got !== want) throw new Error(`node ${node.port}: ${field}:${got} (want ${want})`);
        }
      }
      return true;
    },
    { timeoutMs: CLUSTER_READY_TIMEOUT_MS, message: `cluster of ${nodes.map((n) => n.port).join(', ')} to reach cluster_state:ok` },
  );
}
