// Pure unit tests: backoff schedules and option validation (no Redis).
import { createClient } from 'redis';
import { InvalidArgumentError } from '@tributary/core';
import { backoffDelay, createRecovery, DEFAULT_BACKOFF } from '@tributary/recovery';

describe('backoffDelay', () => {
  test('a list is indexed by deliveries − 1 and its last value repeats', () => {
    const list = [100, 500, 2000];
    expect([1, 2, 3, 4, 10].map((d) => backoffDelay(list, d))).toEqual([100, 500, 2000, 2000, 2000]);
    expect(backoffDelay(list, 0)).toBe(100);
    expect(backoffDelay(list, -3)).toBe(100);
    expect(backoffDelay(list, Number.NaN)).toBe(100);
  });

  test('exponential without jitter doubles up to the cap', () => {
    const schedule = { initialMs: 100, factor: 2, maxMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 50].map((d) => backoffDelay(schedule, d))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  test('jitter stays within ±jitter of the delay and never exceeds maxMs', () => {
    const schedule = { initialMs: 1000, factor: 2, maxMs: 30_000, jitter: 0.2 };
    expect(backoffDelay(schedule, 1, () => 0)).toBe(800);
    expect(backoffDelay(schedule, 1, () => 0.999999)).toBe(1200);
    expect(backoffDelay(schedule, 1, () => 0.5)).toBe(1000);
    expect(backoffDelay(schedule, 20, () => 0.999999)).toBe(30_000);
    expect(backoffDelay(schedule, 20, () => 0)).toBe(24_000);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(schedule, 3);
      expect(d).toBeGreaterThanOrEqual(3200);
      expect(d).toBeLessThanOrEqual(4800);
    }
  });

  test('the default schedule is 1 s doubling to 30 s with 20 % jitter', () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialMs: 1000, factor: 2, maxMs: 30_000, jitter: 0.2 });
    expect(backoffDelay({}, 1, () => 0.5)).toBe(1000);
    expect(backoffDelay({}, 4, () => 0.5)).toBe(8000);
    expect(backoffDelay({}, 9, () => 0.5)).toBe(30_000);
  });

  test('huge delivery counts do not overflow', () => {
    expect(backoffDelay({ jitter: 0 }, 1e6)).toBe(30_000);
  });
});

describe('createRecovery options', () => {
  // Never connected: option validation and backoff need no server.
  const client = createClient();

  test('defaults', () => {
    const recovery = createRecovery(client);
    expect(recovery.options).toMatchObject({
      maxDeliveries: 5,
      claimIdleMs: 60_000,
      reclaimIntervalMs: 5000,
      reclaimCount: 100,
      malformed: 'dead-letter',
      deadLetterRetention: { maxLen: 100_000 },
      maxErrorLength: 1000,
      backoff: { initialMs: 1000, factor: 2, maxMs: 30_000, jitter: 0.2 },
    });
    expect(recovery.options.onDeadLetter).toBeUndefined();
    expect(Object.isFrozen(recovery.options)).toBe(true);
  });

  test('backoffFor caps at claimIdleMs', () => {
    const recovery = createRecovery(client, { backoff: [10, 5000], claimIdleMs: 1000 });
    expect(recovery.backoffFor(1)).toBe(10);
    expect(recovery.backoffFor(2)).toBe(1000);
  });

  test.each([
    [{ maxDeliveries: 0 }, 'RecoveryOptions.maxDeliveries'],
    [{ maxDeliveries: 1.5 }, 'RecoveryOptions.maxDeliveries'],
    [{ claimIdleMs: -1 }, 'RecoveryOptions.claimIdleMs'],
    [{ reclaimIntervalMs: 0 }, 'RecoveryOptions.reclaimIntervalMs'],
    [{ reclaimCount: 0 }, 'RecoveryOptions.reclaimCount'],
    [{ malformed: 'drop' }, 'RecoveryOptions.malformed'],
    [{ backoff: [] }, 'RecoveryOptions.backoff'],
    [{ backoff: { factor: 0.5 } }, 'RecoveryOptions.backoff.factor'],
    [{ backoff: { jitter: 2 } }, 'RecoveryOptions.backoff.jitter'],
    [{ deadLetterRetention: { maxLen: -5 } }, 'RecoveryOptions.deadLetterRetention.maxLen'],
    [{ maxErrorLength: 0 }, 'RecoveryOptions.maxErrorLength'],
    [{ onDeadLetter: 'nope' }, 'RecoveryOptions.onDeadLetter'],
    [{ claimIdleMS: 5 }, 'RecoveryOptions.claimIdleMS'],
  ])('invalid option %j → InvalidArgumentError naming %s', (options, field) => {
    let caught: unknown;
    try {
      createRecovery(client, options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).field).toBe(field);
    expect((caught as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
  });
});
