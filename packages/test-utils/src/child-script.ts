import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { trackProcess, untrackProcess } from './cleanup-registry.js';
import { startParentDeathWatchdog } from './parent-death-watchdog.js';
import { assertTerminatingSignal, sendKillSignal, sendSignal } from './process-signals.js';

const DEFAULT_OUTPUT_TIMEOUT_MS = 20_000;
const STREAM_DRAIN_TIMEOUT_MS = 1000;
/** packages/test-utils/src → repo root, where tsx is installed. */
const REPO_ROOT = resolvePath(__dirname, '..', '..', '..');

/** How a child script ended: exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A TypeScript file running in its own Node process, started by {@link spawnScript}. */
export interface ChildScript {
  /** pid of the Node process that runs the script itself (not a wrapper), so signals reach it. */
  readonly pid: number;
  /** Everything the script wrote to stdout and stderr so far, interleaved in arrival order. */
  readonly output: () => string;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ChildExit>;
  /**
   * Sends `signal` (SIGKILL by default) and resolves after the process exited. Resolves at once if
   * it already has. Throws for signals that do not end a process: use {@link ChildScript.signal}.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting, e.g. SIGSTOP / SIGCONT to freeze and resume a worker. */
  signal(sig: NodeJS.Signals): void;
  /**
   * Resolves with the first output line (so far or later) that contains `pattern` (string) or
   * matches it (RegExp). Lines printed before the call count, so there is no race with a fast
   * child. Rejects if the process exits first or after `timeoutMs` (default 20 s), quoting the
   * output tail.
   */
  waitForOutput(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
}

/** Options for {@link spawnScript}. */
export interface SpawnScriptOptions {
  /** Arguments after the file name (`process.argv.slice(2)` in the script). */
  args?: string[];
  /** Extra environment variables, merged over this process's environment. */
  env?: Record<string, string>;
}

/**
 * Runs a TypeScript file with tsx in a separate Node process, for fault tests that kill -9 or
 * SIGSTOP a worker. The process is tracked like redis servers: killed if the test process exits,
 * is interrupted or dies outright.
 *
 * Runs `node --import <tsx loader> file …args` rather than the `tsx` CLI: the CLI starts the script
 * in a *second* Node process, so SIGKILL or SIGSTOP sent to the CLI's pid would miss the script
 * (and orphan it). With the loader there is one process and {@link ChildScript.pid} is the script.
 *
 * @param file - path to the script; relative paths are resolved against the current directory.
 * @param options - arguments and extra environment variables.
 */
export function spawnScript(file: string, options: SpawnScriptOptions = {}): ChildScript {
  const scriptPath = resolvePath(file);
  const tsxLoader = pathToFileURL(require.resolve('tsx', { paths: [REPO_ROOT] })).href;
  const child = spawn(process.execPath, ['--import', tsxLoader, scriptPath, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    // The spawn error is also emitted as an event; unhandled, it would crash the test process.
    child.on('error', () => undefined);
    throw new Error(`spawnScript: could not start ${process.execPath} for ${scriptPath}`);
  }
  return new TrackedChildScript(child, pid, scriptPath);
}

class TrackedChildScript implements ChildScript {
  readonly exited: Promise<ChildExit>;
  #output = '';
  #exit: ChildExit | undefined;
  /** Set on 'exit', before output has drained: from then on the pid may be recycled, never signal it. */
  #processGone = false;
  /** Emits 'change' after new output and after exit, to wake pending waitForOutput calls. */
  readonly #events = new EventEmitter();

  constructor(
    child: ChildProcess,
    readonly pid: number,
    private readonly scriptPath: string,
  ) {
    // Any number of concurrent waitForOutput calls may listen.
    this.#events.setMaxListeners(0);
    const append = (chunk: string): void => {
      this.#output += chunk;
      this.#events.emit('change');
    };
    child.stdout?.setEncoding('utf8').on('data', append);
    child.stderr?.setEncoding('utf8').on('data', append);
    child.on('error', (error) => append(`\n[spawnScript] ${error.message}\n`));
    trackProcess(child, `script ${scriptPath}`);
    const watchdog = startParentDeathWatchdog(pid);
    const streamsClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        this.#processGone = true;
        untrackProcess(pid);
        watchdog.dispose();
        // Let stdout/stderr drain so output() is complete once `exited` resolves, but do not wait
        // forever: a grandchild that inherited the pipes can keep them open after the script died.
        let drainTimer: NodeJS.Timeout | undefined;
        const drainTimedOut = new Promise<void>((resolveDrain) => {
          drainTimer = setTimeout(resolveDrain, STREAM_DRAIN_TIMEOUT_MS);
        });
        void Promise.race([streamsClosed, drainTimedOut]).then(() => {
          // A pending timer would keep the jest worker alive after the tests.
          clearTimeout(drainTimer);
          this.#exit = { code, signal };
          this.#events.emit('change');
          resolve(this.#exit);
        });
      });
    });
  }

  readonly output = (): string => this.#output;

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    assertTerminatingSignal(signal, `script ${this.scriptPath}`);
    if (!this.#processGone) sendKillSignal(this.pid, signal);
    await this.exited;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.#processGone) sendSignal(this.pid, sig);
  }

  waitForOutput(pattern: string | RegExp, timeoutMs = DEFAULT_OUTPUT_TIMEOUT_MS): Promise<string> {
    // A /g or /y regex keeps state between test() calls; matching must not depend on history.
    const matcher = typeof pattern === 'string' ? pattern : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const matches = (line: string): boolean => (typeof matcher === 'string' ? line.includes(matcher) : matcher.test(line));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const line = this.#output.split(/\r?\n/).find(matches);
        if (line !== undefined) {
          done();
          resolve(line);
        } else if (this.#exit) {
          done();
          reject(this.#failure(`exited (code ${this.#exit.code}, signal ${this.#exit.signal}) without printing a line matching ${String(pattern)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.#failure(`printed no line matching ${String(pattern)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#events.off('change', check);
      };
      this.#events.on('change', check);
      check();
    });
  }

  #failure(reason: string): Error {
    const tail = this.#output.trimEnd().split('\n').slice(-20).join('\n');
    return new Error(`script ${this.scriptPath} (pid ${this.pid}) ${reason}\n--- output tail ---\n${tail}`);
  }
}
