/**
 * Routing by type, malformed entries, failing and slow handlers, manual acks.
 */
import { z } from 'zod';
import { type DecodeError, defineTopic, TimeoutError, ValidationError } from '@tributary/core';
import { FailureKind, type WorkerEvents } from '@tributary/consumer-group';
import { uniqueName, waitFor } from '@tributary/test-utils';
import { pendingCount, pendingEntries, pingTopic, pings, publish, publishRaw, sleep, Tally, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();

type Failure = WorkerEvents['failure'][0];

function ordersTopic() {
  return defineTopic({
    name: uniqueName('orders'),
    types: {
      'order.created': z.object({ orderId: z.string(), amount: z.number() }),
      'order.paid': z.object({ orderId: z.string() }),
      'order.shipped': z.object({ orderId: z.string(), carrier: z.string() }),
    },
  });
}

test('routes each message to the handler of its type, the rest to defaultHandler', async () => {
  const topic = ordersTopic();
  const got: string[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 1, blockMs: 500,
    handlers: {
      'order.created': (m) => { got.push(`created:${m.data.orderId}:${m.data.amount}`); },
      'order.paid': (m) => { got.push(`paid:${m.data.orderId}`); },
    },
    defaultHandler: (m) => { got.push(`default:${m.type}:${m.data.orderId}`); },
  });
  await worker.start();
  await publish(redis.client, topic, [
    { type: 'order.created', data: { orderId: 'o1', amount: 10 } },
    { type: 'order.shipped', data: { orderId: 'o1', carrier: 'ups' } },
    { type: 'order.paid', data: { orderId: 'o1' } },
    { type: 'order.created', data: { orderId: 'o2', amount: 20 } },
  ]);
  await waitFor(() => got.length === 4);
  expect(got).toEqual(['created:o1:10', 'default:order.shipped:o1', 'paid:o1', 'created:o2:20']);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 0);
});

test("a type named like an Object member ('valueOf', 'toString') without a handler is unhandled, not routed to the prototype", async () => {
  const topic = defineTopic({
    name: uniqueName('proto'),
    types: { valueOf: z.object({ n: z.number() }), toString: z.object({ n: z.number() }), 'order.x': z.object({ n: z.number() }) },
  });
  const failures: Failure[] = [];
  const handled: number[] = [];
  const worker = redis.worker({ topic, group: 'g', consumer: 'c1', blockMs: 500, handlers: { 'order.x': (m) => { handled.push(m.data.n); } } });
  worker.on('failure', (f) => failures.push(f));
  await worker.start();
  await publish(redis.client, topic, [
    { type: 'order.x', data: { n: 1 } },
    { type: 'valueOf', data: { n: 2 } },
    { type: 'toString', data: { n: 3 } },
    { type: 'order.x', data: { n: 4 } },
  ]);
  await waitFor(() => handled.length === 2 && failures.length === 2);
  expect(handled).toEqual([1, 4]);
  expect(failures.map((f) => [f.kind, f.message?.type])).toEqual([[FailureKind.UnhandledType, 'valueOf'], [FailureKind.UnhandledType, 'toString']]);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 2);
});

