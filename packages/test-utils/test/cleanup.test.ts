import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ChildScript, spawnScript, waitFor } from '../src/index.js';
import { processExists } from './os-probes.js';

const fixture = join(__dirname, 'fixtures', 'start-redis-then.ts');

/** Starts the fixture, which starts a redis-server via test-utils, and reads back where it lives. */
async function startScriptWithRedis(mode: 'wait' | 'exit'): Promise<{ script: ChildScript; pid: number; dir: string }> {
  const script = spawnScript(fixture, { args: [mode] });
  const line = await script.waitForOutput(/^redis pid=/);
  const match = /pid=(\d+) port=\d+ dir=(\S+)/.exec(line);
  if (!match?.[1] || !match[2]) throw new Error(`unexpected line: ${line}`);
  return { script, pid: Number(match[1]), dir: match[2] };
}

/** The redis-server and its dir are gone (shortly: the watchdog reacts to its parent's death). */
async function expectRedisGone(pid: number, dir: string): Promise<void> {
  await waitFor(() => !processExists(pid) && !existsSync(dir), {
    timeoutMs: 5000,
    message: `redis-server ${pid} and ${dir} to disappear`,
  });
}

describe('cleanup of redis-servers whose owner goes away', () => {
  it('owner killed with SIGKILL (no exit handler runs): the watchdog kills redis-server and removes its dir', async () => {
    const { script, pid, dir } = await startScriptWithRedis('wait');
    expect(processExists(pid)).toBe(true);
    await script.kill('SIGKILL');
    await expectRedisGone(pid, dir);
  });

  it('owner exits without stop(): the exit handler kills redis-server and removes its dir', async () => {
    const { script, pid, dir } = await startScriptWithRedis('exit');
    await expect(script.exited).resolves.toEqual({ code: 0, signal: null });
    await expectRedisGone(pid, dir);
  });

  it('owner gets SIGTERM: it cleans up and still dies of SIGTERM', async () => {
    const { script, pid, dir } = await startScriptWithRedis('wait');
    await script.kill('SIGTERM');
    await expect(script.exited).resolves.toEqual({ code: null, signal: 'SIGTERM' });
    await expectRedisGone(pid, dir);
  });
});
