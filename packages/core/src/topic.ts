import { z } from 'zod';
import { type Codec, jsonCodec } from './codec.js';
import { InvalidArgumentError } from './errors.js';
import { topicKeys, type TopicKeys } from './keys.js';
import { validateName } from './names.js';
import { parseOptions } from './options.js';
import { type Retention, retentionSchema } from './retention.js';

/** A topic's event types: each type name maps to the zod schema of its payload. */
export type TopicTypes = Record<string, z.ZodType>;

/** The type names of a topic. */
export type TypeName<T extends TopicTypes> = keyof T & string;

/** The payload a handler receives for type `K` (the schema's output). */
export type PayloadOf<T extends TopicTypes, K extends TypeName<T>> = z.output<T[K]>;

/** The payload a producer passes for type `K` (the schema's input). */
export type PayloadInputOf<T extends TopicTypes, K extends TypeName<T>> = z.input<T[K]>;

/** Options of {@link defineTopic}. */
export interface TopicOptions<T extends TopicTypes> {
  /** Topic name; the stream key is `{name}`. No braces or whitespace, at most 200 characters. */
  name: string;
  /** Event types and their payload schemas, e.g. `{ 'order.created': z.object({...}) }`. */
  types: T;
  /** Payload codec. Default: {@link jsonCodec}. */
  codec?: Codec;
  /** Default retention for publishes. Default: `{ maxLen: 1_000_000 }` (approximate). */
  retention?: Retention;
}

/** A defined topic: its name, keys, schemas, codec and default retention. Immutable. */
export interface Topic<T extends TopicTypes = TopicTypes> {
  readonly name: string;
  readonly keys: TopicKeys;
  readonly types: Readonly<T>;
  readonly typeNames: readonly TypeName<T>[];
  readonly codec: Codec;
  readonly retention: Retention;
  /** Does the topic declare this type? (Narrows `type`.) */
  hasType(type: string): type is TypeName<T>;
}

/** Default retention: about one million entries. Bounded by default so memory never grows forever. */
export const DEFAULT_RETENTION: Retention = { maxLen: 1_000_000 };

const codecSchema = z.custom<Codec>(
  (value) =>
    typeof value === 'object' && value !== null &&
    typeof (value as Codec).encode === 'function' && typeof (value as Codec).decode === 'function' &&
    typeof (value as Codec).name === 'string',
  { message: 'expected { name, encode(value), decode(text) }' },
);

const topicOptionsSchema = z.strictObject({
  name: z.string(),
  types: z.record(z.string(), z.custom<z.ZodType>((v) => v instanceof z.ZodType, { message: 'expected a zod schema' })),
  codec: codecSchema.optional(),
  retention: retentionSchema.optional(),
});

/**
 * Defines a topic. Types flow from the schemas: publishing or handling a payload that does
 * not match its type's schema is a compile error, and is also checked at run time.
 *
 * @example
 * const orders = defineTopic({
 *   name: 'orders',
 *   types: { 'order.created': z.object({ orderId: z.string(), amount: z.number() }) },
 * });
 * @throws InvalidArgumentError when the name, a type name or an option is invalid
 */
export function defineTopic<const T extends TopicTypes>(options: TopicOptions<T>): Topic<T> {
  const parsed = parseOptions(topicOptionsSchema, options, 'TopicOptions');
  const name = validateName('TopicOptions.name', parsed.name);
  const typeNames = Object.keys(options.types) as TypeName<T>[];
  if (typeNames.length === 0) {
    throw new InvalidArgumentError('TopicOptions.types', 'must declare at least one event type');
  }
  for (const type of typeNames) validateName(`TopicOptions.types["${type}"]`, type);
  const declared = new Set<string>(typeNames);
  return Object.freeze({
    name,
    keys: topicKeys(name),
    types: Object.freeze({ ...options.types }),
    typeNames: Object.freeze(typeNames),
    codec: options.codec ?? jsonCodec,
    retention: options.retention ?? DEFAULT_RETENTION,
    hasType: (type: string): type is TypeName<T> => declared.has(type),
  });
}
