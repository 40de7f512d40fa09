// Public API of @tributary/consumer-group. Named exports only: this list is the contract.

// Workers
export { createWorker, Worker } from './worker.js';
export type { WorkerOptions, Handler, Handlers, DefaultHandler, NoGroupPolicy } from './worker-options.js';
export type { WorkerEvents, WorkerErrorStage, WorkerStats } from './worker-events.js';
export type { HandlerContext } from './handler-context.js';
export type { ReceivedMessage } from './worker-iteration.js';
export { renewLeases } from './lease.js';

// Failure-handling interface (implemented by @tributary/recovery)
export { FailureKind } from './failure-handler.js';
export type {
  FailureKindValue,
  FailedDelivery,
  FailureOutcome,
  FailureHandler,
  WorkerHandle,
  ClaimedEntry,
} from './failure-handler.js';

// Group lifecycle
export { ensureGroup, listGroups, getGroupInfo, listConsumers, destroyGroup } from './group-admin.js';
export type { GroupStartId, EnsureGroupResult, GroupInfo, ConsumerInfo } from './group-admin.js';

// History / replay and the checkpointed reader (history.ts, checkpoint-reader.ts)
export { readHistory, iterateHistory } from './history.js';
export type { HistoryOptions, HistoryPage, HistoryBound } from './history.js';
export type { MalformedEntry } from './decode-entry.js';
export { createCheckpointReader, CheckpointReader } from './checkpoint-reader.js';
export type {
  CheckpointReaderOptions,
  CheckpointHandler,
  CheckpointHandlers,
  CheckpointDefaultHandler,
  CheckpointContext,
  MalformedPolicy,
  CheckpointReaderStats,
  CheckpointStopReason,
  CheckpointReaderEvents,
} from './checkpoint-reader-options.js';
