import type { Delivery } from './delivery.js';

/**
 * The deliveries a worker is handling, each in a slot of one array.
 *
 * Not a Map keyed by stream ID: a Map that gains and loses a batch of entries every read
 * rehashes into a new backing table several times per batch, and V8 leaves each obsolete table
 * pointing to its successor, its old entries still in place (live iterators follow that link).
 * Once a major GC has promoted the current table, every later table and every Delivery it held
 * (entry fields, decoded message) stays reachable for the scavenger until the next major GC:
 * about 500 bytes per message promoted, tens of MiB more old space (bench: scenario 7,
 * src/tools/memory-growth.ts). This array is never reallocated once it holds `concurrency`
 * slots, and a freed slot holds nothing. A Delivery knows its slot: add and remove are O(1).
 */
export class InFlight {
  private readonly slots: (Delivery | undefined)[] = [];
  private readonly free: number[] = [];
  private count = 0;

  /** Deliveries being handled. */
  get size(): number {
    return this.count;
  }

  /** Puts `delivery` in a free slot. */
  add(delivery: Delivery): void {
    const slot = this.free.pop() ?? this.slots.length;
    this.slots[slot] = delivery;
    delivery.slot = slot;
    this.count++;
  }

  /** Takes `delivery` out; false if it was not in (settled already). */
  remove(delivery: Delivery): boolean {
    if (!this.holds(delivery)) return false;
    this.slots[delivery.slot] = undefined;
    this.free.push(delivery.slot);
    delivery.slot = -1;
    this.count--;
    return true;
  }

  /** True while `delivery` is being handled (this very delivery, not another of the same ID). */
  holds(delivery: Delivery): boolean {
    return delivery.slot >= 0 && this.slots[delivery.slot] === delivery;
  }

  /** The stream IDs being handled, as a new Set: built once per batch that needs it, never kept. */
  ids(): Set<string> {
    const ids = new Set<string>();
    for (const delivery of this.slots) if (delivery) ids.add(delivery.streamId);
    return ids;
  }

  /** A scan of at most `concurrency` slots: for occasional lookups (plug-ins, re-reads), not per new message. */
  has(streamId: string): boolean {
    return this.slots.some((delivery) => delivery?.streamId === streamId);
  }

  /** The deliveries being handled, as a new array. */
  values(): Delivery[] {
    return this.slots.filter((delivery): delivery is Delivery => delivery !== undefined);
  }
}
