import { ClosedError, ErrorCode, TimeoutError, TributaryError, toTributaryError } from '@tributary/core';
import { ClientClosedError, ErrorReply, TimeoutError as CommandTimeoutError } from 'redis';
import type { BatchFailure } from './batch-script.js';

/**
 * What a failed write did to the stream: `false` when nothing was written (Redis answered with
 * an error, or the command never left the client), `'unknown'` when the connection failed or the
 * command timed out after it may have reached the server.
 */
export type WrittenState = false | 'unknown';

/**
 * XADD with NOMKSTREAM answers nil when the stream is missing. Reported with code `ERR_REDIS`
 * (no dedicated code exists) and `data.reason: 'stream-missing'` to match on.
 */
export function streamMissingError(stream: string, context: string): TributaryError {
  return new TributaryError(
    ErrorCode.Redis,
    `${context}: stream ${stream} does not exist and NOMKSTREAM is set; nothing was written`,
    { data: { stream, reason: 'stream-missing', written: false } },
  );
}

/** Rejection of every call on a closed producer. */
export function producerClosedError(topic: string): ClosedError {
  return new ClosedError(`producer of topic "${topic}" is closed`, { data: { topic } });
}

/** Did `error` happen before the command could have changed anything on the server? */
export function writtenStateOf(error: unknown): WrittenState {
  // An error reply means Redis refused the command (scripts here catch failures of the writes
  // they make, so a reply error comes before the first write); a closed client never sent it.
  return error instanceof ErrorReply || error instanceof ClientClosedError || error instanceof TributaryError ? false : 'unknown';
}

/**
 * Types a failed publish and records what it did in `data.written` (see {@link WrittenState})
 * and the stream in `data.stream`. Server replies go through core's `toTributaryError`;
 * node-redis's command timeout (an error without a message) becomes a `TimeoutError`
 * (`ERR_TIMEOUT`) that says the outcome is unknown.
 */
export function publishError(error: unknown, context: string, stream: string): TributaryError {
  if (error instanceof CommandTimeoutError) {
    return new TimeoutError(`${context}: no reply within the command timeout; it may have been written`, {
      cause: error,
      data: { stream, written: 'unknown' },
    });
  }
  const typed = toTributaryError(error, context);
  // A fresh error (not one passed through) owns its data object: safe to complete it.
  if (typed !== error) Object.assign(typed.data as Record<string, unknown>, { stream, written: writtenStateOf(error) });
  return typed;
}

/**
 * Types why a batch script call stopped (see `BatchFailure`): the same error a lone XADD would
 * have got for that reply, with `data.written` `false` for the unwritten entries, or `'unknown'`
 * when the call was lost after it was sent.
 */
export function batchFailureError(failure: BatchFailure, stream: string, context: string): TributaryError {
  return failure === 'stream-missing' ? streamMissingError(stream, context) : publishError(failure.error, context, stream);
}
