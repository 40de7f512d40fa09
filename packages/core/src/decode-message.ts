import type { z } from 'zod';
import { decodePayload } from './codec.js';
import { Field, type Headers, type MessageOf } from './envelope.js';
import { DecodeError, DecodeFailure, ValidationError } from './errors.js';
import { toValidationIssues } from './options.js';
import type { Topic, TopicTypes } from './topic.js';

/** Shared by every message without headers (messages are read-only). */
const NO_HEADERS: Readonly<Headers> = Object.freeze({});

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
  if (fields === null || fields === undefined) throw deletedError(streamId);
  // Entries written by a Tributary producer hold exactly type, data, id, ts in that order:
  // read them by position. Anything else (headers, other writers, objects) takes the loop.
  if (Array.isArray(fields) && fields.length === 8 && fields[0] === Field.Type && fields[2] === Field.Data
    && fields[4] === Field.Id && fields[6] === Field.Ts && typeof fields[1] === 'string' && typeof fields[3] === 'string'
    && typeof fields[5] === 'string' && typeof fields[7] === 'string') {
    return toMessage(topic, streamId, fields[1] as string, fields[3] as string, fields[5] as string, decimalText(fields[7] as string), undefined);
  }
  let type: string | undefined;
  let data: string | undefined;
  let id: string | undefined;
  let ts: number | undefined;
  let headers: [string, string][] | undefined;
  const list: readonly unknown[] = Array.isArray(fields) ? fields : Object.entries(fields).flat();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const rawName = list[i];
    const rawValue = list[i + 1];
    const name = typeof rawName === 'string' ? rawName : String(rawName);
    const value = typeof rawValue === 'string' ? rawValue : String(rawValue);
    switch (name) {
      case Field.Type: type = value; break;
      case Field.Data: data = value; break;
      case Field.Id: id = value; break;
      case Field.Ts: ts = decimalText(value); break;
      default:
        if (name.startsWith(Field.HeaderPrefix)) (headers ??= []).push([name.slice(Field.HeaderPrefix.length), value]);
    }
  }
  return toMessage(topic, streamId, type, data, id, ts, headers);
}

/** Field names as bytes: Buffer replies are matched without decoding them. */
const TYPE_BYTES = Buffer.from(Field.Type);
const DATA_BYTES = Buffer.from(Field.Data);
const ID_BYTES = Buffer.from(Field.Id);
const TS_BYTES = Buffer.from(Field.Ts);
const ZERO = 0x30;

/**
 * Where {@link decodeMessageBytes} leaves an entry's text, so the caller can let go of the
 * Buffers: node-redis slices them from its socket reads, and one kept slice keeps a whole read
 * (up to 64 KiB) alive. One of the two is set on success.
 */
export interface EntryText {
  /** The payload text of an entry in Tributary's layout; {@link producerLayoutFields} rebuilds its fields. */
  dataText?: string | undefined;
  /** Every field as text, for an entry in any other layout. */
  fieldsText?: readonly string[] | undefined;
}

/**
 * {@link decodeMessage} for an entry read as bytes (node-redis reply mapping `BLOB_STRING:
 * Buffer`), the worker's hot path. Of an entry in Tributary's layout only the payload and the
 * message ID become strings: field names are compared as bytes, the type with the previous
 * entry's, the timestamp is read digit by digit. Each string node-redis would otherwise make
 * costs a native call (about 50 ns here), six per message. Any other layout is decoded as text.
 *
 * @param text - receives the entry's text (see {@link EntryText}), if given
 * @throws the same typed errors as {@link decodeMessage}
 */
export function decodeMessageBytes<T extends TopicTypes>(
  topic: Topic<T>,
  streamId: string,
  fields: readonly Buffer[] | null | undefined,
  text?: EntryText,
): MessageOf<T> {
  if (fields === null || fields === undefined) throw deletedError(streamId);
  // A ts with a leading zero takes the text path: String(ts) must give back the stored field.
  if (fields.length === 8 && sameBytes(fields[0]!, TYPE_BYTES) && sameBytes(fields[2]!, DATA_BYTES)
    && sameBytes(fields[4]!, ID_BYTES) && sameBytes(fields[6]!, TS_BYTES) && (fields[7]![0] !== ZERO || fields[7]!.length === 1)) {
    const data = fields[3]!.toString();
    if (text) text.dataText = data;
    return toMessage(topic, streamId, typeText(fields[1]!), data, fields[5]!.toString(), decimalBytes(fields[7]!), undefined);
  }
  const fieldsText = fields.map((field) => field.toString());
  if (text) text.fieldsText = fieldsText;
  return decodeMessage(topic, streamId, fieldsText);
}

/**
 * The fields of an entry that {@link decodeMessageBytes} read in Tributary's layout, rebuilt
 * from its message and payload text exactly as stored.
 */
export function producerLayoutFields(message: MessageOf<TopicTypes>, dataText: string): string[] {
  return [Field.Type, message.type, Field.Data, dataText, Field.Id, message.id, Field.Ts, String(message.ts)];
}

