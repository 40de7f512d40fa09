/**
 * Variants for memory-growth-child.ts, each testing one hypothesis about why the worker's RSS
 * rises after its first major GC while the raw loop's does not. What they showed (Node 20.20,
 * V8 11.3, node-redis 6.3): `raw:signal`, `raw:timeout` and `--patch list-unlink` change nothing;
 * `lib:slots` and `lib:dict` (the worker's inFlight Map swapped for a slot array or a dictionary)
 * removed the rise: a Map churned by a batch per read chains its old hash tables, so once one is
 * promoted every later table and the Deliveries they held survive scavenges. The worker now keeps
 * its deliveries in a slot table (consumer-group src/in-flight.ts); those two variants are gone.
 */
import type { RedisClientType } from 'redis';
import { rawDecode } from '../payload.js';

/** What a variant needs of the child's config. */
export interface VariantConfig {
  side: string;
  group: string;
  count: number;
}

/**
 * The raw loop of consumers.ts, with the per-command options named in `side` on its reads: to
 * find which one changes what survives a scavenge.
 */
export async function startRawVariant(client: RedisClientType, c: VariantConfig, key: string, onMessage: () => void): Promise<{ stop(): Promise<void> }> {
  const variant = new Set(c.side.slice('raw:'.length).split(','));
  const conn = client.duplicate();
  conn.on('error', () => undefined);
  await conn.connect();
  const abort = new AbortController();
  const options = {
    ...(variant.has('signal') ? { abortSignal: abort.signal } : {}),
    ...(variant.has('timeout') ? { timeout: 11_000 } : {}),
  };
  const read = ['XREADGROUP', 'GROUP', c.group, 'memory', 'COUNT', String(c.count), 'BLOCK', '1000', 'STREAMS', key, '>'];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const reply = (await conn.sendCommand(read, options).catch(() => null)) as Record<string, [string, string[]][]> | null;
      const entries = reply?.[key];
      if (!entries) continue;
      const ids = entries.map((entry) => {
        rawDecode(entry[1]);
        onMessage();
        return entry[0];
      });
      void conn.sendCommand(['XACK', key, c.group, ...ids]).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopped = true;
      abort.abort();
      await loop;
      conn.destroy();
    },
  };
}

interface ListNode {
  next: ListNode | undefined;
}

/**
 * node-redis's SinglyLinkedList.shift() leaves the shifted node's `next` set: a shifted node
 * promoted to old space keeps every later node (and the command, its promise and reply) alive
 * through scavenges until the next mark-compact. This cuts the link after shift. (Tried: it is not
 * what makes the worker's RSS rise; the raw loop uses the same queue.)
 */
export function unlinkShiftedNodes(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SinglyLinkedList } = require('@redis/client/dist/lib/client/linked-list') as {
    SinglyLinkedList: { prototype: { head: ListNode | undefined; shift(): unknown } };
  };
  const shift = SinglyLinkedList.prototype.shift;
  SinglyLinkedList.prototype.shift = function (this: { head: ListNode | undefined }) {
    const node = this.head;
    const value = shift.call(this);
    if (node) node.next = undefined;
    return value;
  };
}
