/** Resolves after `ms` milliseconds. Internal helper for the polling loops in this package. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
