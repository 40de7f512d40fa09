import { Readable } from 'node:stream';
import type { MessageOf, TopicTypes } from '@tributary/core';
import { type Delivery, RELEASE } from './delivery.js';

/**
 * A message handed out by iteration or `readable()`, with its own outcome controls.
 * In `for await`, a message not settled explicitly is acked when the loop asks for the next
 * one (the loop body finished without throwing); leaving the loop releases it (stays pending).
 * From `readable()`, every message must be settled explicitly.
 */
export type ReceivedMessage<T extends TopicTypes> = MessageOf<T> & {
  /** The server's delivery counter, this delivery included. */
  readonly deliveries: number;
  /** Handled successfully: ack it. */
  ack(): void;
  /** Handling failed: leave it pending (or let the failure handler decide). */
  fail(error?: unknown): void;
  /** Give it back untouched: no ack, no failure; it stays pending. */
  release(): void;
};

interface Slot {
  readonly received: ReceivedMessage<TopicTypes>;
  settled: boolean;
}

/** What iteration needs from the worker (kept narrow to avoid a cycle with worker.ts). */
export interface IterationHooks {
  install(handler: (message: MessageOf<TopicTypes>, delivery: Delivery) => Promise<unknown>): void;
  begin(): Promise<void>;
  stop(): Promise<void>;
  /** Aborted when the worker starts stopping. */
  readonly stopping: AbortSignal;
}

/** Queue between the worker's handler slots and a pulling consumer. */
class Inbox {
  private readonly items: Slot[] = [];
  /** Every message not settled yet, queued or handed out. */
  private readonly unsettled = new Set<Slot>();
  private waiter: (() => void) | undefined;

  constructor(private readonly hooks: IterationHooks) {
    hooks.install((message, delivery) => new Promise((resolve, reject) => {
      const slot: Slot = {
        settled: false,
        received: {
          ...message,
          deliveries: delivery.deliveries,
          ack: () => settle(() => resolve(undefined)),
          fail: (error?: unknown) => settle(() => reject(error ?? new Error('message failed by its consumer'))),
          release: () => settle(() => resolve(RELEASE)),
        } as ReceivedMessage<TopicTypes>,
      };
      const settle = (fn: () => void) => {
        if (slot.settled) return;
        slot.settled = true;
        this.unsettled.delete(slot);
        fn();
      };
      this.unsettled.add(slot);
      if (hooks.stopping.aborted) {
        // Read by a fetch that was already under way when stop() began: nobody will take it.
        slot.received.release();
        return;
      }
      this.items.push(slot);
      this.wake();
    }));
    // Messages fetched but never handed out must not hold up stop(): give them back.
    hooks.stopping.addEventListener('abort', () => {
      for (const slot of this.items.splice(0)) slot.received.release();
      this.wake();
    }, { once: true });
  }

  /**
   * Gives back every unsettled message, handed out or not (they stay pending), because their
   * consumer is gone: stop() would otherwise wait `stopTimeoutMs` for settlements that never come.
   */
  releaseAll(): void {
    for (const slot of [...this.unsettled]) slot.received.release();
    this.items.length = 0;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Next message, or undefined once the worker is stopping and nothing is left. */
  async take(): Promise<Slot | undefined> {
    for (;;) {
      const slot = this.items.shift();
      if (slot) return slot;
      if (this.hooks.stopping.aborted) return undefined;
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
  }
}

/** `for await` over a worker: see {@link ReceivedMessage} for ack semantics. */
export function iterateWorker<T extends TopicTypes>(hooks: IterationHooks): AsyncIterableIterator<ReceivedMessage<T>> {
  const inbox = new Inbox(hooks);
  let started: Promise<void> | undefined;
  let previous: Slot | undefined;
  const finish = async (): Promise<IteratorResult<ReceivedMessage<T>>> => {
    previous?.received.release();
    previous = undefined;
    await hooks.stop();
    return { done: true, value: undefined };
  };
  return {
    async next() {
      // Asking for the next message means the loop body finished the previous one.
      previous?.received.ack();
      previous = undefined;
      started ??= hooks.begin();
      await started;
      const slot = await inbox.take();
      if (!slot) return finish();
      previous = slot;
      return { done: false, value: slot.received as ReceivedMessage<T> };
    },
    return: finish,
    throw: async (error?: unknown) => {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * An object-mode Readable of messages with real backpressure: at most `concurrency` messages
 * are out unsettled, and the worker reads no more until they are acked, failed or released.
 * Destroying the stream before it ends stops the worker and releases every message not settled
 * yet (a later `ack()` of one of them does nothing; it is delivered again). Once `stop()` has
 * ended the stream, messages already handed out can still be settled until `stopTimeoutMs`.
 */
export function workerReadable<T extends TopicTypes>(hooks: IterationHooks, highWaterMark: number): Readable {
  const inbox = new Inbox(hooks);
  let started: Promise<void> | undefined;
  return new Readable({
    objectMode: true,
    highWaterMark,
    read() {
      started ??= hooks.begin();
      started
        .then(() => inbox.take())
        .then((slot) => this.push(slot ? (slot.received as ReceivedMessage<T>) : null), (error: unknown) => this.destroy(error as Error));
    },
    destroy(error, callback) {
      // A stream destroyed early (pipeline error, destroy()) settles nothing more: messages
      // still in its buffers or with its consumer go back to the pending list, so stop() ends
      // at once. A stream that ended (stop() began) is auto-destroyed as soon as 'end' is
      // emitted, while its consumer may still be working on the last messages it took: those
      // stay settleable, and stop() waits for them as for any handler.
      if (error || !this.readableEnded) inbox.releaseAll();
      hooks.stop().then(() => callback(error), callback);
    },
  });
}
