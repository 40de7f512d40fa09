import { WaitForTimeoutError, waitFor } from '../src/index.js';

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => {
      calls += 1;
      return calls >= 3 ? { calls } : undefined;
    }, { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('accepts async probes and treats throws as "not yet"', async () => {
    let calls = 0;
    const value = await waitFor(async () => {
      calls += 1;
      if (calls < 3) throw new Error('not yet');
      return 'done';
    }, { intervalMs: 1 });
    expect(value).toBe('done');
  });

  it('times out with the message and the last value', async () => {
    const started = Date.now();
    const error: unknown = await waitFor(() => 0, { timeoutMs: 100, message: 'consumer caught up' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(error).toBeInstanceOf(WaitForTimeoutError);
    expect((error as Error).message).toBe('consumer caught up: timed out after 100 ms; last value: 0');
  });

  it('times out with the last error', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 50 },
      ),
    ).rejects.toThrow('waitFor: timed out after 50 ms; last error: Error: connection refused');
  });

  it('times out even if the probe never settles', async () => {
    await expect(waitFor(() => new Promise<never>(() => undefined), { timeoutMs: 50, message: 'hung' })).rejects.toThrow(
      'hung: timed out after 50 ms; the last probe call had not settled',
    );
  });
});
