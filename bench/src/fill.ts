import { createProducer } from '@tributary/producer';
import type { RedisClientType } from 'redis';
import { freshName } from './context.js';
import { type BenchTypes, benchTopic, EVENT_TYPE, payload } from './payload.js';
import { lastStreamId } from './redis-setup.js';
import { pipelined } from './timing.js';
import type { Topic } from '@tributary/core';

/** A stream filled with `count` library-format entries, read by both sides. */
export interface FilledStream {
  readonly topic: Topic<BenchTypes>;
  readonly key: string;
  readonly count: number;
  readonly lastId: string;
}

/** Publishes `count` messages (publishMany, 4 calls in flight) to a fresh topic. */
export async function fillStream(client: RedisClientType, count: number, prefix = 'fill'): Promise<FilledStream> {
  const topic = benchTopic(freshName(prefix));
  const producer = createProducer(client, { topic });
  const chunk = 1000;
  await pipelined(Math.ceil(count / chunk), 4, async (c) => {
    const messages = [];
    for (let i = c * chunk; i < Math.min(count, (c + 1) * chunk); i++) messages.push({ type: EVENT_TYPE, data: payload(i) } as const);
    const results = await producer.publishMany(messages);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
  });
  await producer.close();
  return { topic, key: topic.keys.stream, count, lastId: await lastStreamId(client, topic.keys.stream) };
}
