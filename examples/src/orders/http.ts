// The orders HTTP API (fastify): the producer side (POST /orders), replay (history), and the
// operations views (pending, stream info, dead letters and redrive).
import Fastify, { type FastifyInstance } from 'fastify';
import type { RedisClientType } from 'redis';
import { z } from 'zod';
import { ErrorCode, isTributaryError, type TopicTypes, type TributaryError, ValidationError } from '@tributary/core';
import { listConsumers, listGroups, readHistory } from '@tributary/consumer-group';
import type { Producer } from '@tributary/producer';
import { type DeadLetter, listDeadLetters, listPending, pendingSummary, redrive } from '@tributary/recovery';
import type { ProcessingStats } from './processing.js';
import { ORDER_GROUP, type OrdersTopic } from './topic.js';

/** What the routes need. */
export interface OrdersApiContext {
  client: RedisClientType;
  topic: OrdersTopic;
  producer: Producer<OrdersTopic['types']>;
  /** This instance's consumer counters (GET /stats). */
  stats: () => ProcessingStats;
  /** This instance's name (in GET /stats). */
  instance: () => string;
}

const STREAM_ID = /^\d+(-\d+)?$/;
const bound = z.string().regex(/^\(?\d+(-\d+)?$/, 'expected a stream ID like 1718000000000-0').optional();

const historyQuery = z.strictObject({
  count: z.coerce.number().int().min(1).max(1000).default(50),
  start: bound,
  end: bound,
  order: z.enum(['asc', 'desc']).default('desc'),
});
const countQuery = z.strictObject({ count: z.coerce.number().int().min(1).max(1000).default(100) });
const dlqQuery = z.strictObject({
  count: z.coerce.number().int().min(1).max(1000).default(100),
  start: bound,
});
const redriveBody = z.strictObject({
  ids: z.array(z.string().regex(STREAM_ID)).min(1).max(10_000).optional(),
  reason: z.string().min(1).optional(),
  limit: z.number().int().positive().optional(),
  ratePerSecond: z.number().positive().max(100_000).optional(),
  dryRun: z.boolean().optional(),
});

/** Zod problems as `{ path, message }`, the same shape a topic's ValidationError reports. */
function problems(error: z.ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

function describeLetter<T extends TopicTypes>(letter: DeadLetter<T>) {
  return {
    deadLetterId: letter.deadLetterId,
    sourceId: letter.sourceId,
    reason: letter.reason,
    deliveries: letter.deliveries,
    error: letter.errorMessage === undefined ? undefined : `${letter.errorName ?? 'Error'}: ${letter.errorMessage}`,
    group: letter.group,
    consumer: letter.consumer,
    firstFailureTs: letter.firstFailureTs,
    lastFailureTs: letter.lastFailureTs,
    message: letter.message ? { id: letter.message.id, type: letter.message.type, data: letter.message.data } : undefined,
    fields: letter.message ? undefined : letter.fields,
  };
}

/** Builds the fastify app (not listening yet). */
export function buildOrdersApi(ctx: OrdersApiContext): FastifyInstance {
  const { client, topic, producer } = ctx;
  const app = Fastify({ logger: false });

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (isTributaryError(error) && (error as TributaryError).code === ErrorCode.InvalidArgument) {
      return reply.code(400).send({ error: error.message, field: (error as TributaryError).data['field'] });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.message });
    }
    console.error(`orders api: ${error.stack ?? error.message}`);
    return reply.code(500).send({ error: 'internal error' });
  });

  // The producer side. The topic's schema validates the body: publish() checks the payload
  // before anything is written, so a bad order gets a 400 with every reason and no entry.
  app.post('/orders', async (request, reply) => {
    const key = request.headers['idempotency-key'];
    try {
      const result = await producer.publish(
        { type: 'order.created', data: request.body as z.input<typeof topic.types['order.created']> },
        typeof key === 'string' && key.length > 0 ? { idempotencyKey: key } : undefined,
      );
      return reply.code(202).send(result);
    } catch (error) {
      if (error instanceof ValidationError) {
        return reply.code(400).send({ error: 'invalid order', issues: error.issues.map((i) => ({ path: i.path, message: i.message })) });
      }
      throw error;
    }
  });

  // Replay: read the stream's history (XRANGE / XREVRANGE), independent of any consumer group.
  app.get('/orders/history', async (request, reply) => {
    const query = historyQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send({ error: 'invalid query', issues: problems(query.error) });
    const { count, start, end, order } = query.data;
    const page = await readHistory(client, { topic, count, start: start ?? '-', end: end ?? '+', reverse: order === 'desc' });
    return {
      count: page.messages.length,
      messages: page.messages.map((m) => ({ streamId: m.streamId, id: m.id, ts: m.ts, type: m.type, data: m.data })),
      malformed: page.malformed.map((m) => ({ streamId: m.streamId, error: m.error.message })),
      // Pass as `start` (order=asc) or `end` (order=desc) for the next page.
      next: page.next,
    };
  });

  // Messages delivered to a consumer and not acked yet: being processed, or waiting for a retry.
  app.get('/orders/pending', async (request, reply) => {
    const query = countQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send({ error: 'invalid query', issues: problems(query.error) });
    const groups = await listGroups(client, topic);
    if (!groups.some((g) => g.name === ORDER_GROUP)) return { group: ORDER_GROUP, count: 0, consumers: [], entries: [] };
    const [summary, entries] = await Promise.all([
      pendingSummary(client, { topic, group: ORDER_GROUP }),
      listPending(client, { topic, group: ORDER_GROUP, count: query.data.count }),
    ]);
    return { group: ORDER_GROUP, ...summary, entries };
  });

  // Stream, groups (consumers, pending, lag) and the dead-letter stream's size.
  app.get('/stream/info', async () => {
    const [length, deadLetters, groups] = await Promise.all([
      client.xLen(topic.keys.stream),
      client.xLen(topic.keys.deadLetter),
      listGroups(client, topic),
    ]);
    return {
      stream: topic.keys.stream,
      length,
      groups: await Promise.all(groups.map(async (g) => ({
        name: g.name,
        pending: g.pending,
        lag: g.lag ?? null,
        lastDeliveredId: g.lastDeliveredId,
        consumers: await listConsumers(client, topic, g.name),
      }))),
      deadLetters: { stream: topic.keys.deadLetter, length: deadLetters },
    };
  });

  app.get('/dlq', async (request, reply) => {
    const query = dlqQuery.safeParse(request.query);
    if (!query.success) return reply.code(400).send({ error: 'invalid query', issues: problems(query.error) });
    const letters = await listDeadLetters(client, { topic, count: query.data.count, start: query.data.start ?? '-' });
    return { count: letters.length, total: await client.xLen(topic.keys.deadLetter), letters: letters.map(describeLetter) };
  });

  // Moves dead letters back to the stream (after a fix): by IDs, by reason, or all; dry run
  // reports what would move. The application message ID is kept, so consumers can dedupe.
  app.post('/dlq/redrive', async (request, reply) => {
    const body = redriveBody.safeParse(request.body ?? {});
    if (!body.success) return reply.code(400).send({ error: 'invalid body', issues: problems(body.error) });
    const { ids, reason, limit, ratePerSecond, dryRun } = body.data;
    return redrive(client, {
      topic,
      ...(ids ? { ids } : {}),
      ...(limit ? { limit } : {}),
      ...(ratePerSecond ? { ratePerSecond } : {}),
      filter: (letter) => reason === undefined || letter.reason === reason,
      dryRun: dryRun ?? false,
    });
  });

  // This instance's consumers: with two instances, each shows its share of the work.
  app.get('/stats', async () => ({ instance: ctx.instance(), ...ctx.stats() }));

  app.get('/health', async () => ({ ok: true }));
  return app;
}