function deletedError(streamId: string): DecodeError {
  return new DecodeError(DecodeFailure.Deleted, `entry ${streamId} has no fields: it was deleted or trimmed while pending`, { data: { streamId } });
}

/** Byte equality, in JS: for names of a few bytes a loop beats a native call. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The last type name read as bytes (a copy: a slice would keep node-redis's whole read chunk alive). */
let lastTypeBytes = Buffer.alloc(0);
let lastTypeText = '';

/** The type name in `bytes`: a run of entries of one type decodes it once. */
function typeText(bytes: Buffer): string {
  if (lastTypeText !== '' && sameBytes(bytes, lastTypeBytes)) return lastTypeText;
  lastTypeText = bytes.toString();
  lastTypeBytes = Buffer.from(bytes);
  return lastTypeText;
}

/**
 * The value of a `ts` field made only of decimal digits; NaN for anything else (`Number()`
 * would read '' and ' ' as 0 and accept '0x10' or '1e3').
 */
function decimalText(text: string): number {
  if (text.length === 0) return Number.NaN;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return Number.NaN;
  }
  return Number(text);
}

/** {@link decimalText} on bytes. Digits beyond 2^53 lose precision, which the safe-integer check catches. */
function decimalBytes(bytes: Uint8Array): number {
  if (bytes.length === 0) return Number.NaN;
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c < 48 || c > 57) return Number.NaN;
    value = value * 10 + (c - 48);
  }
  return value;
}

/** The last type looked up, per process: consecutive entries of one type skip the lookups. */
let lastTopic: Topic | undefined;
let lastType = '';
let lastSchema: z.ZodType | undefined;

/**
 * The schema of `type` in `topic`, or undefined if the topic does not declare it. Type names
 * read from Redis are fresh strings: each keyed lookup would hash (and internalise) them
 * again, so a run of one type compares with the previous name instead.
 */
function schemaOf(topic: Topic, type: string): z.ZodType | undefined {
  if (topic === lastTopic && type === lastType) return lastSchema;
  if (!topic.hasType(type)) return undefined;
  lastTopic = topic;
  lastType = type;
  lastSchema = topic.types[type] as z.ZodType;
  return lastSchema;
}

/**
 * Checks the envelope's parts and builds the message. `ts`: the field's value (NaN when not
 * decimal), undefined when the entry has none.
 */
function toMessage<T extends TopicTypes>(
  topic: Topic<T>,
  streamId: string,
  type: string | undefined,
  data: string | undefined,
  id: string | undefined,
  ts: number | undefined,
  headers: [string, string][] | undefined,
): MessageOf<T> {
  if (type === undefined) throw new DecodeError(DecodeFailure.MissingType, `entry ${streamId} has no "type" field`, { data: { streamId } });
  const schema = schemaOf(topic, type);
  if (!schema) {
    throw new DecodeError(DecodeFailure.UnknownType, `entry ${streamId} has type ${JSON.stringify(type)}, which topic "${topic.name}" does not declare`, { data: { streamId, type } });
  }
  if (data === undefined) throw new DecodeError(DecodeFailure.MissingData, `entry ${streamId} has no "data" field`, { data: { streamId, type } });
  if (ts !== undefined && !Number.isSafeInteger(ts)) {
    throw new DecodeError(DecodeFailure.InvalidTimestamp, `entry ${streamId} has a non-numeric "ts" field`, { data: { streamId, type } });
  }
  let payload: unknown;
  try {
    payload = decodePayload(topic.codec, data);
  } catch (error) {
    // Same reason and cause, plus the entry's ID and type like every other decode failure.
    const failure = error as DecodeError;
    throw new DecodeError(failure.reason, `entry ${streamId}: ${failure.message}`, { cause: failure.cause, data: { streamId, type } });
  }
  let parsed: unknown;
  try {
    // parse, not safeParse: no result object per message; failures are the rare path.
    parsed = schema.parse(payload);
  } catch (error) {
    // A ZodError (checked by shape: the schema may come from another copy of zod). Anything
    // else, such as a refinement that throws, goes on as it is.
    const issues = (error as { issues?: z.core.$ZodIssue[] } | null)?.issues;
    if (!Array.isArray(issues)) throw error;
    throw new ValidationError(
      `entry ${streamId} of type "${type}" does not match its schema: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      toValidationIssues(issues),
      { data: { streamId, type } },
    );
  }
  return {
    streamId,
    type,
    data: parsed,
    // Entries from other tools may have no application ID: fall back to the stream ID so
    // every message still has one (it is unique within the stream).
    id: id ?? streamId,
    // Entries written by other tools may lack `ts`; the stream ID's millisecond part is the
    // time Redis appended it, which is the best stand-in.
    ts: ts ?? (Number(streamId.slice(0, streamId.indexOf('-'))) || 0),
    // fromEntries, not assignment: a header named `__proto__` stays an own property.
    headers: headers ? Object.fromEntries(headers) : NO_HEADERS,
  } as MessageOf<T>;
}
