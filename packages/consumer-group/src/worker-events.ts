import type { TributaryError } from '@tributary/core';
import type { FailedDelivery, FailureOutcome } from './failure-handler.js';

/** Counters of a worker since it started. */
export interface WorkerStats {
  /** Messages whose handler succeeded (and were acked or handed to manual ack). */
  readonly succeeded: number;
  /** Deliveries that failed (handler error, timeout, malformed…), whatever the outcome. */
  readonly failed: number;
  /** Failures a failure handler dead-lettered. */
  readonly deadLettered: number;
  /** IDs acked. */
  readonly acked: number;
  /** Messages being handled now. */
  readonly inFlight: number;
}

/** Where a worker-level problem happened. */
export type WorkerErrorStage = 'read' | 'ack' | 'failure-handler' | 'lease';

/**
 * Events of a worker (`worker.on(name, listener)`). None is named `error`, so an unhandled
 * event never crashes the process: problems are reported, the worker keeps running.
 * Plug-ins add their own (recovery: `reclaimed`, `lost`, `dead-lettered`).
 */
export interface WorkerEvents {
  /** Reading started. */
  started: [{ group: string; consumer: string }];
  /** stop() finished; final counters. */
  stopped: [WorkerStats];
  /** A delivery failed (handler error, timeout, malformed entry…) and what became of it. */
  failure: [FailedDelivery & { outcome: FailureOutcome }];
  /** A read, ack, lease or failure-handler problem; the worker retries or carries on. */
  'worker-error': [{ stage: WorkerErrorStage; error: unknown; streamIds?: readonly string[]; dropped?: boolean }];
  /** The group was missing (NOGROUP) and has been created again. */
  'group-recreated': [{ group: string; startId: string; error: TributaryError }];
  /** A message being handled is no longer owned by this consumer (a peer reclaimed it). */
  'lease-lost': [{ streamId: string; consumer: string }];
  /** stop() gave up waiting for these handlers; their messages stay pending. */
  'stop-timeout': [{ streamIds: readonly string[] }];
  /** Plug-in events. */
  [event: string]: unknown[];
}
