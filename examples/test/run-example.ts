// Runs example scripts as child processes, the way a user runs them, and reads their output.
import { join, resolve } from 'node:path';
import { type ChildScript, spawnScript } from '@tributary/test-utils';

/** examples/src */
export const EXAMPLES_SRC = resolve(__dirname, '..', 'src');

/**
 * tsx resolves `@tributary/*` to the package sources through this tsconfig's `paths`, whatever
 * the working directory of the test run.
 */
const TSCONFIG = resolve(__dirname, '..', 'tsconfig.json');

/** Starts `examples/src/<file>` with tsx; `env` adds to (or overrides) this process's environment. */
export function startExample(file: string, options: { args?: string[]; env?: Record<string, string> } = {}): ChildScript {
  return spawnScript(join(EXAMPLES_SRC, file), {
    args: options.args ?? [],
    env: { TSX_TSCONFIG_PATH: TSCONFIG, FORCE_COLOR: '0', ...options.env },
  });
}

/** The outcome of a bounded run. */
export interface ExampleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** Fields of the last `summary: k=v …` line (empty if none). */
  summary: Record<string, string>;
}

/** Parses the last `summary: key=value …` line of an output. */
export function parseSummary(output: string): Record<string, string> {
  const line = output.split(/\r?\n/).filter((l) => l.startsWith('summary: ')).pop();
  if (!line) return {};
  return Object.fromEntries(
    line
      .slice('summary: '.length)
      .split(' ')
      .map((pair) => {
        const at = pair.indexOf('=');
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
  );
}

/** Waits for a script to exit on its own (killing it after `timeoutMs`) and collects its output. */
export async function finished(child: ChildScript, timeoutMs: number): Promise<ExampleRun> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs);
  });
  const first = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    await child.kill();
    throw new Error(`example did not exit within ${timeoutMs} ms; output:\n${child.output()}`);
  }
  const output = child.output();
  return { code: first.code, signal: first.signal, output, summary: parseSummary(output) };
}

/** Runs an example to completion. */
export function runExample(file: string, options: { args?: string[]; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ExampleRun> {
  return finished(startExample(file, options), options.timeoutMs ?? 90_000);
}

/** Shows the output when an expectation about a run fails. */
export function explain(run: ExampleRun): string {
  return `exit ${run.code ?? run.signal}; output tail:\n${run.output.split('\n').slice(-40).join('\n')}`;
}
