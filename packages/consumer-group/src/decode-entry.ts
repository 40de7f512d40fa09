import {
  DecodeError,
  DecodeFailure,
  decodeMessage,
  fieldsToRecord,
  isTributaryError,
  type MessageOf,
  type RawEntry,
  type StreamEntry,
  type Topic,
  type TopicTypes,
  type TributaryError,
} from '@tributary/core';

/**
 * A stream entry that could not be turned into a message (bad envelope, payload failing its
 * schema, no handler for its type), reported instead of thrown so one bad entry never stops a
 * reader. `fields` are the entry's fields as stored, for inspection.
 */
export interface MalformedEntry extends RawEntry {
  /** Why: a `DecodeError` (`error.reason` says which part) or a `ValidationError`. */
  readonly error: TributaryError;
}

/** Either a decoded message or the reason it could not be decoded. */
type DecodedEntry<T extends TopicTypes> =
  | { readonly message: MessageOf<T>; readonly malformed?: undefined }
  | { readonly message?: undefined; readonly malformed: MalformedEntry };

/** Decodes and validates one entry without throwing. */
export function decodeEntry<T extends TopicTypes>(topic: Topic<T>, entry: StreamEntry): DecodedEntry<T> {
  try {
    return { message: decodeMessage(topic, entry.id, entry.fields) };
  } catch (caught) {
    // decodeMessage only throws typed errors; a codec bug is still reported, never thrown.
    const error = isTributaryError(caught)
      ? caught
      : new DecodeError(DecodeFailure.InvalidPayload, `entry ${entry.id}: ${String(caught)}`, { cause: caught, data: { streamId: entry.id } });
    return { malformed: { streamId: entry.id, fields: fieldsToRecord(entry.fields), error } };
  }
}
