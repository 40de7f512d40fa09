import { ClosedError, ErrorCode, TributaryError, toTributaryError } from '@tributary/core';
import { ClientClosedError, ErrorReply } from 'redis';

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
 * Types a failure of one chunk of a batch and records what it did: `data.written` (see
 * {@link WrittenState}) and `data.stream`. The code is the one `toTributaryError` picks.
 */
export function batchError(error: unknown, context: string, stream: string, written: WrittenState, detail: string): TributaryError {
  const typed = toTributaryError(error, context);
  return new TributaryError(typed.code, `${typed.message} (${detail})`, {
    cause: typed,
    data: { ...typed.data, stream, written },
  });
}
