import { once } from 'node:events';
import { ProducerWritable } from '../src/producer-writable.js';

/** A publish function whose calls the test settles by hand. */
function manualPublish() {
  const calls: { message: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  const publish = (message: number) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ message, resolve, reject });
    });
  return { calls, publish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ProducerWritable (unit)', () => {
  it('keeps at most highWaterMark publishes in flight and buffers as many more', async () => {
    const { calls, publish } = manualPublish();
    const stream = new ProducerWritable(publish, 3);
    const accepted: boolean[] = [];
    for (let n = 0; n < 10; n++) accepted.push(stream.write(n));
    await tick();
    expect(calls.map((c) => c.message)).toEqual([0, 1, 2]);
    // The third write fills the buffer (`writableLength` counts the one in _write).
    expect(accepted.indexOf(false)).toBeGreaterThanOrEqual(2);
    expect(stream.writableNeedDrain).toBe(true);

    calls[0]!.resolve();
    await tick();
    expect(calls.map((c) => c.message)).toEqual([0, 1, 2, 3]);
  });

  it('finishes only after every publish settled', async () => {
    const { calls, publish } = manualPublish();
    const stream = new ProducerWritable(publish, 10);
    let finished = false;
    stream.on('finish', () => (finished = true));
    stream.write(1);
    stream.end(2);
    await tick();
    expect(calls).toHaveLength(2);
    expect(finished).toBe(false);
    calls[1]!.resolve();
    await tick();
    expect(finished).toBe(false);
    calls[0]!.resolve();
    await once(stream, 'finish');
  });

  it('errors once, with the first failure, whether or not a callback is waiting', async () => {
    for (const highWaterMark of [1, 10]) {
      const { calls, publish } = manualPublish();
      const stream = new ProducerWritable(publish, highWaterMark);
      const errors: unknown[] = [];
      stream.on('error', (error) => errors.push(error));
      stream.write(1);
      stream.write(2);
      await tick();
      const first = new Error('first');
      calls[0]!.reject(first);
      calls[1]?.reject(new Error('second'));
      await tick();
      await tick();
      expect(errors).toEqual([first]);
      expect(stream.destroyed).toBe(true);
    }
  });

  it('reports a failure that happens while ending', async () => {
    const { calls, publish } = manualPublish();
    const stream = new ProducerWritable(publish, 10);
    stream.end(1);
    await tick();
    const failure = new Error('boom');
    calls[0]!.reject(failure);
    const [error] = (await once(stream, 'error')) as [unknown];
    expect(error).toBe(failure);
  });
});
