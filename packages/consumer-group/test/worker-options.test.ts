/**
 * Option validation at the public boundary: InvalidArgumentError naming the field, never a
 * ZodError. No Redis needed: validation happens before anything connects.
 */
import { createClient } from 'redis';
import { ClosedError, ErrorCode, InvalidArgumentError, isTributaryError } from '@tributary/core';
import { createWorker, type WorkerOptions } from '@tributary/consumer-group';
import { pingTopic } from './helpers/worker-harness.js';

const topic = pingTopic();
// Never connected: creating a worker must not touch the connection.
const client = createClient({ url: 'redis://127.0.0.1:1' });
const base = { topic, group: 'g', handlers: { ping: () => undefined } };

function creationError(options: Record<string, unknown>): unknown {
  try {
    createWorker(client, { ...base, ...options } as unknown as WorkerOptions<typeof topic.types>);
  } catch (error) {
    return error;
  }
  throw new Error(`createWorker accepted ${JSON.stringify(Object.keys(options))}`);
}

test.each([
  [{ concurrency: 0 }, 'WorkerOptions.concurrency'],
  [{ concurrency: -1 }, 'WorkerOptions.concurrency'],
  [{ concurrency: 1.5 }, 'WorkerOptions.concurrency'],
  [{ concurrency: '10' }, 'WorkerOptions.concurrency'],
  [{ batchSize: 0 }, 'WorkerOptions.batchSize'],
  [{ blockMs: 0 }, 'WorkerOptions.blockMs'],
  [{ handlerTimeoutMs: -5 }, 'WorkerOptions.handlerTimeoutMs'],
  [{ ackMode: 'sometimes' }, 'WorkerOptions.ackMode'],
  [{ maxAckBatch: 0 }, 'WorkerOptions.maxAckBatch'],
  [{ createGroup: 'yes' }, 'WorkerOptions.createGroup'],
  [{ onNoGroup: 'ignore' }, 'WorkerOptions.onNoGroup'],
  [{ leaseRenewMs: 0 }, 'WorkerOptions.leaseRenewMs'],
  [{ stopTimeoutMs: -1 }, 'WorkerOptions.stopTimeoutMs'],
  [{ handlers: { ping: 'not a function' } }, 'WorkerOptions.handlers.ping'],
  [{ defaultHandler: 42 }, 'WorkerOptions.defaultHandler'],
  [{ failureHandler: {} }, 'WorkerOptions.failureHandler'],
  [{ signal: 'abort' }, 'WorkerOptions.signal'],
  [{ topic: { name: 'x' } }, 'WorkerOptions.topic'],
  [{ group: 42 }, 'WorkerOptions.group'],
  [{ group: '' }, 'WorkerOptions.group'],
  [{ group: '{braces}' }, 'WorkerOptions.group'],
  [{ consumer: 'has space' }, 'WorkerOptions.consumer'],
  [{ concurency: 5 }, 'WorkerOptions.concurency'], // a typo is an error, not silently ignored
])('%j → InvalidArgumentError on %s', (options, field) => {
  const error = creationError(options);
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect(error).toMatchObject({ code: ErrorCode.InvalidArgument, field, data: { field } });
  expect((error as Error).name).toBe('InvalidArgumentError');
  expect((error as Error).name).not.toBe('ZodError');
  expect(isTributaryError(error)).toBe(true);
});

test('valid options are accepted without connecting', () => {
  const worker = createWorker(client, {
    ...base, consumer: 'c1', concurrency: 3, batchSize: 2, blockMs: 100, handlerTimeoutMs: 10, ackMode: 'manual',
    maxAckBatch: 5, createGroup: false, startId: '0', onNoGroup: 'fail', recreateStartId: '$', leaseRenewMs: 50,
    stopTimeoutMs: 0, defaultHandler: () => undefined, failureHandler: { onFailure: async () => 'pending' },
    signal: new AbortController().signal,
  });
  expect(worker.consumer).toBe('c1');
  expect(worker.group).toBe('g');
  expect(worker.topic).toBe(topic);
  expect(worker.running).toBe(false);
  expect(client.isOpen).toBe(false);
});

test('the default consumer name is unique per worker and a valid name', () => {
  const a = createWorker(client, base);
  const b = createWorker(client, base);
  expect(a.consumer).not.toBe(b.consumer);
  expect(a.consumer).toMatch(/^[^\s{}]+-\d+-[0-9a-f]{6}$/);
});

test('start() without handlers or defaultHandler rejects with InvalidArgumentError on handlers', async () => {
  const worker = createWorker(client, { topic, group: 'g' });
  await expect(worker.start()).rejects.toMatchObject({ code: ErrorCode.InvalidArgument, field: 'WorkerOptions.handlers' });
});

test('a stopped worker cannot start again', async () => {
  const worker = createWorker(client, base);
  await worker.stop();
  await expect(worker.start()).rejects.toBeInstanceOf(ClosedError);
});

test('an already aborted signal: the worker never starts', async () => {
  const controller = new AbortController();
  controller.abort();
  const worker = createWorker(client, { ...base, signal: controller.signal });
  await expect(worker.start()).rejects.toBeInstanceOf(ClosedError);
  expect(client.isOpen).toBe(false);
});

test('listener payloads are typed for the worker\'s own events; other names are plug-in events', () => {
  const worker = createWorker(client, base);
  const kinds: string[] = [];
  worker.on('failure', (f) => kinds.push(f.kind));
  worker.once('stopped', (stats) => kinds.push(String(stats.acked)));
  worker.on('worker-error', ({ stage }) => kinds.push(stage));
  worker.on('reclaimed', (payload) => kinds.push(String(payload)));
  // @ts-expect-error a failure has no `nope`
  worker.on('failure', (f) => kinds.push(f.nope));
  worker.emit('reclaimed', 3);
  expect(kinds).toEqual(['3']);
  expect(worker.listenerCount('failure')).toBe(2);
});
