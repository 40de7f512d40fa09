import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Message, MessageOf, Topic, TopicTypes, TypeName } from '@tributary/core';
import type { FailureHandler } from './failure-handler.js';
import type { GroupStartId } from './group-admin.js';
import type { HandlerContext } from './handler-context.js';

/** A handler for messages of type `K`. Resolve to ack; throw to leave the message pending. */
export type Handler<T extends TopicTypes, K extends TypeName<T>> = (
  message: Message<T, K>,
  context: HandlerContext,
) => unknown;

/** Handlers by type: each receives the payload typed from that type's schema. */
export type Handlers<T extends TopicTypes> = { [K in TypeName<T>]?: Handler<T, K> };

/** Handler for any type without its own handler. */
export type DefaultHandler<T extends TopicTypes> = (message: MessageOf<T>, context: HandlerContext) => unknown;

/** What to do when the group disappears (stream deleted, flushed, failover): see {@link WorkerOptions.onNoGroup}. */
export type NoGroupPolicy = 'recreate' | 'fail';

/** Options of `createWorker`. */
export interface WorkerOptions<T extends TopicTypes> {
  /** The topic to consume. */
  topic: Topic<T>;
  /** Consumer group name. */
  group: string;
  /**
   * This member's name. Keep it stable across restarts (e.g. pod name): a restarted worker
   * then resumes its own pending messages. Default: `<hostname>-<pid>-<random>`.
   */
  consumer?: string;
  /** Handlers by message type (own properties, read once by createWorker). Omit to consume with `for await` or `readable()` instead. */
  handlers?: Handlers<T>;
  /** Handler for types without their own handler. */
  defaultHandler?: DefaultHandler<T>;
  /** Messages handled at once. Also bounds prefetch: never more are fetched. Default 10. */
  concurrency?: number;
  /** Most entries per XREADGROUP. Default: `concurrency` (capped by free slots at each read). */
  batchSize?: number;
  /**
   * XREADGROUP BLOCK time in ms. stop() interrupts it. A read left unanswered for `blockMs` +
   * 10 s (a server that stopped answering, or a half-open connection) is failed with a
   * `worker-error` (Timeout); the worker then replaces its reader connection, resyncs its
   * pending list and reads on. Default 5000.
   */
  blockMs?: number;
  /** A handler running longer fails with kind `timeout` (its `context.signal` aborts). Default: no limit. */
  handlerTimeoutMs?: number;
  /** `'auto'` (default) acks when the handler resolves; `'manual'` only when it calls `context.ack()`. */
  ackMode?: 'auto' | 'manual';
  /** Most IDs per XACK. Default 500. */
  maxAckBatch?: number;
  /** Create the group at start if missing (idempotent). Default true. */
  createGroup?: boolean;
  /** Where a newly created group starts: `'$'` (default), `'0'` or an ID. */
  startId?: GroupStartId;
  /**
   * On NOGROUP while reading: `'recreate'` (default) creates the group again from
   * `recreateStartId` and emits `group-recreated`; `'fail'` stops the worker with the error.
   */
  onNoGroup?: NoGroupPolicy;
  /** Start ID when recreating a lost group. Default `'0'`: the new stream is read from its start, so nothing written after the loss is skipped. */
  recreateStartId?: GroupStartId;
  /**
   * Renew the lease of messages being handled every this many ms (XCLAIM to self with
   * JUSTID, only while this consumer still owns them), so a peer's reclaim never takes work
   * that is still running. Set it below the reclaimer's `claimIdleMs`/2. Default: off.
   */
  leaseRenewMs?: number;
  /** stop() waits this long for running handlers before giving up on them. Default 30000. */
  stopTimeoutMs?: number;
  /** Plug-in that handles failures (see `@tributary/recovery`). Default: leave failed messages pending. */
  failureHandler?: FailureHandler;
  /** Aborting it stops the worker gracefully. */
  signal?: AbortSignal;
}

const positiveInt = z.number().int().positive();

/** Zod schema of the worker options. Strict: a misspelt option is an error, not silently ignored. */
export const workerOptionsSchema = z.strictObject({
  topic: z.custom<Topic>((v) => typeof v === 'object' && v !== null && 'keys' in v && 'types' in v, { message: 'expected a topic from defineTopic()' }),
  group: z.string(),
  consumer: z.string().optional(),
  handlers: z.record(z.string(), z.function()).optional(),
  defaultHandler: z.function().optional(),
  concurrency: positiveInt.max(100_000).default(10),
  batchSize: positiveInt.max(100_000).optional(),
  blockMs: z.number().int().min(1).max(24 * 3600_000).default(5000),
  handlerTimeoutMs: positiveInt.optional(),
  ackMode: z.enum(['auto', 'manual']).default('auto'),
  maxAckBatch: positiveInt.max(100_000).default(500),
  createGroup: z.boolean().default(true),
  startId: z.string().default('$'),
  onNoGroup: z.enum(['recreate', 'fail']).default('recreate'),
  recreateStartId: z.string().default('0'),
  leaseRenewMs: positiveInt.optional(),
  stopTimeoutMs: z.number().int().nonnegative().default(30_000),
  failureHandler: z.custom<FailureHandler>((v) => typeof v === 'object' && v !== null && typeof (v as FailureHandler).onFailure === 'function', { message: 'expected an object with onFailure()' }).optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

/** A default consumer name unique to this process. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
