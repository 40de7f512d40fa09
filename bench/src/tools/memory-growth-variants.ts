/**
 * Variants for memory-growth-child.ts, each testing one hypothesis about why the worker's RSS
 * rises after its first major GC while the raw loop's does not. What they showed (Node 20.20,
 * V8 11.3, node-redis 6.3): `raw:signal`, `raw:timeout` and `--patch list-unlink` change nothing;
 * `lib:slots` (and `lib:dict`) remove the rise: the worker's inFlight Map is the cause (see MapLike).
 */
import { createWorker } from '@tributary/consumer-group';
import type { Topic } from '@tributary/core';
import type { RedisClientType } from 'redis';
import { type BenchTypes, EVENT_TYPE, rawDecode } from '../payload.js';

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

/**
 * Stand-ins for the worker's `inFlight` Map (stream ID → Delivery), swapped in before start to
 * test why its RSS rises after a major GC. A Map that grows and shrinks by a batch every read
 * allocates a new backing table on each rehash, and V8 leaves the old table pointing to the new
 * one (for live iterators) with its entries in place: once one table is promoted (a mark-compact
 * promotes the current one), the chain of every later table and every Delivery they held
 * survives scavenges until the next mark-compact.
 */
interface MapLike<V> {
  readonly size: number;
  has(key: string): boolean;
  get(key: string): V | undefined;
  set(key: string, value: V): this;
  delete(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
}

/** `dict`: a plain dictionary object (its old backing stores point nowhere, but keys get internalized). */
class DictTable<V> implements MapLike<V> {
  private entries: Record<string, V> = Object.create(null) as Record<string, V>;
  size = 0;
  has(key: string): boolean {
    return key in this.entries;
  }
  get(key: string): V | undefined {
    return this.entries[key];
  }
  set(key: string, value: V): this {
    if (!(key in this.entries)) this.size++;
    this.entries[key] = value;
    return this;
  }
  delete(key: string): boolean {
    if (!(key in this.entries)) return false;
    delete this.entries[key];
    this.size--;
    return true;
  }
  keys(): IterableIterator<string> {
    return Object.keys(this.entries)[Symbol.iterator]();
  }
  values(): IterableIterator<V> {
    return Object.values(this.entries)[Symbol.iterator]();
  }
}

/**
 * `slots`: fixed arrays (capacity = concurrency, never reallocated in steady state) and a stack
 * of free indices; lookups scan (at most `concurrency` entries). Nothing is rehashed, so no
 * obsolete store is left behind.
 */
class SlotTable<V> implements MapLike<V> {
  private readonly ids: (string | undefined)[];
  private readonly items: (V | undefined)[];
  private readonly free: number[] = [];
  size = 0;
  constructor(capacity: number) {
    this.ids = new Array<string | undefined>(capacity).fill(undefined);
    this.items = new Array<V | undefined>(capacity).fill(undefined);
    for (let i = capacity - 1; i >= 0; i--) this.free.push(i);
  }
  private find(key: string): number {
    return this.ids.indexOf(key);
  }
  has(key: string): boolean {
    return this.find(key) >= 0;
  }
  get(key: string): V | undefined {
    const i = this.find(key);
    return i >= 0 ? this.items[i] : undefined;
  }
  set(key: string, value: V): this {
    let i = this.find(key);
    if (i < 0) {
      i = this.free.pop() ?? this.ids.length;
      this.size++;
    }
    this.ids[i] = key;
    this.items[i] = value;
    return this;
  }
  delete(key: string): boolean {
    const i = this.find(key);
    if (i < 0) return false;
    this.ids[i] = undefined;
    this.items[i] = undefined;
    this.free.push(i);
    this.size--;
    return true;
  }
  keys(): IterableIterator<string> {
    return this.ids.filter((id): id is string => id !== undefined)[Symbol.iterator]();
  }
  values(): IterableIterator<V> {
    return this.items.filter((v): v is V => v !== undefined)[Symbol.iterator]();
  }
}

/** startLibConsumer with the worker's inFlight Map swapped for a stand-in (`lib:dict`, `lib:slots`) before start. */
export async function startSwappedWorker(client: RedisClientType, topic: Topic<BenchTypes>, c: VariantConfig, onMessage: () => void): Promise<{ stop(): Promise<void> }> {
  const table = c.side === 'lib:dict' ? new DictTable() : new SlotTable(c.count);
  const worker = createWorker(client, {
    topic, group: c.group, consumer: 'memory', concurrency: c.count, batchSize: c.count, createGroup: false,
    handlers: { [EVENT_TYPE]: async () => onMessage() },
  });
  (worker as unknown as { inFlight: unknown }).inFlight = table;
  await worker.start();
  return { stop: () => worker.stop() };
}
