import { randomUUID } from 'node:crypto';
import { decodePayload, encodePayload } from './codec.js';
import { DecodeError, DecodeFailure, InvalidArgumentError, ValidationError } from './errors.js';
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

/** Shared by every message without headers (messages are read-only). */
const NO_HEADERS: Readonly<Headers> = Object.freeze({});

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

/**
 * Decodes a stream entry into a typed message, validating the payload with its schema.
 * Never crashes on junk: every failure is a typed error saying why.
 *
 * @param fields - the entry's fields as a flat RESP list or an object; `null` for a deleted entry
 * @throws DecodeError (`missing-type`, `unknown-type`, `missing-data`, `invalid-payload`,
 *   `invalid-timestamp`, `deleted`)
 * @throws ValidationError when the payload fails its type's schema
 */
export function decodeMessage<T extends TopicTypes>(
  topic: Topic<T>,
  streamId: string,
  fields: readonly string[] | Readonly<Record<string, string>> | null | undefined,
): MessageOf<T> {
  if (fields === null || fields === undefined) {
    throw new DecodeError(DecodeFailure.Deleted, `entry ${streamId} has no fields: it was deleted or trimmed while pending`, { data: { streamId } });
  }
  // Hot path (every consumed message): one plain loop over the flat RESP list, no closure,
  // no String() on values that already are strings. Objects are flattened first (rare path).
  const list: readonly unknown[] = Array.isArray(fields) ? fields : Object.entries(fields).flat();
  let type: string | undefined;
  let data: string | undefined;
  let id: string | undefined;
  let ts: string | undefined;
  let headers: [string, string][] | undefined;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const rawName = list[i];
    const rawValue = list[i + 1];
    const name = typeof rawName === 'string' ? rawName : String(rawName);
    const value = typeof rawValue === 'string' ? rawValue : String(rawValue);
    switch (name) {
      case Field.Type: type = value; break;
      case Field.Data: data = value; break;
      case Field.Id: id = value; break;
      case Field.Ts: ts = value; break;
      default:
        if (name.startsWith(Field.HeaderPrefix)) (headers ??= []).push([name.slice(Field.HeaderPrefix.length), value]);
    }
  }
  if (type === undefined) throw new DecodeError(DecodeFailure.MissingType, `entry ${streamId} has no "type" field`, { data: { streamId } });
  if (!topic.hasType(type)) {
    throw new DecodeError(DecodeFailure.UnknownType, `entry ${streamId} has type ${JSON.stringify(type)}, which topic "${topic.name}" does not declare`, { data: { streamId, type } });
  }
  if (data === undefined) throw new DecodeError(DecodeFailure.MissingData, `entry ${streamId} has no "data" field`, { data: { streamId, type } });
  let produced: number;
  if (ts !== undefined) {
    // Decimal digits only: Number() would read '' and ' ' as 0 and accept '0x10' or '1e3'.
    produced = /^[0-9]+$/.test(ts) ? Number(ts) : Number.NaN;
    if (!Number.isSafeInteger(produced)) {
      throw new DecodeError(DecodeFailure.InvalidTimestamp, `entry ${streamId} has a non-numeric "ts" field`, { data: { streamId, type } });
    }
  } else {
    // Entries written by other tools may lack `ts`; the stream ID's millisecond part is the
    // time Redis appended it, which is the best stand-in.
    produced = Number(streamId.slice(0, streamId.indexOf('-'))) || 0;
  }
  let payload: unknown;
  try {
    payload = decodePayload(topic.codec, data);
  } catch (error) {
    // Same reason and cause, plus the entry's ID and type like every other decode failure.
    const failure = error as DecodeError;
    throw new DecodeError(failure.reason, `entry ${streamId}: ${failure.message}`, { cause: failure.cause, data: { streamId, type } });
  }
  const result = topic.types[type]!.safeParse(payload);
  if (!result.success) {
    throw new ValidationError(
      `entry ${streamId} of type "${type}" does not match its schema: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      toValidationIssues(result.error.issues),
      { data: { streamId, type } },
    );
  }
  return {
    streamId,
    type,
    data: result.data,
    // Entries from other tools may have no application ID: fall back to the stream ID so
    // every message still has one (it is unique within the stream).
    id: id ?? streamId,
    ts: produced,
    // fromEntries, not assignment: a header named `__proto__` stays an own property.
    headers: headers ? Object.fromEntries(headers) : NO_HEADERS,
  } as MessageOf<T>;
}
