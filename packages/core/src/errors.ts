/**
 * Stable error codes. Match on `error.code`, never on messages: codes are part of the public
 * API and only change in a major release.
 */
export const ErrorCode = {
  /** An option or argument failed validation; `data.field` names it. */
  InvalidArgument: 'ERR_INVALID_ARGUMENT',
  /** A stream entry could not be decoded into a message (missing field, unknown type, bad payload). */
  Decode: 'ERR_DECODE',
  /** A payload did not match its type's zod schema; `data.issues` lists why. */
  Validation: 'ERR_VALIDATION',
  /** The consumer group (or its stream) does not exist (Redis `NOGROUP`). */
  NoGroup: 'ERR_NOGROUP',
  /** The consumer group already exists (Redis `BUSYGROUP`). */
  BusyGroup: 'ERR_BUSYGROUP',
  /** Keys of one command fall in different cluster slots (Redis `CROSSSLOT`). */
  CrossSlot: 'ERR_CROSSSLOT',
  /** The server lacks a command or option this call needs (old Redis version). */
  Unsupported: 'ERR_UNSUPPORTED',
  /** A handler or operation exceeded its time limit. */
  Timeout: 'ERR_TIMEOUT',
  /** The object was closed or stopped and cannot be used any more. */
  Closed: 'ERR_CLOSED',
  /** Any other error reply from Redis; `cause` holds the original. */
  Redis: 'ERR_REDIS',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options shared by every Tributary error constructor. */
export interface TributaryErrorOptions {
  /** The underlying error, kept for debugging. */
  cause?: unknown;
  /** Structured details (field names, stream IDs…), safe to log. */
  data?: Record<string, unknown>;
}

/**
 * Base class of every error Tributary throws or reports. Check `code` (stable) rather than
 * `instanceof` when packages may be loaded twice (ESM and CommonJS copies).
 */
export class TributaryError extends Error {
  /** Stable machine-readable code, e.g. `ERR_DECODE`. */
  readonly code: ErrorCodeValue;
  /** Structured details about the failure. */
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCodeValue, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.data = options.data ?? {};
  }
}

/** An option or argument is invalid. `field` is the dotted path of the offending option. */
export class InvalidArgumentError extends TributaryError {
  /** Dotted path of the invalid option, e.g. `retention.maxLen`. */
  readonly field: string;
  constructor(field: string, message: string, options: TributaryErrorOptions = {}) {
    super(ErrorCode.InvalidArgument, `Invalid ${field}: ${message}`, {
      ...options,
      data: { field, ...options.data },
    });
    this.field = field;
  }
}

/** Why an entry could not be decoded; see {@link DecodeError}. */
export const DecodeFailure = {
  /** The entry has no `type` field. */
  MissingType: 'missing-type',
  /** The entry's `type` is not declared by the topic. */
  UnknownType: 'unknown-type',
  /** The entry has no `data` field. */
  MissingData: 'missing-data',
  /** The codec could not parse `data` (e.g. not JSON). */
  InvalidPayload: 'invalid-payload',
  /** The `ts` field is not a number. */
  InvalidTimestamp: 'invalid-timestamp',
  /** The entry has no fields at all (it was deleted or trimmed while pending). */
  Deleted: 'deleted',
} as const;

/** One of the {@link DecodeFailure} values. */
export type DecodeFailureValue = (typeof DecodeFailure)[keyof typeof DecodeFailure];

/** A stream entry could not be turned into a message. `reason` says why. */
export class DecodeError extends TributaryError {
  /** Machine-readable reason, one of {@link DecodeFailure}. */
  readonly reason: DecodeFailureValue;
  constructor(reason: DecodeFailureValue, message: string, options: TributaryErrorOptions = {}) {
    super(ErrorCode.Decode, message, { ...options, data: { reason, ...options.data } });
    this.reason = reason;
  }
}

/** One schema problem, flattened from zod so no zod type leaks into the public API. */
export interface ValidationIssue {
  /** Dotted path inside the payload, `''` for the root. */
  path: string;
  /** Human-readable description of the problem. */
  message: string;
  /** zod's issue code, e.g. `invalid_type`. */
  code: string;
}

/** A payload failed its type's schema. `issues` lists every problem. */
export class ValidationError extends TributaryError {
  /** Every schema problem found. */
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, issues: readonly ValidationIssue[], options: TributaryErrorOptions = {}) {
    super(ErrorCode.Validation, message, { ...options, data: { issues, ...options.data } });
    this.issues = issues;
  }
}

/** The consumer group or its stream is missing (Redis `NOGROUP`). */
export class NoGroupError extends TributaryError {
  constructor(message: string, options: TributaryErrorOptions = {}) {
    super(ErrorCode.NoGroup, message, options);
  }
}

/** The server cannot do what was asked (version too old). `data.needs` names the feature. */
export class UnsupportedError extends TributaryError {
  constructor(message: string, options: TributaryErrorOptions = {}) {
    super(ErrorCode.Unsupported, message, options);
  }
}

/** A handler or operation ran past its time limit. */
export class TimeoutError extends TributaryError {
  constructor(message: string, options: TributaryErrorOptions = {}) {
    super(ErrorCode.Timeout, message, options);
  }
}

/** The object is closed or stopping. */
export class ClosedError extends TributaryError {
  constructor(message: string, options: TributaryErrorOptions = {}) {
    super(ErrorCode.Closed, message, options);
  }
}

/** Is `value` a Tributary error (any package, any module format)? */
export function isTributaryError(value: unknown): value is TributaryError {
  if (value instanceof TributaryError) return true;
  // A copy of this class from the other module format (ESM vs CommonJS) fails instanceof.
  const code = (value as { code?: unknown } | null)?.code;
  return value instanceof Error && typeof code === 'string' && code.startsWith('ERR_') && 'data' in value;
}
