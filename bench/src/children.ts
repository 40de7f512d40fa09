import { resolve } from 'node:path';
import { type ChildScript, spawnScript } from '@tributary/test-utils';

const CHILD_DIR = resolve(__dirname, 'child');

/** A bench child process (a script under src/child/), with JSON results on `RESULT` lines. */
export interface BenchChild {
  readonly script: ChildScript;
  /** Resolves when the child printed `READY`. */
  ready(timeoutMs?: number): Promise<void>;
  /** Resolves with the JSON of the child's first `RESULT {…}` line. */
  result<T>(timeoutMs?: number): Promise<T>;
  /** SIGTERM (graceful: the child stops, prints its result and exits) and wait; SIGKILL after `graceMs`. */
  terminate(graceMs?: number): Promise<void>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/**
 * Starts `src/child/<name>.ts` with `config` as its only argument (JSON). The process is
 * tracked by test-utils: killed if the bench exits or dies.
 */
export function startChild(name: string, config: object): BenchChild {
  const script = spawnScript(resolve(CHILD_DIR, `${name}.ts`), {
    args: [JSON.stringify(config)],
    // Children load the library the way this process does (dist, or src with tsconfig.src.json).
    env: process.env.TSX_TSCONFIG_PATH ? { TSX_TSCONFIG_PATH: resolve(process.env.TSX_TSCONFIG_PATH) } : {},
  });
  return {
    script,
    async ready(timeoutMs = 60_000) {
      await script.waitForOutput(/^READY\b/, timeoutMs);
    },
    async result<T>(timeoutMs = 120_000): Promise<T> {
      const line = await script.waitForOutput(/^RESULT /, timeoutMs);
      return JSON.parse(line.slice('RESULT '.length)) as T;
    },
    async terminate(graceMs = 20_000) {
      script.signal('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<boolean>((resolveGrace) => {
        timer = setTimeout(() => resolveGrace(false), graceMs);
      });
      const exited = await Promise.race([script.exited.then(() => true), grace]);
      clearTimeout(timer);
      if (!exited) await script.kill('SIGKILL');
    },
    kill: () => script.kill('SIGKILL'),
  };
}

/** Arguments of a child script: the JSON config passed by {@link startChild}. */
export function childConfig<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error('missing config argument');
  return JSON.parse(raw) as T;
}

/** Prints the result line the parent waits for. */
export function printResult(value: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(value)}\n`);
}

/** Resolves on the first SIGTERM or SIGINT (the parent's graceful stop). */
export function untilTerminated(): Promise<void> {
  return new Promise((resolvePromise) => {
    const done = (): void => resolvePromise();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
}
