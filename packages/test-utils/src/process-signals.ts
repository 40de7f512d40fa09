/**
 * Signals that do not end a process. `kill(signal)` waits for the exit, so passing one of these
 * would hang forever; callers are pointed at `signal()` instead.
 */
const NON_TERMINATING_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>([
  'SIGSTOP',
  'SIGTSTP',
  'SIGCONT',
  'SIGTTIN',
  'SIGTTOU',
  'SIGCHLD',
  'SIGWINCH',
  'SIGURG',
]);

/** Throws a TypeError when `signal` cannot be used for a kill that waits for the exit. */
export function assertTerminatingSignal(signal: NodeJS.Signals, what: string): void {
  if (NON_TERMINATING_SIGNALS.has(signal)) {
    throw new TypeError(`${what}: kill(${signal}) would never resolve because ${signal} does not end the process; use signal(${signal})`);
  }
}

/** Sends `signal` to `pid`; a process that is already gone (ESRCH) is not an error. */
export function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Sends `signal` for a kill: a process stopped with SIGSTOP would not act on SIGTERM/SIGINT until
 * continued, so a SIGCONT follows every signal except SIGKILL (which works on stopped processes).
 */
export function sendKillSignal(pid: number, signal: NodeJS.Signals): void {
  sendSignal(pid, signal);
  if (signal !== 'SIGKILL') sendSignal(pid, 'SIGCONT');
}
