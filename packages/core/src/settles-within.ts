/**
 * Resolves true once `promise` settles (either way), false if `ms` pass first. The promise is
 * not cancelled: the caller decides what to do with one still running.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => { clearTimeout(timer); resolve(true); },
      () => { clearTimeout(timer); resolve(true); },
    );
  });
}

/**
 * Resolves true once `promise` settles (either way), false as soon as `signal` aborts (at
 * once if it already has). For waits that stop() must be able to cut short.
 */
export function settlesUnlessAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    const settled = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}
