import {
  asCommander,
  type Commander,
  decodeMessage,
  isTributaryError,
  type MessageOf,
  parseOptions,
  type RedisClientLike,
  type Retention,
  retentionSchema,
  type Topic,
  type TopicTypes,
  type TributaryError,
  toTributaryError,
  validateName,
} from '@tributary/core';
import { z } from 'zod';
import { DEAD_LETTER_REASONS, DeadLetterField, type DeadLetterReasonValue } from './dead-letter-field.js';
import { moveToDeadLetter, type MoveResult } from './dead-letter-script.js';
import { describeError, flattenFields, topicSchema } from './shared.js';

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

/** Options of {@link deadLetter}. */
export interface DeadLetterOptions {
  /** The topic whose stream holds the entry. */
  topic: Topic;
  /** The group it is pending in. */
  group: string;
  /** Recorded as `dlq:consumer` (who gave up on it); ownership is not checked. */
  consumer: string;
  /** The entry's stream ID. */
  streamId: string;
  /**
   * Fields to record if the entry's data is no longer in the stream (flat pairs or an object).
   * When the entry still exists its stored fields are used, whatever is passed here.
   */
  fields?: readonly string[] | Readonly<Record<string, string>>;
  /** Why (`dlq:reason`). */
  reason: DeadLetterReasonValue;
  /** The error to record (`dlq:error-name`, `dlq:error-message`, truncated to `maxErrorLength`). */
  error?: unknown;
  /** The delivery counter to record. Default: the server's current counter for the entry. */
  deliveries?: number;
  /** The dead-letter stream's retention, applied on this XADD. Default `{ maxLen: 100000 }` (approximate). */
  retention?: Retention;
  /** Longest error message kept. Default 1000. */
  maxErrorLength?: number;
}

/** Default retention of the dead-letter stream. */
export const DEFAULT_DEAD_LETTER_RETENTION: Retention = Object.freeze({ maxLen: 100_000 });

const deadLetterOptionsSchema = z.strictObject({
  topic: topicSchema,
  group: z.string(),
  consumer: z.string(),
  streamId: z.string().regex(/^\d+-\d+$/, 'expected a stream ID like 1700000000000-0'),
  fields: z.union([z.array(z.string()).readonly(), z.record(z.string(), z.string())]).optional(),
  reason: z.enum(DEAD_LETTER_REASONS),
  error: z.unknown().optional(),
  deliveries: z.number().int().nonnegative().optional(),
  retention: retentionSchema.optional(),
  maxErrorLength: z.number().int().positive().optional(),
});

async function currentDeliveries(commander: Commander, topic: Topic, group: string, streamId: string): Promise<number> {
  const key = topic.keys.stream;
  try {
    const reply = await commander.send<unknown[]>(key, ['XPENDING', key, group, streamId, streamId, '1']);
    const item = reply?.[0] as unknown[] | undefined;
    return item ? Number(item[3]) : 0;
  } catch (error) {
    throw toTributaryError(error, `XPENDING ${key} ${group}`);
  }
}

/**
 * Moves one pending entry to the topic's dead-letter stream `{topic}:dlq`, atomically (one
 * Lua script over `{t}` and `{t}:dlq`, same cluster slot: XADD to the DLQ with the original
 * fields plus `dlq:*` metadata, and XACK of the source). Idempotent: if the entry is no longer
 * pending for the group (acked, or moved already) nothing is written and `moved` is false.
 *
 * Use it from tooling, e.g. to give up on a message stuck in a dead consumer's pending list;
 * workers with a recovery failure handler call the same script.
 * @throws InvalidArgumentError naming the bad option
 */
export async function deadLetter(
  connection: RedisClientLike | Commander,
  options: DeadLetterOptions,
): Promise<{ moved: boolean; deadLetterId?: string }> {
  const o = parseOptions(deadLetterOptionsSchema, options, 'DeadLetterOptions');
  validateName('DeadLetterOptions.group', o.group);
  validateName('DeadLetterOptions.consumer', o.consumer);
  const commander = asCommander(connection);
  const topic = options.topic;
  const deliveries = o.deliveries ?? (await currentDeliveries(commander, topic, o.group, o.streamId));
  const described = o.error === undefined ? undefined : describeError(o.error, o.maxErrorLength ?? 1000);
  const moved = await moveToDeadLetter(commander, {
    topic,
    group: o.group,
    consumer: o.consumer,
    streamId: o.streamId,
    reason: o.reason,
    deliveries,
    errorName: described?.name,
    errorMessage: described?.message,
    fallbackFields: o.fields === undefined ? undefined : flattenFields(o.fields),
    retention: o.retention ?? DEFAULT_DEAD_LETTER_RETENTION,
  });
  return moved ? { moved: true, deadLetterId: moved.deadLetterId } : { moved: false };
}
