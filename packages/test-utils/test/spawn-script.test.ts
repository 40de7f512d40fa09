import { join } from 'node:path';
import { spawnScript } from '../src/index.js';
import { processExists } from './os-probes.js';

const fixture = (name: string): string => join(__dirname, 'fixtures', name);

describe('spawnScript', () => {
  it('runs a TypeScript file in its own process; SIGKILL ends exactly that process', async () => {
    const script = spawnScript(fixture('print-ready-and-wait.ts'));
    try {
      const line = await script.waitForOutput('ready');
      // The pid printed by the script is the pid we hold: signals reach the script, not a wrapper.
      expect(line).toBe(`ready pid=${script.pid}`);
      expect(script.output()).toContain('ready');
      // Earlier output still matches, so waiting after the fact cannot race.
      await expect(script.waitForOutput(/^ready pid=\d+$/)).resolves.toBe(line);

      await script.kill('SIGKILL');
      await expect(script.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
      expect(processExists(script.pid)).toBe(false);
      await script.kill(); // already gone: no-op
    } finally {
      await script.kill();
    }
  });

  it('SIGSTOP freezes the script and a later kill still ends it', async () => {
    const script = spawnScript(fixture('print-ready-and-wait.ts'));
    await script.waitForOutput('ready');
    script.signal('SIGSTOP');
    await script.kill('SIGTERM'); // kill() sends SIGCONT after SIGTERM so a stopped process acts on it
    await expect(script.exited).resolves.toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('passes args and env, reports the exit code, and rejects waitForOutput once the script has exited', async () => {
    const script = spawnScript(fixture('print-args-and-exit.ts'), {
      args: ['one', 'two'],
      env: { FIXTURE_GREETING: 'hi' },
    });
    await expect(script.exited).resolves.toEqual({ code: 3, signal: null });
    expect(script.output()).toContain('args=["one","two"] greeting=hi');
    await expect(script.waitForOutput('never printed', 5000)).rejects.toThrow(/exited \(code 3, signal null\) without printing a line matching never printed/);
  });

  it('waitForOutput times out with the output tail', async () => {
    const script = spawnScript(fixture('print-ready-and-wait.ts'));
    try {
      await script.waitForOutput('ready');
      await expect(script.waitForOutput('never printed', 300)).rejects.toThrow(
        /printed no line matching never printed within 300 ms\n--- output tail ---\nready pid=/,
      );
    } finally {
      await script.kill();
    }
  });
});