test('malformed entries and unhandled types are reported as failures, stay pending, and never stop the worker', async () => {
  const topic = ordersTopic();
  const failures: Failure[] = [];
  const handled: string[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500,
    handlers: { 'order.created': (m) => { handled.push(m.data.orderId); } },
  });
  worker.on('failure', (f) => failures.push(f));
  await worker.start();
  const good1 = await publish(redis.client, topic, [{ type: 'order.created', data: { orderId: 'a', amount: 1 } }]);
  const unhandled = await publish(redis.client, topic, [{ type: 'order.paid', data: { orderId: 'x' }, headers: { k: 'v' } }]);
  const badJson = await publishRaw(redis.client, topic, ['type', 'order.created', 'data', '{not json', 'id', 'm-bad-json', 'ts', '1']);
  const mismatch = await publishRaw(redis.client, topic, ['type', 'order.created', 'data', '{"orderId":42}', 'id', 'm-mismatch', 'ts', '1']);
  const noType = await publishRaw(redis.client, topic, ['data', '{"orderId":"a","amount":1}', 'id', 'm-no-type']);
  const undeclared = await publishRaw(redis.client, topic, ['type', 'order.refunded', 'data', '{}']);
  const good2 = await publish(redis.client, topic, [
    { type: 'order.created', data: { orderId: 'b', amount: 2 } },
    { type: 'order.created', data: { orderId: 'c', amount: 3 } },
  ]);
  await waitFor(() => handled.length === 3 && failures.length === 5);
  expect(handled).toEqual(['a', 'b', 'c']);
  expect(worker.running).toBe(true);

  const byId = new Map(failures.map((f) => [f.streamId, f]));
  expect(byId.get(unhandled[0]!)).toMatchObject({
    kind: FailureKind.UnhandledType, outcome: 'pending', group: 'g', consumer: 'c1', deliveries: 1,
    message: { type: 'order.paid', data: { orderId: 'x' }, headers: { k: 'v' } },
  });
  expect(byId.get(badJson)).toMatchObject({ kind: FailureKind.Decode, outcome: 'pending', message: undefined });
  expect((byId.get(badJson)!.error as DecodeError).reason).toBe('invalid-payload');
  expect(byId.get(mismatch)).toMatchObject({ kind: FailureKind.Validation, outcome: 'pending', message: undefined });
  expect(byId.get(mismatch)!.error).toBeInstanceOf(ValidationError);
  expect((byId.get(mismatch)!.error as ValidationError).issues[0]).toMatchObject({ path: 'orderId' });
  expect(byId.get(noType)).toMatchObject({ kind: FailureKind.Decode, outcome: 'pending' });
  expect((byId.get(noType)!.error as DecodeError).reason).toBe('missing-type');
  // A type the topic does not declare is a type nobody handles (it cannot be decoded either).
  expect(byId.get(undeclared)).toMatchObject({ kind: FailureKind.UnhandledType, outcome: 'pending', message: undefined });
  expect((byId.get(undeclared)!.error as DecodeError).reason).toBe('unknown-type');
  // The raw fields travel with the failure (for a dead-letter entry).
  expect(byId.get(badJson)!.fields).toEqual(['type', 'order.created', 'data', '{not json', 'id', 'm-bad-json', 'ts', '1']);

  // Not acked: every failed entry is still pending for this consumer; the good ones are acked.
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 5);
  const pending = (await pendingEntries(redis.commander, topic, 'g', 'c1')).map((p) => p.id);
  expect(pending).toEqual([unhandled[0], badJson, mismatch, noType, undeclared]);
  expect(pending).not.toContain(good1[0]);
  expect(pending).not.toContain(good2[0]);
  expect(worker.stats()).toMatchObject({ succeeded: 3, failed: 5, acked: 3 });
});

test('a handler that always throws does not stall the others (concurrency 5)', async () => {
  const topic = pingTopic();
  const done = new Tally();
  const failures: Failure[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', concurrency: 5, blockMs: 500,
    handlers: {
      ping: async (m) => {
        await sleep(1);
        if (m.data.n === 7) throw new Error('poison');
        done.add(m.data.n);
      },
    },
  });
  worker.on('failure', (f) => failures.push(f));
  await worker.start();
  const ids = await publish(redis.client, topic, pings(201));
  await waitFor(() => done.distinct === 200);
  expect(done.has(7)).toBe(false);
  expect(done.duplicates()).toEqual([]);
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({ kind: FailureKind.HandlerError, outcome: 'pending', streamId: ids[7], deliveries: 1 });
  expect((failures[0]!.error as Error).message).toBe('poison');
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 1);
  expect((await pendingEntries(redis.commander, topic, 'g'))[0]!.id).toBe(ids[7]);
});

test('a synchronous throw is a failure like a rejection', async () => {
  const topic = pingTopic();
  const failures: Failure[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500,
    handlers: { ping: (m) => { if (m.data.n === 0) throw new TypeError('sync'); } },
  });
  worker.on('failure', (f) => failures.push(f));
  await worker.start();
  await publish(redis.client, topic, pings(3));
  await waitFor(() => worker.stats().succeeded === 2 && failures.length === 1);
  expect(failures[0]!.error).toBeInstanceOf(TypeError);
  expect(failures[0]!.kind).toBe(FailureKind.HandlerError);
});

