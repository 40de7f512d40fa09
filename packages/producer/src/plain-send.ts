import type { Commander } from '@tributary/core';

/** Sends one command routed by `key`, with the client's own options and reply mapping. */
type PlainSend = (key: string, args: string[]) => Promise<unknown>;

type StandaloneSend = (args: string[]) => Promise<unknown>;
type ClusterSend = (key: string, readonly: boolean, args: string[]) => Promise<unknown>;

/**
 * The publish hot path's way to send XADD: the wrapped client's `sendCommand` with no per-call
 * options, routed by key on a cluster exactly as `Commander.send` routes it.
 *
 * Why not `Commander.send`: it always passes a per-call options object (its reply type
 * mapping), and node-redis 6 merges any per-call option it does not already hold on a slow
 * path, about 2.5 µs of CPU per command, roughly 30% of pipelined XADD throughput. The
 * XADD reply (an entry ID, or nil with NOMKSTREAM) needs no mapping: callers apply `String()`,
 * which also covers clients configured to return Buffers. Only for such replies.
 */
export function plainSend(commander: Commander): PlainSend {
  const client = commander.client;
  if (commander.isCluster) {
    const send = client.sendCommand.bind(client) as ClusterSend;
    return (key, args) => send(key, false, args);
  }
  const send = client.sendCommand.bind(client) as StandaloneSend;
  return (_key, args) => send(args);
}
