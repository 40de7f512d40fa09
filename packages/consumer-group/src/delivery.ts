import { type EntryText, type MessageOf, producerLayoutFields, TimeoutError, type TopicTypes } from '@tributary/core';
import { FailureKind, type FailureKindValue } from './failure-handler.js';
import type { HandlerContext } from './handler-context.js';

/** Returned by the iteration handler for a message given back unhandled: neither ack nor failure. */
export const RELEASE: unique symbol = Symbol('tributary.release');

/** An entry's fields as read: bytes (the worker's own reads) or text (claims); null when deleted. */
export type EntryFields = readonly Buffer[] | readonly string[] | null;

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
export class Delivery implements HandlerContext, EntryText {
  readonly streamId: string;
  /**
   * The fields as read, until decoded. Bytes are slices of a node-redis socket read (up to
   * 64 KiB kept alive by each): once decoded, the text kept below replaces them.
   */
  private rawFields: EntryFields | undefined;
  /** Set by decodeMessageBytes (EntryText): what {@link Delivery.fields} rebuilds the fields from. */
  dataText: string | undefined;
  fieldsText: readonly string[] | undefined;
  /** The decoded message; set with {@link Delivery.decoded}. */
  message: MessageOf<TopicTypes> | undefined;
  /** When the lease was last taken or renewed (ms). */
  leasedAt: number;
  /** A peer claimed it while it ran: renewal stops and `lease-lost` is reported once. */
  leaseLost = false;
  timedOut = false;
  requested: { kind: FailureKindValue; delayMs?: number; reason?: string } | undefined;
  private acked = false;
  private controller: AbortController | undefined;
  /** Its slot in the worker's in-flight table (in-flight.ts), -1 when not in it. */
  slot = -1;

  /** `leasedAt`: when the entry was read or claimed (one timestamp per batch). */
  constructor(
    private readonly owner: DeliveryOwner,
    streamId: string,
    fields: EntryFields,
    readonly deliveries: number,
    leasedAt: number,
  ) {
    this.streamId = streamId;
    this.rawFields = fields;
    this.leasedAt = leasedAt;
  }

  /** Decoded: keep the message, drop the bytes read (their text is kept, see EntryText). */
  decoded(message: MessageOf<TopicTypes>): void {
    this.message = message;
    if (this.dataText !== undefined || this.fieldsText !== undefined) this.rawFields = undefined;
  }

  /** The entry's fields as stored, as text (failure reports, dead letters); null when deleted. */
  get fields(): readonly string[] | null {
    if (this.fieldsText) return this.fieldsText;
    if (this.dataText !== undefined && this.message) return (this.fieldsText = producerLayoutFields(this.message, this.dataText));
    const raw = this.rawFields ?? null;
    if (raw === null) return null;
    // Text from now on: the bytes go (failure handlers may keep the delivery a while).
    this.fieldsText = raw.map((field: string | Buffer) => (typeof field === 'string' ? field : field.toString()));
    this.rawFields = undefined;
    return this.fieldsText;
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
