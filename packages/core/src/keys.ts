import { InvalidArgumentError } from './errors.js';
import { validateName } from './names.js';

/** Longest accepted idempotency key. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 512;

/**
 * The Redis keys of one topic. Every key starts with the `{name}` hash tag, so all of a topic's
 * keys live in the same cluster slot and multi-key scripts (dead-lettering, idempotent publish)
 * work unchanged on Redis Cluster.
 */
export interface TopicKeys {
  /** The stream itself: `{name}`. */
  readonly stream: string;
  /** The dead-letter stream: `{name}:dlq`. */
  readonly deadLetter: string;
  /** The stored position of a group-less checkpointed reader: `{name}:checkpoint:<reader>`. */
  checkpoint(reader: string): string;
  /** The de-duplication marker of an idempotency key: `{name}:idem:<key>`. */
  idempotency(key: string): string;
}

/**
 * Builds the keys of a topic.
 * @throws InvalidArgumentError when `name` is not a valid name (see `validateName`)
 */
export function topicKeys(name: string): TopicKeys {
  validateName('topic.name', name);
  const stream = `{${name}}`;
  return {
    stream,
    deadLetter: `${stream}:dlq`,
    checkpoint: (reader) => `${stream}:checkpoint:${validateName('reader', reader)}`,
    // Idempotency keys come from applications (order numbers, request IDs): any non-empty
    // string is fine because it sits after the hash tag and cannot change the slot.
    idempotency: (key) => {
      if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
        throw new InvalidArgumentError('idempotencyKey', `must be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
      }
      return `${stream}:idem:${key}`;
    },
  };
}
