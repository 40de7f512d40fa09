import { createWorker } from '@tributary/consumer-group';
import type { RedisClientType } from 'redis';
import { type BenchTypes, EVENT_TYPE, type Order, orderSchema, rawDecode } from './payload.js';
import type { Topic } from '@tributary/core';

/** A running consumer (raw loop or library worker). */
export interface RunningConsumer {
  /** Messages handled so far. */
  handled(): number;
  /** Stops reading, waits for acks already sent, and closes its own connections. */
  stop(): Promise<void>;
}

/** Called for every message received, with its payload (used by the latency runs). */
export type OnMessage = (data: Order) => void;

export interface RawConsumerOptions {
  key: string;
  group: string;
  consumer: string;
  /** XREADGROUP COUNT. */
  count: number;
  /** XREADGROUP BLOCK in ms. */
  blockMs?: number;
  /** Also validate every payload with the zod schema (the library always does). */
  validate?: boolean;
  onMessage?: OnMessage;
}

/**
 * The raw baseline consumer: its own connection (as the library's reader), XREADGROUP COUNT n
 * BLOCK, JSON.parse of each entry's `data`, and one XACK per batch sent without waiting
 * (pipelined ahead of the next read on the same connection).
 */
export async function startRawConsumer(client: RedisClientType, o: RawConsumerOptions): Promise<RunningConsumer> {
  const conn = client.duplicate();
  conn.on('error', () => undefined);
  await conn.connect();
  const read = ['XREADGROUP', 'GROUP', o.group, o.consumer, 'COUNT', String(o.count), 'BLOCK', String(o.blockMs ?? 1000), 'STREAMS', o.key, '>'];
  let stopped = false;
  let handled = 0;
  const acks = new Set<Promise<unknown>>();
  const loop = (async () => {
    while (!stopped) {
      let reply: Record<string, [string, string[]][]> | null;
      try {
        // node-redis 6 speaks RESP3 by default: the reply is a map, decoded to an object.
        reply = (await conn.sendCommand(read)) as typeof reply;
      } catch (error) {
        if (stopped) return;
        throw error;
      }
      const entries = reply?.[o.key];
      if (!entries) continue;
      const ids = new Array<string>(entries.length);
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        ids[i] = entry[0];
        const data = rawDecode(entry[1]);
        if (o.validate) orderSchema.parse(data);
        o.onMessage?.(data);
        handled++;
      }
      const ack = conn.sendCommand(['XACK', o.key, o.group, ...ids]);
      acks.add(ack);
      void ack.finally(() => acks.delete(ack)).catch(() => undefined);
    }
  })();
  return {
    handled: () => handled,
    async stop() {
      stopped = true;
      await Promise.allSettled([...acks]);
      conn.destroy();
      await loop.catch(() => undefined);
    },
  };
}

export interface LibConsumerOptions {
  topic: Topic<BenchTypes>;
  group: string;
  consumer: string;
  concurrency: number;
  batchSize?: number;
  onMessage?: OnMessage;
}

/** The library side: createWorker with an async handler that does nothing (but count). */
export async function startLibConsumer(client: RedisClientType, o: LibConsumerOptions): Promise<RunningConsumer> {
  let handled = 0;
  const onMessage = o.onMessage;
  const worker = createWorker(client, {
    topic: o.topic,
    group: o.group,
    consumer: o.consumer,
    concurrency: o.concurrency,
    ...(process.env.BENCH_MAX_ACK_BATCH ? { maxAckBatch: Number(process.env.BENCH_MAX_ACK_BATCH) } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    createGroup: false,
    handlers: {
      [EVENT_TYPE]: onMessage
        ? async (message) => {
          handled++;
          onMessage(message.data);
        }
        : async () => {
          handled++;
        },
    },
  });
  worker.on('worker-error', ({ stage, error }) => console.error(`[bench] worker-error (${stage}):`, error));
  await worker.start();
  return {
    handled: () => handled,
    stop: () => worker.stop(),
  };
}
