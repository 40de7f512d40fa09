import { randomUUID } from 'node:crypto';
import { encodePayload } from './codec.js';
import { InvalidArgumentError, ValidationError } from './errors.js';
import { toValidationIssues } from './options.js';
import type { PayloadInputOf, PayloadOf, Topic, TopicTypes, TypeName } from './topic.js';

/** Stream field names of the wire format. Other languages read and write the same fields. */
export const Field = {
  /** Event type, used for routing. */
  Type: 'type',
  /** Payload, encoded by the topic's codec (JSON by default). */
  Data: 'data',
  /** Application message ID (UUID by default). Stream IDs can repeat after a failover: dedupe on this. */
  Id: 'id',
  /** Produced-at time, milliseconds since the epoch, decimal. */
  Ts: 'ts',
  /** Prefix of header fields: header `traceparent` is stored as field `h:traceparent`. */
  HeaderPrefix: 'h:',
} as const;

/** Message headers: string keys and values (e.g. `traceparent`). */
export type Headers = Record<string, string>;

/** What a producer publishes: a type, its payload, and optional metadata. */
export type OutgoingMessage<T extends TopicTypes, K extends TypeName<T> = TypeName<T>> = {
  [P in K]: {
    /** Event type; one of the topic's declared types. */
    type: P;
    /** Payload, checked against the type's schema before anything is written. */
    data: PayloadInputOf<T, P>;
    /** Application message ID. Default: a random UUID. */
    id?: string;
    /** Produced-at time in ms. Default: `Date.now()`. */
    ts?: number;
    /** Headers, stored as `h:<name>` fields. */
    headers?: Headers;
  };
}[K];

/** A decoded, validated message of type `K`, as handlers receive it. */
export interface Message<T extends TopicTypes = TopicTypes, K extends TypeName<T> = TypeName<T>> {
  /** The stream entry ID (`<ms>-<seq>`), assigned by Redis. */
  readonly streamId: string;
  /** Event type. */
  readonly type: K;
  /** Payload, parsed by the type's schema. */
  readonly data: PayloadOf<T, K>;
  /** Application message ID. */
  readonly id: string;
  /** Produced-at time in ms. */
  readonly ts: number;
  /** Headers. */
  readonly headers: Readonly<Headers>;
}

/** Any message of a topic, as a union discriminated by `type`. */
export type MessageOf<T extends TopicTypes> = { [K in TypeName<T>]: Message<T, K> }[TypeName<T>];

/** A stream entry's fields without schema checks: what a DLQ inspector or a raw reader sees. */
export interface RawEntry {
  /** The stream entry ID. */
  readonly streamId: string;
  /** Every field as stored, in order (`null` when the entry was deleted while pending). */
  readonly fields: Readonly<Record<string, string>> | null;
}

/**
 * Encodes a message into XADD field/value pairs, flat: `['type', t, 'data', d, 'id', id, 'ts', ts, 'h:k', v…]`.
 * The payload is validated against its type's schema first, so an invalid message writes nothing.
 *
 * @throws ValidationError when the payload fails its schema
 * @throws InvalidArgumentError for an undeclared type, a bad header name or an unencodable payload
 */
export function encodeMessage<T extends TopicTypes>(topic: Topic<T>, message: OutgoingMessage<T>, now = Date.now()): string[] {
  const { type } = message;
  if (typeof type !== 'string' || !topic.hasType(type)) {
    throw new InvalidArgumentError('type', `topic "${topic.name}" has no type ${JSON.stringify(type)} (declared: ${topic.typeNames.join(', ')})`);
  }
  const result = topic.types[type]!.safeParse(message.data);
  if (!result.success) {
    throw new ValidationError(
      `payload of "${type}" does not match its schema: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      toValidationIssues(result.error.issues),
      { data: { type } },
    );
  }
  // The wire carries the payload as given (the schema's input); consumers parse it again, so
  // transforms and defaults run exactly once, on the consuming side.
  const id = message.id ?? randomUUID();
  if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('id', 'must be a non-empty string');
  const ts = message.ts ?? now;
  if (!Number.isSafeInteger(ts) || ts < 0) throw new InvalidArgumentError('ts', 'must be a non-negative integer (ms)');
  const fields = [Field.Type, type, Field.Data, encodePayload(topic.codec, message.data), Field.Id, id, Field.Ts, String(ts)];
  if (message.headers) {
    for (const name of Object.keys(message.headers)) {
      const value = message.headers[name];
      if (name.length === 0 || /\s/.test(name)) throw new InvalidArgumentError(`headers.${name}`, 'header names must be non-empty without whitespace');
      if (typeof value !== 'string') throw new InvalidArgumentError(`headers.${name}`, 'header values must be strings');
      fields.push(Field.HeaderPrefix + name, value);
    }
  }
  return fields;
}

/**
 * Turns a RESP field list (`[f1, v1, f2, v2…]`) into an object. Later duplicates win, as in
 * `HGETALL`-style readers. Returns `null` for a deleted entry.
 */
export function fieldsToRecord(fields: readonly string[] | null | undefined): Record<string, string> | null {
  if (!fields) return null;
  const entries: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) entries.push([fields[i]!, fields[i + 1]!]);
  // fromEntries defines own properties: a field named `__proto__` is kept, not swallowed by
  // the prototype setter an assignment would hit.
  return Object.fromEntries(entries);
}
