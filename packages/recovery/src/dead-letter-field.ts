/**
 * Metadata fields of a dead-letter entry, written after the original message's fields. All
 * start with `dlq:` so the original fields stay untouched and a redrive can strip the rest.
 * Values are strings, as every stream field; times are ms since the epoch, decimal.
 */
export const DeadLetterField = {
  /** Prefix of every metadata field. */
  Prefix: 'dlq:',
  /** Source stream key, e.g. `{orders}`. */
  Source: 'dlq:source',
  /** Stream ID the message had in the source stream. */
  SourceId: 'dlq:source-id',
  /** Consumer group that gave up on it. */
  Group: 'dlq:group',
  /** Consumer that held it last. */
  Consumer: 'dlq:consumer',
  /** The server's delivery counter when it was moved (`0` when unknown, e.g. trimmed entries). */
  Deliveries: 'dlq:deliveries',
  /** Why: one of {@link DeadLetterReason}. */
  Reason: 'dlq:reason',
  /** Name of the last error (e.g. `TypeError`, `ValidationError`); absent when there was none. */
  ErrorName: 'dlq:error-name',
  /** Message of the last error, truncated to `maxErrorLength`; absent when there was none. */
  ErrorMessage: 'dlq:error-message',
  /** When the first failure was recorded (the move time if it failed only once). */
  FirstFailureTs: 'dlq:first-failure-ts',
  /** When the last failure happened (the move time). */
  LastFailureTs: 'dlq:last-failure-ts',
} as const;

/** Why a message was dead-lettered (`dlq:reason`). */
export const DeadLetterReason = {
  /** The entry could not be decoded (no `type`, bad payload, bad `ts`…). Never retried. */
  Decode: 'decode',
  /** The payload failed its type's schema. Never retried. */
  Validation: 'validation',
  /** No handler for its type and no default handler. Never retried. */
  UnhandledType: 'unhandled-type',
  /** The worker read it with no fields left: it was deleted or trimmed while pending. */
  Deleted: 'deleted',
  /** Its handler failed on the `maxDeliveries`-th delivery, or it was delivered more often than that without an outcome (crashes). */
  MaxDeliveries: 'max-deliveries',
  /** The handler asked for it (`ctx.deadLetter(reason)`); the reason is the error message. */
  Explicit: 'explicit',
  /** Reclaim found it pending with its data gone (MAXLEN/MINID trim or XDEL): a record of lost data. */
  Trimmed: 'trimmed',
} as const;

/** One of the {@link DeadLetterReason} values. */
export type DeadLetterReasonValue = (typeof DeadLetterReason)[keyof typeof DeadLetterReason];

/** All reasons, for validation. */
export const DEAD_LETTER_REASONS = Object.values(DeadLetterReason) as [DeadLetterReasonValue, ...DeadLetterReasonValue[]];
