/**
 * What a handler can do with the message it is handling, besides resolving (ack) or throwing
 * (retry later, by the recovery policy).
 */
export interface HandlerContext {
  /** The group and this member's name. */
  readonly group: string;
  readonly consumer: string;
  /** How many times the server has delivered this message, this delivery included. */
  readonly deliveries: number;
  /** Aborted when the handler times out, stop() gives up waiting, or a peer took the message over (lease lost): stop work when it fires. */
  readonly signal: AbortSignal;
  /** Acks now. Required in `ackMode: 'manual'` (may be called after the handler returned). */
  ack(): void;
  /** Do not ack; retry after about `delayMs` (needs a failure handler such as recovery's). */
  retry(options?: { delayMs?: number }): void;
  /** Move the message to the dead-letter stream now with `reason` (needs recovery's failure handler). */
  deadLetter(reason: string): void;
  /** Resets the message's idle time now (XCLAIM to self, JUSTID) so no peer reclaims it yet. */
  extendLease(): Promise<boolean>;
}
