import { z } from 'zod';
import type { Message, MessageOf, Topic, TopicTypes, TributaryError, TypeName } from '@tributary/core';
import type { MalformedEntry } from './decode-entry.js';

/** What a checkpointed reader's handler gets besides the message. */
export interface CheckpointContext {
  /** The reader's name (its checkpoint is `topic.keys.checkpoint(name)`). */
  readonly name: string;
  /** Attempt number of this message in this process, from 1. Resets after a restart. */
  readonly attempt: number;
  /** Aborted when `stop()` gives up waiting for this handler: stop work when it fires. */
  readonly signal: AbortSignal;
}

/**
 * Handler of a checkpointed reader for messages of type `K`. Resolve to move the checkpoint
 * past the message; throw to have it retried (the checkpoint stays before it).
 */
export type CheckpointHandler<T extends TopicTypes, K extends TypeName<T>> = (
  message: Message<T, K>,
  context: CheckpointContext,
) => unknown;

/** Handlers by type: each receives the payload typed from that type's schema. */
export type CheckpointHandlers<T extends TopicTypes> = { [K in TypeName<T>]?: CheckpointHandler<T, K> };

/** Handler for any type without its own handler. */
export type CheckpointDefaultHandler<T extends TopicTypes> = (message: MessageOf<T>, context: CheckpointContext) => unknown;

/**
 * What a checkpointed reader does with a malformed entry (bad envelope, schema failure, or a
 * type with no handler): `'skip'` reports it (`malformed` event) and moves the checkpoint past
 * it; `'stop'` reports it and stops the reader with the checkpoint still before it.
 */
export type MalformedPolicy = 'skip' | 'stop';

/** Options of `createCheckpointReader`. */
export interface CheckpointReaderOptions<T extends TopicTypes> {
  /** The topic to read. */
  topic: Topic<T>;
  /**
   * The reader's name; its position is stored in `topic.keys.checkpoint(name)`. Run one
   * reader per name at a time: two would overwrite each other's position.
   */
  name: string;
  /** Handlers by message type. */
  handlers?: CheckpointHandlers<T>;
  /** Handler for types without their own handler. */
  defaultHandler?: CheckpointDefaultHandler<T>;
  /**
   * Where to start when the reader has no stored position yet: `'$'` (default) only messages
   * added after the first start, `'0'` the whole stream. The first start stores this position,
   * so later starts resume from the checkpoint whatever this says.
   */
  startId?: '0' | '$';
  /** Most entries per XREAD. Default 100. */
  batchSize?: number;
  /**
   * XREAD BLOCK time in ms; `stop()` interrupts it. A read unanswered for `blockMs` + 10 s is
   * failed (`reader-error`, Timeout), the reader connection is replaced (a silent or half-open
   * one would stay so), and the read tried again. Default 5000.
   */
  blockMs?: number;
  /** First pause before retrying a failed handler, doubled after each failure. Default 1000 ms. */
  retryDelayMs?: number;
  /** Longest pause between retries of a failed handler. Default 30 000 ms. */
  maxRetryDelayMs?: number;
  /** Malformed entries: `'skip'` (default) or `'stop'`; see {@link MalformedPolicy}. */
  onMalformed?: MalformedPolicy;
  /** `stop()` waits this long for a running handler before giving up on it. Default 30 000 ms. */
  stopTimeoutMs?: number;
  /** Aborting it stops the reader gracefully. */
  signal?: AbortSignal;
}

/** Counters of a checkpointed reader since it started. */
export interface CheckpointReaderStats {
  /** Messages whose handler succeeded. */
  readonly handled: number;
  /** Handler attempts that threw (each retry counts). */
  readonly failedAttempts: number;
  /** Malformed entries met. */
  readonly malformed: number;
}

/** Why a checkpointed reader stopped. */
export type CheckpointStopReason = 'requested' | 'malformed';

/**
 * Events of a checkpointed reader (`reader.on(name, listener)`). None is named `error`, so an
 * unhandled event never crashes the process: problems are reported and the reader carries on.
 */
export interface CheckpointReaderEvents<T extends TopicTypes = TopicTypes> {
  /** Reading started from `position` (the stored checkpoint, or the resolved `startId`). */
  started: [{ name: string; position: string }];
  /** The reader stopped; `position` is the last stored checkpoint. */
  stopped: [{ name: string; position: string | undefined; reason: CheckpointStopReason; stats: CheckpointReaderStats }];
  /** The checkpoint was stored: everything up to and including `position` is handled. */
  checkpoint: [{ name: string; position: string }];
  /** A handler threw; it is retried after `retryInMs` (unless the reader is stopping). */
  'message-error': [{ streamId: string; message: MessageOf<T>; error: unknown; attempt: number; retryInMs: number }];
  /** A malformed entry was met; `action` says whether it was skipped or stopped the reader. */
  malformed: [MalformedEntry & { action: 'skipped' | 'stopped' }];
  /** A read or checkpoint write failed; the reader retries (a read) or catches up later (a write). */
  'reader-error': [{ stage: 'read' | 'checkpoint'; error: TributaryError }];
}

const positiveInt = z.number().int().positive();

/** Zod schema of the plain (non-function) checkpointed reader options. */
export const checkpointReaderOptionsSchema = z.strictObject({
  topic: z.custom<Topic>((v) => typeof v === 'object' && v !== null && 'keys' in v && 'types' in v, { message: 'expected a topic from defineTopic()' }),
  name: z.string(),
  handlers: z.record(z.string(), z.function()).optional(),
  defaultHandler: z.function().optional(),
  startId: z.enum(['0', '$']).default('$'),
  batchSize: positiveInt.max(10_000).default(100),
  blockMs: z.number().int().min(1).max(24 * 3600_000).default(5000),
  retryDelayMs: z.number().int().nonnegative().max(3600_000).default(1000),
  maxRetryDelayMs: z.number().int().nonnegative().max(24 * 3600_000).default(30_000),
  onMalformed: z.enum(['skip', 'stop']).default('skip'),
  stopTimeoutMs: z.number().int().nonnegative().default(30_000),
  signal: z.instanceof(AbortSignal).optional(),
});
