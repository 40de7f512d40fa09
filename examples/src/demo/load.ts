// The demo's producer load: orders POSTed to the orders service at a steady rate, as clients
// would, with a few bad ones mixed in:
// - invalid bodies (rejected with a 400 by the topic's schema: never produced);
// - poison orders (product "poison": processing always fails, so they are retried and then
//   dead-lettered with reason max-deliveries);
// - junk entries written straight to the stream by "another service" with raw XADD: undecodable
//   JSON (dead-lettered at once, reason decode) or a payload failing the schema (reason validation).
import { randomUUID } from 'node:crypto';
import type { RedisClientType } from 'redis';
import { Field } from '@tributary/core';
import { type OrdersTopic, POISON_PRODUCT } from '../orders/topic.js';

/** Counters of the load. */
export interface LoadStats {
  /** Messages that got a stream entry (accepted orders + junk entries). */
  produced: number;
  /** Invalid orders rejected with a 400 (never produced). */
  rejected: number;
  poison: number;
  junk: number;
  /** Requests that failed (network); not produced. */
  errors: number;
}

export interface Load {
  stats(): LoadStats;
  /** Application message IDs of every produced message, for the reconciliation. */
  producedIds(): readonly string[];
  /** Stops sending and waits for the requests under way. */
  stop(): Promise<void>;
}

const MAX_IN_FLIGHT = 64;

/** Starts sending `ratePerSecond` orders a second to `url`. */
export function startLoad(options: { url: string; client: RedisClientType; topic: OrdersTopic; ratePerSecond: number }): Load {
  const { url, client, topic, ratePerSecond } = options;
  const stats: LoadStats = { produced: 0, rejected: 0, poison: 0, junk: 0, errors: 0 };
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const began = Date.now();
  let sent = 0;
  let stopped = false;

  const send = async (n: number): Promise<void> => {
    if (n % 200 === 100) {
      // Junk from a producer that ignores the schema: written with plain XADD, no validation.
      const id = randomUUID();
      const data = n % 400 === 100 ? '{"orderId": 12, "product": ' : JSON.stringify({ orderId: n, product: 'Desk', quantity: -3, userId: 7 });
      await client.xAdd(topic.keys.stream, '*', { [Field.Type]: 'order.created', [Field.Data]: data, [Field.Id]: id, [Field.Ts]: String(Date.now()) });
      ids.push(id);
      stats.produced++;
      stats.junk++;
      return;
    }
    const invalid = n % 97 === 0;
    const poison = n % 50 === 25;
    const order = { orderId: n, product: poison ? POISON_PRODUCT : `Item-${n % 17}`, quantity: invalid ? 0 : 1 + (n % 4), userId: 1 + (n % 23) };
    try {
      const response = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
      const body = (await response.json()) as { id?: string };
      if (response.status === 202 && body.id) {
        ids.push(body.id);
        stats.produced++;
        if (poison) stats.poison++;
      } else if (response.status === 400) {
        stats.rejected++;
      } else {
        stats.errors++;
      }
    } catch {
      stats.errors++;
    }
  };

  const tick = () => {
    if (stopped) return;
    const due = Math.floor(((Date.now() - began) / 1000) * ratePerSecond);
    while (sent < due && inFlight.size < MAX_IN_FLIGHT) {
      const request = send(++sent).catch(() => {
        stats.errors++;
      });
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
  };
  const timer = setInterval(tick, 20);

  return {
    stats: () => ({ ...stats }),
    producedIds: () => ids,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}
