import type { TributaryError } from '@tributary/core';

/** Outcome of a successful publish. */
export interface PublishResult {
  /**
   * The stream entry ID Redis assigned (`<ms>-<seq>`). For a duplicate, the ID of the entry the
   * earlier publish with the same idempotency key wrote.
   */
  streamId: string;
  /**
   * The application message ID stored in the entry's `id` field. For a duplicate, the `id` of
   * the earlier entry (or this call's ID if that entry has been trimmed since).
   */
  id: string;
  /**
   * `true` when an earlier publish with the same `idempotencyKey` won within the key's TTL:
   * nothing was written by this call.
   */
  duplicate: boolean;
}

/**
 * Outcome of one message of `publishMany`, at the message's position in the input:
 * `ok: true` — appended (entries of one call keep the input order in the stream);
 * `ok: false` — not appended: invalid (`ERR_VALIDATION` / `ERR_INVALID_ARGUMENT`), or the batch
 * stopped at a server or connection failure. For the latter, `error.data.written` is `false`
 * (certainly not written) or `'unknown'` (the connection failed or timed out after the chunk
 * was sent: it may have been written).
 */
export type PublishManyResult =
  | ({ ok: true } & PublishResult)
  | { ok: false; error: TributaryError; index: number };