test('handlerTimeoutMs: a slow handler fails with kind "timeout", its signal aborts, the message stays pending', async () => {
  const topic = pingTopic();
  const failures: Failure[] = [];
  const signals: AbortSignal[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500, handlerTimeoutMs: 150,
    handlers: {
      ping: async (m, ctx) => {
        signals.push(ctx.signal);
        if (m.data.n === 0) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      },
    },
  });
  worker.on('failure', (f) => failures.push(f));
  await worker.start();
  const ids = await publish(redis.client, topic, pings(2));
  await waitFor(() => failures.length === 1 && worker.stats().succeeded === 1);
  expect(signals[0]!.aborted).toBe(true);
  expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
  expect(signals[1]!.aborted).toBe(false);
  expect(failures[0]).toMatchObject({ kind: FailureKind.Timeout, outcome: 'pending', streamId: ids[0] });
  expect(failures[0]!.error).toBeInstanceOf(TimeoutError);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 1);
  expect((await pendingEntries(redis.commander, topic, 'g'))[0]!.id).toBe(ids[0]);
});

test("ackMode 'manual': nothing is acked until ctx.ack(), which works after the handler returned", async () => {
  const topic = pingTopic();
  const contexts: { ack(): void }[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500, ackMode: 'manual',
    handlers: { ping: (_m, ctx) => { contexts.push(ctx); } },
  });
  await worker.start();
  await publish(redis.client, topic, pings(4));
  await waitFor(() => worker.stats().succeeded === 4);
  await sleep(50);
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(4);
  expect(worker.stats().acked).toBe(0);
  contexts[1]!.ack();
  contexts[3]!.ack();
  contexts[3]!.ack(); // idempotent
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 2);
  expect(worker.stats().acked).toBe(2);
  contexts[0]!.ack();
  contexts[2]!.ack();
  await worker.stop();
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});

test('ctx exposes group, consumer and the delivery count; ack() inside an auto-ack handler acks once', async () => {
  const topic = pingTopic();
  const seen: { group: string; consumer: string; deliveries: number }[] = [];
  const worker = redis.worker({
    topic, group: 'grp', consumer: 'me', blockMs: 500,
    handlers: { ping: (_m, ctx) => { seen.push({ group: ctx.group, consumer: ctx.consumer, deliveries: ctx.deliveries }); ctx.ack(); } },
  });
  await worker.start();
  await publish(redis.client, topic, pings(1));
  await waitFor(() => worker.stats().succeeded === 1);
  expect(seen).toEqual([{ group: 'grp', consumer: 'me', deliveries: 1 }]);
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'grp')) === 0);
  expect(worker.stats().acked).toBe(1);
});

test('ctx.retry() and ctx.deadLetter() without a failure handler report the request and leave the message pending', async () => {
  const topic = pingTopic();
  const failures: Failure[] = [];
  const worker = redis.worker({
    topic, group: 'g', consumer: 'c1', blockMs: 500,
    handlers: {
      ping: (m, ctx) => {
        if (m.data.n === 0) ctx.retry({ delayMs: 250 });
        if (m.data.n === 1) ctx.deadLetter('not for us');
      },
    },
  });
  worker.on('failure', (f) => failures.push(f));
  await worker.start();
  const ids = await publish(redis.client, topic, pings(3));
  await waitFor(() => failures.length === 2 && worker.stats().succeeded === 1);
  expect(failures.find((f) => f.streamId === ids[0])).toMatchObject({ kind: FailureKind.RetryRequested, delayMs: 250, outcome: 'pending' });
  expect(failures.find((f) => f.streamId === ids[1])).toMatchObject({ kind: FailureKind.DeadLetterRequested, reason: 'not for us', outcome: 'pending' });
  await waitFor(async () => (await pendingCount(redis.commander, topic, 'g')) === 2);
});
