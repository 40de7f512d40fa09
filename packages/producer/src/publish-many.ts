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
import { appendBatch, type BatchTarget, MAX_SCRIPT_FIELDS, tooManyHeaders } from './batch-script.js';
import { batchFailureError } from './producer-errors.js';
import type { PublishManyResult } from './publish-result.js';

interface Encoded {
  readonly index: number;
  readonly fields: string[];
  readonly id: string;
}

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

  const send = async (chunk: readonly Encoded[]): Promise<void> => {
    const { ids, failure } = await appendBatch(target, head, chunk.map((entry) => entry.fields));
    for (let k = 0; k < ids.length; k++) {
      const entry = chunk[k]!;
      results[entry.index] = { ok: true, streamId: ids[k]!, id: entry.id, duplicate: false };
    }
    if (failure === undefined) return;
    const first = chunk[ids.length]!.index;
    const last = chunk[chunk.length - 1]!.index;
    const context = failure !== 'stream-missing' && failure.inScript
      ? `publishMany ${target.stream} (message ${first} failed; it and the rest of its chunk, up to message ${last}, were not written)`
      : `publishMany ${target.stream} (messages ${first}..${last})`;
    const typed = batchFailureError(failure, target.stream, context);
    for (let k = ids.length; k < chunk.length; k++) {
      const { index } = chunk[k]!;
      results[index] = { ok: false, error: typed, index };
    }
    failed(typed);
  };

  let inFlight: Promise<void> | undefined;
  let next = 0;
  while (next < messages.length) {
    const chunk: Encoded[] = [];
    for (; next < messages.length && chunk.length < chunkSize; next++) {
      try {
        const fields = encodeOne(topic, messages[next]!, now);
        if (fields.length > MAX_SCRIPT_FIELDS) throw tooManyHeaders(fields.length);
        // encodeMessage puts the application ID at position 5: type, t, data, d, id, <id>.
        chunk.push({ index: next, fields, id: fields[5]! });
      } catch (error) {
        results[next] = { ok: false, error: toTyped(error, next), index: next };
      }
    }
    if (chunk.length === 0) continue;
    if (notSent) {
      for (const { index } of chunk) results[index] = { ok: false, error: notSent, index };
      continue;
    }
    const sending = send(chunk);
    if (inFlight) await inFlight;
    inFlight = sending;
    // Let node-redis write this chunk (it flushes on setImmediate) before encoding the next one.
    if (next < messages.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await inFlight;
  return results;
}
