import {
  decodeMessage,
  isTributaryError,
  type MessageOf,
  type Topic,
  type TopicTypes,
  type TributaryError,
  toTributaryError,
} from '@tributary/core';
import { DeadLetterField, type DeadLetterReasonValue } from './dead-letter-field.js';
import type { MoveResult } from './dead-letter-script.js';

/** A dead-letter entry, parsed: the original message plus why and where it failed. */
export interface DeadLetter<T extends TopicTypes = TopicTypes> {
  /** ID of the entry in the dead-letter stream `{topic}:dlq` (also when it was moved there). */
  readonly deadLetterId: string;
  /** The message's stream ID in the source stream. */
  readonly sourceId: string;
  /** Source stream key, e.g. `{orders}`. */
  readonly source: string;
  /** Group and consumer that gave up on it. */
  readonly group: string;
  readonly consumer: string;
  /** The server's delivery counter at the move (`0` when unknown). */
  readonly deliveries: number;
  /** Why: a {@link DeadLetterReason} value. */
  readonly reason: DeadLetterReasonValue | (string & {});
  /** Name and (truncated) message of the last error, when there was one. */
  readonly errorName?: string;
  readonly errorMessage?: string;
  /** First and last failure times (ms, server clock). */
  readonly firstFailureTs?: number;
  readonly lastFailureTs?: number;
  /** The original fields (`type`, `data`, `id`, `ts`, `h:*`), without the `dlq:*` metadata. */
  readonly fields: Readonly<Record<string, string>>;
  /** The original message, decoded and validated, when that works. */
  readonly message?: MessageOf<T>;
  /** Why `message` is missing: the decode or validation error. */
  readonly decodeError?: TributaryError;
}

/** Splits a dead-letter entry's flat fields into original fields and metadata, and decodes it. */
export function parseDeadLetter<T extends TopicTypes>(topic: Topic<T>, deadLetterId: string, flat: readonly string[]): DeadLetter<T> {
  const original: [string, string][] = [];
  const meta = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = String(flat[i]);
    const value = String(flat[i + 1]);
    // Metadata comes last, so a stray `dlq:` field of the original message is overridden by it.
    if (name.startsWith(DeadLetterField.Prefix)) meta.set(name, value);
    else original.push([name, value]);
  }
  const sourceId = meta.get(DeadLetterField.SourceId) ?? '';
  const numberOf = (field: string) => {
    const text = meta.get(field);
    return text === undefined || text === '' || !Number.isFinite(Number(text)) ? undefined : Number(text);
  };
  let message: MessageOf<T> | undefined;
  let decodeError: TributaryError | undefined;
  try {
    message = decodeMessage(topic, sourceId || deadLetterId, original.length > 0 ? original.flat() : null);
  } catch (error) {
    decodeError = isTributaryError(error) ? error : toTributaryError(error, `decode dead letter ${deadLetterId}`);
  }
  const errorName = meta.get(DeadLetterField.ErrorName);
  const errorMessage = meta.get(DeadLetterField.ErrorMessage);
  const firstFailureTs = numberOf(DeadLetterField.FirstFailureTs);
  const lastFailureTs = numberOf(DeadLetterField.LastFailureTs);
  return {
    deadLetterId,
    sourceId,
    source: meta.get(DeadLetterField.Source) ?? topic.keys.stream,
    group: meta.get(DeadLetterField.Group) ?? '',
    consumer: meta.get(DeadLetterField.Consumer) ?? '',
    deliveries: numberOf(DeadLetterField.Deliveries) ?? 0,
    reason: meta.get(DeadLetterField.Reason) ?? '',
    ...(errorName !== undefined ? { errorName } : {}),
    ...(errorMessage !== undefined ? { errorMessage } : {}),
    ...(firstFailureTs !== undefined ? { firstFailureTs } : {}),
    ...(lastFailureTs !== undefined ? { lastFailureTs } : {}),
    fields: Object.fromEntries(original),
    ...(message !== undefined ? { message } : {}),
    ...(decodeError !== undefined ? { decodeError } : {}),
  };
}

/** Builds the {@link DeadLetter} a move wrote, without reading it back. */
export function letterFromMove<T extends TopicTypes>(
  topic: Topic<T>,
  moved: MoveResult,
  meta: { group: string; consumer: string; streamId: string; deliveries: number; reason: string; errorName?: string | undefined; errorMessage?: string | undefined },
): DeadLetter<T> {
  const flat = [
    ...moved.fields,
    DeadLetterField.Source, topic.keys.stream,
    DeadLetterField.SourceId, meta.streamId,
    DeadLetterField.Group, meta.group,
    DeadLetterField.Consumer, meta.consumer,
    DeadLetterField.Deliveries, String(meta.deliveries),
    DeadLetterField.Reason, meta.reason,
    ...(meta.errorName ? [DeadLetterField.ErrorName, meta.errorName] : []),
    ...(meta.errorMessage ? [DeadLetterField.ErrorMessage, meta.errorMessage] : []),
    DeadLetterField.FirstFailureTs, String(moved.firstFailureTs),
    DeadLetterField.LastFailureTs, String(moved.lastFailureTs),
  ];
  return parseDeadLetter(topic, moved.deadLetterId, flat);
}
