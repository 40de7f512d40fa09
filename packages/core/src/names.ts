import { InvalidArgumentError } from './errors.js';

/** Longest accepted topic, group or consumer name. Keys stay short and readable in redis-cli. */
export const MAX_NAME_LENGTH = 200;

/**
 * Checks a topic, group, consumer or checkpoint name and returns it.
 * Rejects empty names, names longer than {@link MAX_NAME_LENGTH}, braces (they would break the
 * `{topic}` hash tag that keeps a topic's keys in one cluster slot), whitespace and control
 * characters (unreadable in redis-cli and logs).
 *
 * @param field - the option's name, used in the error (e.g. `topic.name`)
 * @throws InvalidArgumentError naming `field`
 */
export function validateName(field: string, name: unknown): string {
  if (typeof name !== 'string') {
    throw new InvalidArgumentError(field, `expected a string, got ${name === null ? 'null' : typeof name}`);
  }
  if (name.length === 0) throw new InvalidArgumentError(field, 'must not be empty');
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(field, `must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[{}\s\u0000-\u001f\u007f]/.test(name)) {
    throw new InvalidArgumentError(field, `must not contain braces, whitespace or control characters: ${JSON.stringify(name)}`);
  }
  return name;
}
