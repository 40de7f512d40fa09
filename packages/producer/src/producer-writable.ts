import { Writable } from 'node:stream';

type Callback = (error?: Error | null) => void;

/**
 * An object-mode Writable that publishes every written message. Publishes run concurrently
 * (auto-pipelined) up to `maxInFlight`; past that, the write callback waits for one to settle,
 * so the stream's buffer fills and `write()` returns `false`: memory stays bounded by
 * `highWaterMark` buffered plus `maxInFlight` in flight.
 *
 * The first failed publish errors the stream (`'error'`, then it is destroyed); `_final` waits
 * for every in-flight publish, so `finish` means every message was written.
 */
export class ProducerWritable<M> extends Writable {
  readonly #publish: (message: M) => Promise<unknown>;
  readonly #maxInFlight: number;
  #inFlight = 0;
  #failed = false;
  #blocked: Callback | undefined;
  #final: Callback | undefined;

  constructor(publish: (message: M) => Promise<unknown>, highWaterMark: number) {
    super({ objectMode: true, highWaterMark });
    this.#publish = publish;
    this.#maxInFlight = highWaterMark;
  }

  override _write(message: M, _encoding: BufferEncoding, callback: Callback): void {
    this.#inFlight++;
    this.#publish(message).then(this.#settled, this.#failure);
    if (this.#inFlight < this.#maxInFlight) callback();
    else this.#blocked = callback;
  }

  override _final(callback: Callback): void {
    if (this.#inFlight === 0) callback();
    else this.#final = callback;
  }

  readonly #settled = (): void => {
    this.#inFlight--;
    if (this.#failed) return;
    const blocked = this.#blocked;
    if (blocked) {
      this.#blocked = undefined;
      blocked();
    }
    if (this.#inFlight === 0 && this.#final) {
      const final = this.#final;
      this.#final = undefined;
      final();
    }
  };

  readonly #failure = (error: unknown): void => {
    this.#inFlight--;
    if (this.#failed) return;
    this.#failed = true;
    const failure = error instanceof Error ? error : new Error(String(error));
    // Hand the error to a callback Node is waiting on, so it is reported once, as 'error'.
    const pending = this.#blocked ?? this.#final;
    this.#blocked = undefined;
    this.#final = undefined;
    if (pending) pending(failure);
    else this.destroy(failure);
  };
}
