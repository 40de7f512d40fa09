// Quick start: a typed topic, a producer, a worker with recovery — publish one order, handle
// it, stop. Run: yarn tsx examples/src/quick-start.ts   (REDIS_URL, default redis://127.0.0.1:6379)
import { createClient } from 'redis';
import { z } from 'zod';
import { defineTopic } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { createWorker } from '@tributary/consumer-group';
import { createRecovery } from '@tributary/recovery';

const orders = defineTopic({
  name: `quick-start-${process.pid}`,
  types: {
    'order.created': z.object({ orderId: z.string(), amount: z.number().positive() }),
  },
  retention: { maxLen: 100_000 },
});

const client = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
await client.connect();

let done!: () => void;
const handled = new Promise<void>((resolve) => (done = resolve));

const worker = createWorker(client, {
  topic: orders,
  group: 'billing',
  consumer: 'billing-1',
  startId: '0',
  failureHandler: createRecovery(client, { maxDeliveries: 5 }),
  handlers: {
    'order.created': async (msg) => {
      console.log(`charged ${msg.data.amount} for ${msg.data.orderId}`);
      done();
    },
  },
});
await worker.start();

const producer = createProducer(client, { topic: orders });
await producer.publish({ type: 'order.created', data: { orderId: 'o-1', amount: 42 } });

await handled;
await worker.stop();
await client.del([orders.keys.stream]);
await client.close();
