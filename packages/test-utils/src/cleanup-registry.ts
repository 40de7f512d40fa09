import { type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { runInThisContext } from 'node:vm';

/** One child process this package started and must not leave behind. */
interface TrackedProcess {
  readonly label: string;
  /** Held so the handle (and a watchdog's stdin pipe) stays referenced as long as we track it. */
  readonly handle: ChildProcess;
  /** Watchdogs are killed before the processes they guard; see {@link killEverythingSync}. */
  readonly isWatchdog: boolean;
}

interface CleanupRegistry {
  readonly processes: Map<number, TrackedProcess>;
  readonly dirs: Set<string>;
}

// Symbol.for, not a module-level variable: jest evaluates this module once per test file inside
// one worker process, and all those copies must share one registry and one set of exit handlers
// (otherwise every test file would add listeners and a crash would only clean up the last file).
const REGISTRY_KEY = Symbol.for('@tributary/test-utils:cleanup-registry');

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

let cachedHostProcess: NodeJS.Process | undefined;

/** The real Node process object (cached; see {@link findHostProcess}). */
function hostProcess(): NodeJS.Process {
  cachedHostProcess ??= findHostProcess();
  return cachedHostProcess;
}

/**
 * Inside a jest test file `process` is a copy whose `on('exit' | 'SIGTERM', …)` listeners are never
 * called by Node, so exit handlers registered on it would be dead code. `vm.runInThisContext` runs
 * in Node's main context, outside jest's sandbox, and returns the real object there. Outside jest
 * (tsx scripts) it is simply the same `process`.
 */
function findHostProcess(): NodeJS.Process {
  try {
    const candidate: unknown = runInThisContext('process');
    if (typeof candidate === 'object' && candidate !== null && 'pid' in candidate && 'on' in candidate) {
      return candidate as NodeJS.Process;
    }
  } catch {
    // Fall through: the sandboxed process is better than nothing.
  }
  return process;
}

function registry(): CleanupRegistry {
  const host = hostProcess();
  const slot = host as unknown as Record<symbol, CleanupRegistry | undefined>;
  const existing = slot[REGISTRY_KEY];
  if (existing) return existing;
  const created: CleanupRegistry = { processes: new Map(), dirs: new Set() };
  slot[REGISTRY_KEY] = created;
  installExitHandlers(host, created);
  return created;
}

function installExitHandlers(host: NodeJS.Process, reg: CleanupRegistry): void {
  // 'exit' listeners must be synchronous: the event loop is already gone.
  host.on('exit', () => killEverythingSync(reg));
  for (const signal of EXIT_SIGNALS) {
    const onSignal = (): void => {
      killEverythingSync(reg);
      // Adding a listener disables Node's default "die on SIGINT/SIGTERM". If nobody else handles
      // the signal, restore that behaviour: drop our listener and re-raise, so the process still
      // dies with the signal (and the right exit status) instead of living on.
      if (host.listenerCount(signal) === 1) {
        host.removeListener(signal, onSignal);
        host.kill(host.pid, signal);
      }
    };
    host.on(signal, onSignal);
  }
}

/**
 * SIGKILLs every tracked process and deletes every tracked directory, synchronously.
 * Used from `exit`/`SIGINT`/`SIGTERM` handlers, where awaiting is impossible.
 */
function killEverythingSync(reg: CleanupRegistry): void {
  // Watchdogs first: a watchdog that outlived its server could otherwise (in theory) SIGKILL a
  // recycled pid after this process is gone.
  const ordered = [...reg.processes.entries()].sort(([, a], [, b]) => Number(b.isWatchdog) - Number(a.isWatchdog));
  for (const [pid] of ordered) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  reg.processes.clear();
  for (const dir of reg.dirs) {
    try {
      // maxRetries: a just-SIGKILLed redis-server may still be closing files for a moment.
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Best effort while the process is exiting; the watchdog also removes the dir.
    }
  }
  reg.dirs.clear();
}

/** Registers a started child so it is SIGKILLed if this process exits or is interrupted. */
export function trackProcess(handle: ChildProcess, label: string, options: { isWatchdog?: boolean } = {}): void {
  if (handle.pid === undefined) return;
  registry().processes.set(handle.pid, { label, handle, isWatchdog: options.isWatchdog ?? false });
}

/** Forgets a child once it has exited (so its pid, which may be recycled, is never signalled). */
export function untrackProcess(pid: number): void {
  registry().processes.delete(pid);
}

/** Registers a temp dir so it is removed if this process exits or is interrupted. */
export function trackDir(dir: string): void {
  registry().dirs.add(dir);
}

/** Forgets a temp dir after it was removed normally. */
export function untrackDir(dir: string): void {
  registry().dirs.delete(dir);
}
