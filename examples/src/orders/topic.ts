// The orders topic shared by the orders API example and the demo: one event type, its zod
// schema (which also validates POST /orders), and the app-level keys kept beside the stream.
import { z } from 'zod';
import { defineTopic } from '@tributary/core';

/** An order as the seed's express example posts it. */
export const orderSchema = z.strictObject({
  orderId: z.number().int().positive(),
  product: z.string().min(1).max(100),
  quantity: z.number().int().min(1).max(1000),
  userId: z.number().int().positive(),
});

/** Orders whose product is this always fail: they show retries, then the dead-letter stream. */
export const POISON_PRODUCT = 'poison';

/** The consumer group that processes orders (the seed's `order-processors`). */
export const ORDER_GROUP = 'order-processors';

/** Defines the orders topic under `name`. Streams keep about the newest 100 000 orders (MAXLEN ~). */
export function ordersTopic(name: string) {
  return defineTopic({
    name,
    types: { 'order.created': orderSchema },
    retention: { maxLen: 100_000 },
  });
}

/** The orders topic type. */
export type OrdersTopic = ReturnType<typeof ordersTopic>;

/**
 * Application message IDs of orders processed successfully. At-least-once delivery means a
 * handler may see a message twice (after a crash): SADD on the message ID makes processing
 * idempotent, and the demo reconciles against this set. Under the topic's hash tag, so it lives
 * in the topic's cluster slot and goes away with the topic's keys.
 */
export function processedKey(topic: OrdersTopic): string {
  return `${topic.keys.stream}:processed`;
}
