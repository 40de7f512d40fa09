import { createHash } from 'node:crypto';
import { RESP_TYPES } from 'redis';
import { TimeoutError } from './errors.js';
import { isNoScriptReply } from './redis-errors.js';
import { settlesWithin } from './settles-within.js';

/**
 * The node-redis connection Tributary works with: a standalone client (`createClient`) or a
 * cluster (`createCluster`), already connected. Tributary never creates hidden connections
 * from it except the documented dedicated reader of a worker (`duplicate()`).
 */
// A structural type rather than node-redis's generic classes: any module, script, RESP or
// type-mapping configuration of the user's client is accepted, because Tributary sends raw
// commands with its own reply mapping (see RAW_TYPE_MAPPING).
export interface RedisClientLike {
  readonly isOpen: boolean;
  /** False while the client reconnects (commands wait in its queue); node-redis clients and clusters have it. */
  readonly isReady?: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  duplicate(): RedisClientLike;
  on(event: 'error', listener: (error: Error) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sendCommand(...args: any[]): Promise<unknown>;
  /** node-redis's view of the client with another reply mapping (clients and clusters have it). */
  withTypeMapping?(typeMapping: object): { sendCommand(...args: never[]): Promise<unknown> };
}

/** Standalone `sendCommand(args, options)`. */
type StandaloneSend = (args: string[], options?: object) => Promise<unknown>;
/** Cluster `sendCommand(firstKey, isReadonly, args, options)`. */
type ClusterSend = (key: string | undefined, readonly: boolean, args: string[], options?: object) => Promise<unknown>;

/** Per-command options for {@link Commander.send}. */
export interface RedisCommandOptions {
  /**
   * Per-command timeout in ms; `0` disables the timer. Default: the client's own setting
   * (node-redis 6 defaults to 5000 ms, which costs about 3× throughput on pipelined writes;
   * clients made by `connectRedis` disable it and rely on `pingInterval` instead). node-redis 6
   * drops the timer once the command is written to the socket: it bounds the wait in the
   * client's queue (e.g. while reconnecting), not the wait for the reply.
   */
  timeoutMs?: number;
  /** Rejects a command still in the client's queue; like `timeoutMs`, it no longer applies once the command is written. */
  signal?: AbortSignal;
  /**
   * Bulk strings arrive as Buffers instead of strings (the rest of the mapping unchanged), so
   * a hot path can decode only the ones it needs (see `decodeMessageBytes`).
   */
  bytes?: boolean;
}

/** A Lua script with its SHA1, run with EVALSHA and loaded on demand. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

/** Wraps Lua source as a {@link LuaScript}. */
export function defineScript(source: string): LuaScript {
  return Object.freeze({ source, sha1: createHash('sha1').update(source).digest('hex') });
}

/**
 * Reply mapping Tributary uses for raw commands, whatever the client's RESP version or
 * mapping: RESP3 maps arrive as flat `[k, v, k, v]` arrays (the RESP2 shape) and strings as
 * strings, so one parser serves every client configuration.
 */
const RAW_TYPE_MAPPING = {
  [RESP_TYPES.MAP]: Array,
  [RESP_TYPES.BLOB_STRING]: String,
  [RESP_TYPES.SIMPLE_STRING]: String,
  [RESP_TYPES.VERBATIM_STRING]: String,
  [RESP_TYPES.SET]: Array,
  [RESP_TYPES.DOUBLE]: Number,
  [RESP_TYPES.BIG_NUMBER]: String,
} as const;

/** {@link RAW_TYPE_MAPPING} with bulk strings as Buffers: {@link RedisCommandOptions.bytes}. */
const BYTES_TYPE_MAPPING = { ...RAW_TYPE_MAPPING, [RESP_TYPES.BLOB_STRING]: Buffer } as const;

/**
 * Sends raw commands through a standalone client or a cluster alike. Every package talks to
 * Redis through this one seam, so cluster routing, reply shapes and script loading are
 * handled in one place.
 */
export interface Commander {
  /** The wrapped node-redis client or cluster. */
  readonly client: RedisClientLike;
  /** True for a Redis Cluster connection. */
  readonly isCluster: boolean;
  /**
   * Sends one command. `key` routes it on a cluster (ignored standalone). Commands sent in
   * the same tick are pipelined by node-redis.
   */
  send<T = unknown>(key: string | undefined, args: readonly string[], options?: RedisCommandOptions): Promise<T>;
  /**
   * Sends one command with no per-call options: the client's own timeout and reply mapping.
   * For hot paths whose reply is one string or nil (XADD): node-redis merges any per-call
   * option on a slow path, about 2.5 µs of CPU per command (~30% of pipelined XADD
   * throughput). Apply `String()` to the reply: the client may map strings to Buffers.
   */
  sendPlain(key: string, args: string[]): Promise<unknown>;
  /** Runs a Lua script with EVALSHA, loading it with EVAL when the node does not have it yet. */
  evalScript<T = unknown>(script: LuaScript, keys: readonly string[], args: readonly string[], options?: RedisCommandOptions): Promise<T>;
  /**
   * Opens a dedicated connection of the same kind (`duplicate()` + `connect()`), for blocking
   * reads that must not hold up the shared connection. Close it with {@link Commander.close}.
   * @param options.timeoutMs - give up (and drop the new connection) if it is not ready by then:
   *   a server that accepts connections but does not answer would otherwise hold `connect()`
   *   forever (node-redis bounds the TCP connect, not the handshake that follows)
   * @throws TimeoutError when `timeoutMs` passes first
   */
  duplicate(options?: { timeoutMs?: number }): Promise<Commander>;
  /** Closes the connection. Only call it on connections from {@link Commander.duplicate}. */
  close(): Promise<void>;
  /** Drops the connection at once, rejecting pending commands. Only for {@link Commander.duplicate} connections. */
  destroy(): void;
}

function isClusterClient(client: RedisClientLike): boolean {
  // Only clusters expose the slot map; checking a property avoids instanceof across copies.
  return 'masters' in client && 'slots' in client;
}

/** Wraps a connected node-redis client or cluster as a {@link Commander}. */
export function toCommander(client: RedisClientLike): Commander {
  const isCluster = isClusterClient(client);
  const commandOptions = (options: RedisCommandOptions | undefined) => {
    const result: { typeMapping: object; timeout?: number; abortSignal?: AbortSignal } = { typeMapping: options?.bytes ? BYTES_TYPE_MAPPING : RAW_TYPE_MAPPING };
    if (options?.timeoutMs !== undefined) result.timeout = options.timeoutMs;
    if (options?.signal) result.abortSignal = options.signal;
    return result;
  };
  const clusterSend = client.sendCommand.bind(client) as ClusterSend;
  const standaloneSend = client.sendCommand.bind(client) as StandaloneSend;
  // Options given per call make node-redis merge them on a slow path: about 5 µs of CPU per
  // command (measured one command per round trip), the cost of a read at low rates. Views of
  // the client with each mapping built in, made once, send without per-call options.
  const viewOf = (typeMapping: object): ((...args: unknown[]) => Promise<unknown>) | undefined => {
    const view = client.withTypeMapping?.(typeMapping) as { sendCommand: (...args: unknown[]) => Promise<unknown> } | undefined;
    // A wrapped client (a Proxy, a patched sendCommand: tracing, tests) must see every command:
    // only a view that sends through the very same function is used.
    if (!view || view.sendCommand !== client.sendCommand) return undefined;
    return view.sendCommand.bind(view);
  };
  const rawView = viewOf(RAW_TYPE_MAPPING);
  const bytesView = viewOf(BYTES_TYPE_MAPPING);
  const send = <T>(key: string | undefined, args: readonly string[], options?: RedisCommandOptions): Promise<T> => {
    const view = options?.timeoutMs !== undefined || options?.signal ? undefined : options?.bytes ? bytesView : rawView;
    if (view) return (isCluster ? view(key, false, args) : view(args)) as Promise<T>;
    return (isCluster
      ? clusterSend(key, false, args as string[], commandOptions(options))
      : standaloneSend(args as string[], commandOptions(options))) as Promise<T>;
  };
  return {
    client,
    isCluster,
    send,
    sendPlain: isCluster ? (key, args) => clusterSend(key, false, args) : (_key, args) => standaloneSend(args),
    async evalScript<T>(script: LuaScript, keys: readonly string[], args: readonly string[], options?: RedisCommandOptions): Promise<T> {
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await send<T>(keys[0], ['EVALSHA', script.sha1, ...tail], options);
      } catch (error) {
        if (!isNoScriptReply(error)) throw error;
        return send<T>(keys[0], ['EVAL', script.source, ...tail], options);
      }
    },
    async duplicate(options) {
      const copy = client.duplicate();
      copy.on('error', () => {
        // Reconnects are handled by the reconnect strategy; without a listener node-redis
        // would crash the process on a socket error of this private connection.
      });
      const connected = copy.connect();
      const timeoutMs = options?.timeoutMs;
      try {
        if (timeoutMs !== undefined && !(await settlesWithin(connected, timeoutMs))) {
          throw new TimeoutError(`new connection not ready within ${timeoutMs} ms`, { data: { timeoutMs } });
        }
        await connected;
      } catch (error) {
        connected.catch(() => undefined); // rejected by the destroy below: nobody waits for it now
        if (copy.isOpen) copy.destroy(); // a copy left behind would go on reconnecting
        throw error;
      }
      return toCommander(copy);
    },
    async close() {
      if (client.isOpen) await client.close();
    },
    destroy() {
      if (client.isOpen) client.destroy();
    },
  };
}

/**
 * Accepts either a node-redis client/cluster or a {@link Commander} and returns a Commander,
 * so public functions can take whatever the caller holds.
 */
export function asCommander(connection: RedisClientLike | Commander): Commander {
  return 'evalScript' in connection && 'send' in connection ? connection : toCommander(connection);
}
