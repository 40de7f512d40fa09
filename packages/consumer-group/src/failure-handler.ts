import type { Commander, MessageOf, StreamEntry, Topic, TopicTypes } from '@tributary/core';

/**
 * Why a delivery did not end in an ack. The first four come from the handler, the rest from
 * entries the worker could not turn into a handled message.
 */
export const FailureKind = {
  /** The handler threw or rejected. */
  HandlerError: 'handler-error',
  /** The handler ran past `handlerTimeoutMs`. */
  Timeout: 'timeout',
  /** The handler asked for a later retry (`ctx.retry({ delayMs })`). */
  RetryRequested: 'retry-requested',
  /** The handler asked to dead-letter the message now (`ctx.deadLetter(reason)`). */
  DeadLetterRequested: 'dead-letter-requested',
  /** The entry could not be decoded (no type, bad payload…). */
  Decode: 'decode',
  /** The payload failed its schema. */
  Validation: 'validation',
  /** A type the topic does not declare, or no handler for it and no default handler. */
  UnhandledType: 'unhandled-type',
  /** The entry was deleted or trimmed from the stream while pending (no fields left). */
  Deleted: 'deleted',
} as const;

/** One of the {@link FailureKind} values. */
export type FailureKindValue = (typeof FailureKind)[keyof typeof FailureKind];

/** A delivery that did not end in an ack, as handed to a {@link FailureHandler}. */
export interface FailedDelivery {
  /** The topic read. */
  readonly topic: Topic;
  /** The group and consumer that held the delivery. */
  readonly group: string;
  readonly consumer: string;
  /** Stream entry ID. */
  readonly streamId: string;
  /** Raw fields of the entry (`null` if it was deleted while pending). */
  readonly fields: readonly string[] | null;
  /** The decoded message, when the entry could be decoded. */
  readonly message: MessageOf<TopicTypes> | undefined;
  /** How many times the server has delivered it (its pending-list counter), this one included. */
  readonly deliveries: number;
  /** What went wrong. */
  readonly kind: FailureKindValue;
  /** The error thrown (or a typed decode/validation error); `undefined` for requested outcomes. */
  readonly error: unknown;
  /** For `retry-requested`: the delay asked for, in ms. For `dead-letter-requested`: undefined. */
  readonly delayMs?: number;
  /** For `dead-letter-requested`: the reason given. */
  readonly reason?: string;
}

/**
 * What a {@link FailureHandler} did with a delivery:
 * - `'pending'`: left in the pending list for a later retry (reclaim with backoff);
 * - `'dead-lettered'`: moved to the dead-letter stream and acked (atomically), the worker does
 *   nothing more with it.
 */
export type FailureOutcome = 'pending' | 'dead-lettered';

/** An entry claimed for this consumer by a recovery plug-in, to run through the worker. */
export interface ClaimedEntry extends StreamEntry {
  /** The server's delivery counter after the claim. */
  readonly deliveries: number;
}

/**
 * The worker as a plug-in sees it: enough to reclaim and re-dispatch messages, and nothing
 * about dead letters (the consumer knows nothing of them).
 */
export interface WorkerHandle {
  /** Shared connection of the worker (never blocked). */
  readonly commander: Commander;
  readonly topic: Topic;
  readonly group: string;
  readonly consumer: string;
  /** Free handler slots right now (concurrency minus messages being handled). */
  freeSlots(): number;
  /** True while the stream ID is being handled by this worker (do not reclaim it). */
  isInFlight(streamId: string): boolean;
  /** True once stop() was called. */
  isStopping(): boolean;
  /**
   * Runs entries already claimed for this consumer through decoding, routing and the
   * handlers, as if read. Entries beyond the free slots are left pending (they stay owned by
   * this consumer and will be claimed again). Resolves when they have been started.
   */
  dispatch(entries: readonly ClaimedEntry[]): Promise<void>;
  /** Emits an event on the worker (e.g. `lost`, `reclaimed`) so applications see it. */
  emit(event: string, payload: unknown): void;
}

/**
 * The interface through which `@tributary/recovery` plugs into a worker. Without one, failed
 * messages stay pending (and are reported through events); nothing is acked silently.
 */
export interface FailureHandler {
  /**
   * Decides what happens to a delivery that did not end in an ack. Called once per failure.
   * If it throws, the worker reports the error and leaves the message pending.
   */
  onFailure(delivery: FailedDelivery): Promise<FailureOutcome>;
  /**
   * Called when the worker starts; may start background work (reclaim loops). Returns a
   * function the worker awaits on stop, before its final ack flush.
   */
  attach?(worker: WorkerHandle): (() => Promise<void>) | void;
}
