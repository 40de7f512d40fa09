// Public API of @tributary/producer. Named exports only: this list is the contract.
export { createProducer } from './producer.js';
export type { Producer } from './producer.js';
export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  MAX_CHUNK_SIZE,
} from './producer-options.js';
export type { ProducerOptions, PublishOptions, PublishManyOptions, ProducerWritableOptions } from './producer-options.js';
export type { PublishResult, PublishManyResult } from './publish-result.js';
export type { WrittenState } from './producer-errors.js';
