import {
  asCommander,
  type Commander,
  parseOptions,
  type RedisClientLike,
  type Retention,
  retentionSchema,
  type Topic,
  toTributaryError,
  validateName,
} from '@tributary/core';
import { z } from 'zod';
import { DEAD_LETTER_REASONS, type DeadLetterReasonValue } from './dead-letter-field.js';
import { moveToDeadLetter } from './dead-letter-script.js';
import { describeError } from './describe-error.js';
import { topicSchema } from './option-schemas.js';

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
    fallbackFields: o.fields === undefined ? undefined : Array.isArray(o.fields) ? [...(o.fields as readonly string[])] : Object.entries(o.fields).flat(),
    retention: o.retention ?? DEFAULT_DEAD_LETTER_RETENTION,
  });
  return moved ? { moved: true, deadLetterId: moved.deadLetterId } : { moved: false };
}
