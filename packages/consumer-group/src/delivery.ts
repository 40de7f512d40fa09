import { TimeoutError, type MessageOf, type StreamEntry, type TopicTypes } from '@tributary/core';
import { FailureKind, type FailureKindValue } from './failure-handler.js';
import type { HandlerContext } from './handler-context.js';

/** Returned by the iteration handler for a message given back unhandled: neither ack nor failure. */
export const RELEASE: unique symbol = Symbol('tributary.release');

/** What the worker side of a delivery needs; kept narrow so Delivery does not depend on Worker. */
export interface DeliveryOwner {
  readonly group: string;
  readonly consumer: string;
  ack(streamId: string): void;
  extendLease(streamId: string): Promise<boolean>;
}

/**
 * One delivery of one message to this worker, and the {@link HandlerContext} its handler
 * gets. A class (methods on the prototype, AbortController made only when asked for) because
 * one is created per message on the hot path.
 */
export class Delivery implements HandlerContext {
  readonly streamId: string;
  readonly fields: readonly string[] | null;
  message: MessageOf<TopicTypes> | undefined;
  /** When the lease was last taken or renewed (ms). */
  leasedAt = Date.now();
  /** A peer claimed it while it ran: renewal stops and `lease-lost` is reported once. */
  leaseLost = false;
  timedOut = false;
  requested: { kind: FailureKindValue; delayMs?: number; reason?: string } | undefined;
  private acked = false;
  private controller: AbortController | undefined;
  /** Its slot in the worker's in-flight table (in-flight.ts), -1 when not in it. */
  slot = -1;

  constructor(
    private readonly owner: DeliveryOwner,
    entry: StreamEntry,
    readonly deliveries: number,
  ) {
    this.streamId = entry.id;
    this.fields = entry.fields;
  }

  get group(): string {
    return this.owner.group;
  }

  get consumer(): string {
    return this.owner.consumer;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** Aborts the handler's signal (timeout, stop). */
  abort(reason: string): void {
    this.controller?.abort(new TimeoutError(`handler of ${this.streamId} aborted: ${reason}`));
  }

  ack(): void {
    if (this.acked || this.requested) return;
    this.acked = true;
    this.owner.ack(this.streamId);
  }

  retry(options: { delayMs?: number } = {}): void {
    if (this.acked) return;
    this.requested = { kind: FailureKind.RetryRequested, delayMs: options.delayMs ?? 0 };
  }

  deadLetter(reason: string): void {
    if (this.acked) return;
    this.requested = { kind: FailureKind.DeadLetterRequested, reason };
  }

  extendLease(): Promise<boolean> {
    this.leasedAt = Date.now();
    return this.owner.extendLease(this.streamId);
  }

  /** Races the handler against `ms`; on timeout the signal aborts and the delivery fails. */
  withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.timedOut = true;
        this.abort(`timed out after ${ms} ms`);
        reject(new TimeoutError(`handler of ${this.streamId} timed out after ${ms} ms`, { data: { streamId: this.streamId, timeoutMs: ms } }));
      }, ms);
      promise.then(
        (value) => { clearTimeout(timer); resolve(value); },
        (error: unknown) => { clearTimeout(timer); reject(error); },
      );
    });
  }
}
