import { defineTopic, ErrorCode, InvalidArgumentError, type RedisClientLike } from '@tributary/core';
import { createProducer, type ProducerOptions } from '@tributary/producer';
import { z } from 'zod';

// Option checks run before the client is touched, so a stand-in that fails every call suffices.
const client: RedisClientLike = {
  isOpen: true,
  connect: () => Promise.reject(new Error('unused')),
  close: () => Promise.reject(new Error('unused')),
  destroy: () => undefined,
  duplicate: () => client,
  on: () => client,
  sendCommand: () => Promise.reject(new Error('unused')),
};

const topic = defineTopic({ name: 'orders', types: { 'order.created': z.object({ orderId: z.string() }) } });

function fieldOf(options: unknown, target: unknown = client): string | undefined {
  try {
    createProducer(target as RedisClientLike, options as ProducerOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe(ErrorCode.InvalidArgument);
    return (error as InvalidArgumentError).field;
  }
  return undefined;
}

describe('createProducer options', () => {
  it.each([
    [{}, 'ProducerOptions.topic'],
    [{ topic: 'orders' }, 'ProducerOptions.topic'],
    [{ topic, retention: { maxLen: 0 } }, 'ProducerOptions.retention.maxLen'],
    // core's retention union reports a non-integer at the union, not at maxLen.
    [{ topic, retention: { maxLen: 1.5 } }, 'ProducerOptions.retention'],
    [{ topic, retention: { maxAgeMs: -1 } }, 'ProducerOptions.retention.maxAgeMs'],
    [{ topic, retention: 'forever' }, 'ProducerOptions.retention'],
    [{ topic, noMkStream: 'yes' }, 'ProducerOptions.noMkStream'],
    [{ topic, idempotencyTtlMs: 0 }, 'ProducerOptions.idempotencyTtlMs'],
    [{ topic, timeoutMs: -1 }, 'ProducerOptions.timeoutMs'],
    [{ topic, maxBatchSize: 0 }, 'ProducerOptions.maxBatchSize'],
    [{ topic, maxBatchSize: 2.5 }, 'ProducerOptions.maxBatchSize'],
    [{ topic, maxBatchSize: 10_001 }, 'ProducerOptions.maxBatchSize'],
    [{ topic, maxLen: 10 }, 'ProducerOptions.maxLen'],
  ])('rejects %j naming %s', (options, field) => {
    expect(fieldOf(options)).toBe(field);
  });

  it('rejects options that are not an object', () => {
    expect(fieldOf(undefined)).toBe('ProducerOptions');
  });

  it('rejects something that is not a client', () => {
    expect(fieldOf({ topic }, {})).toBe('client');
  });

  it('accepts every documented option', () => {
    const producer = createProducer(client, { topic, retention: { maxAgeMs: 60_000, exact: true }, noMkStream: true, idempotencyTtlMs: 1000, timeoutMs: 0, maxBatchSize: 1 });
    expect(producer.topic).toBe(topic);
  });
});
