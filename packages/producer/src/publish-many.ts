import {
  encodeMessage,
  InvalidArgumentError,
  isTributaryError,
  type OutgoingMessage,
  type Topic,
  type TopicTypes,
  TributaryError,
} from '@tributary/core';
import type { AppendMode } from './append-mode.js';
import { appendBatch, appIdOf, type BatchOutcome, type BatchTarget, MAX_SCRIPT_FIELDS, tooManyHeaders } from './batch-script.js';
import { batchFailureError } from './producer-errors.js';
import type { PublishManyResult } from './publish-result.js';

/** encodeMessage for one element of a batch; anything thrown becomes a typed error. */
function encodeOne<T extends TopicTypes>(topic: Topic<T>, message: OutgoingMessage<T>, now: number): string[] {
  if (typeof message !== 'object' || message === null) {
    throw new InvalidArgumentError('message', `expected a message object, got ${message === null ? 'null' : typeof message}`);
  }
  return encodeMessage(topic, message, now);
}

function toTyped(error: unknown, index: number): TributaryError {
  if (isTributaryError(error)) return error;
  return new InvalidArgumentError(`messages[${index}]`, error instanceof Error ? error.message : String(error), { cause: error });
}

/** One chunk's valid messages, encoded: their input positions and application IDs. */
interface Chunk {
  readonly indexes: number[];
  readonly ids: string[];
  /** The encoded fields; packed and dropped by {@link sendChunk}. */
  entries: string[][] | undefined;
}

/**
 * Validates and encodes messages from `from` on, up to `size` valid ones. Invalid messages get
 * their error in `results` at once. Returns the chunk and where the next one starts.
 */
function encodeChunk<T extends TopicTypes>(
  topic: Topic<T>,
  messages: readonly OutgoingMessage<T>[],
  from: number,
  size: number,
  now: number,
  results: PublishManyResult[],
): { chunk: Chunk; next: number } {
  const chunk: Chunk = { indexes: [], ids: [], entries: [] };
  const entries = chunk.entries!;
  let next = from;
  for (; next < messages.length && entries.length < size; next++) {
    try {
      const fields = encodeOne(topic, messages[next]!, now);
      if (fields.length > MAX_SCRIPT_FIELDS) throw tooManyHeaders(fields.length);
      entries.push(fields);
      chunk.indexes.push(next);
      chunk.ids.push(appIdOf(fields));
    } catch (error) {
      results[next] = { ok: false, error: toTyped(error, next), index: next };
    }
  }
  return { chunk, next };
}

/**
 * Sends an encoded chunk and drops its fields: they are packed by then (see appendBatch), and
 * the async caller must not hold them while it waits, or every scavenge until the reply copies
 * them. (A local of an async function stays reachable from its suspended frame.)
 */
function sendChunk(target: BatchTarget, head: readonly string[], chunk: Chunk): Promise<BatchOutcome> {
  const sent = appendBatch(target, head, chunk.entries!);
  chunk.entries = undefined;
  return sent;
}

/**
 * Publishes a batch. Messages are validated and encoded chunk by chunk, and chunk `k + 1` is sent
 * while Redis still runs chunk `k` (at most two in flight), so encoding overlaps the server's
 * work. After the first failed chunk nothing more is sent: the failed chunk's unwritten
 * messages get its error, the chunk already in flight behind it is reported as it happened, and
 * every later valid message gets a "not sent" error with `data.written: false`. Invalid
 * messages always get their own validation error.
 */
export async function publishBatch<T extends TopicTypes>(
  target: BatchTarget,
  topic: Topic<T>,
  messages: readonly OutgoingMessage<T>[],
  mode: AppendMode,
  chunkSize: number,
): Promise<PublishManyResult[]> {
  const now = Date.now();
  const results: PublishManyResult[] = new Array<PublishManyResult>(messages.length);
  const head = mode.scriptHead(now);
  let notSent: TributaryError | undefined;
  const failed = (error: TributaryError) => {
    if (notSent) return;
    notSent = new TributaryError(error.code, `not sent: an earlier chunk of the batch failed (${error.message})`, {
      cause: error,
      data: { stream: target.stream, written: false },
    });
  };

  // Settles one chunk's messages from its positions and IDs (its fields are gone by then).
  const settle = ({ indexes, ids: appIds }: Chunk, { ids, failure }: BatchOutcome): void => {
    for (let k = 0; k < ids.length; k++) {
      results[indexes[k]!] = { ok: true, streamId: ids[k]!, id: appIds[k]!, duplicate: false };
    }
    if (failure === undefined) return;
    const first = indexes[ids.length]!;
    const last = indexes[indexes.length - 1]!;
    const context = failure !== 'stream-missing' && failure.inScript
      ? `publishMany ${target.stream} (message ${first} failed; it and the rest of its chunk, up to message ${last}, were not written)`
      : `publishMany ${target.stream} (messages ${first}..${last})`;
    const typed = batchFailureError(failure, target.stream, context);
    for (let k = ids.length; k < indexes.length; k++) {
      const index = indexes[k]!;
      results[index] = { ok: false, error: typed, index };
    }
    failed(typed);
  };

  let inFlight: Promise<void> | undefined;
  let next = 0;
  while (next < messages.length) {
    const { chunk, next: after } = encodeChunk(topic, messages, next, chunkSize, now, results);
    next = after;
    if (chunk.indexes.length === 0) continue;
    if (notSent) {
      for (const index of chunk.indexes) results[index] = { ok: false, error: notSent, index };
      continue;
    }
    const sending = sendChunk(target, head, chunk).then((outcome) => settle(chunk, outcome));
    if (inFlight) await inFlight;
    inFlight = sending;
    // Let node-redis write this chunk (it flushes on setImmediate) before encoding the next one.
    if (next < messages.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await inFlight;
  return results;
}
