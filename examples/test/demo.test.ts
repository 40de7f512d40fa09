/**
 * `yarn demo`, as a new user runs it: against REDIS_URL, with a redis-server it starts itself
 * when nothing answers there, and with no Redis at all (one line saying what to do, exit 1).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { getFreePort, type RedisServer, startRedis } from '@tributary/test-utils';
import { explain, finished, startExample } from './run-example.js';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '..', '..');
const RECONCILIATION = /^reconciliation: produced=(\d+) processed=(\d+) dead-lettered=(\d+) lost=(\d+)$/m;

/** Runs `yarn demo …` from the repository root in its own process group; kills the group on timeout. */
function yarnDemo(args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('yarn', ['demo', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`yarn demo did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

function reconciliation(output: string) {
  const match = RECONCILIATION.exec(output);
  if (!match) throw new Error(`no reconciliation line in:\n${output}`);
  const [produced, processed, deadLettered, lost] = match.slice(1).map(Number) as [number, number, number, number];
  return { produced, processed, deadLettered, lost };
}

describe('with a Redis at REDIS_URL', () => {
  let server: RedisServer;
  let client: RedisClientType;

  beforeAll(async () => {
    server = await startRedis();
    client = createClient({ url: server.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  test('yarn demo --seconds 15: live progress, then produced = processed + dead-lettered, lost = 0, exit 0, no key left', async () => {
    const { code, output } = await yarnDemo(['--seconds', '15'], { REDIS_URL: server.url }, 150_000);
    if (code !== 0) throw new Error(`exit ${code}:\n${output}`);
    expect(output).toContain(`(REDIS_URL); topic {tributary-demo-`);
    // Not a terminal: plain periodic progress lines with every counter.
    expect(output).toMatch(/^\[\s*\d+s running\] produced=\d+ processed=\d+ retried=\d+ pending=\d+ dead-lettered=\d+ lag=\S+ rate=\d+\/s$/m);
    const r = reconciliation(output);
    expect(r.lost).toBe(0);
    expect(r.produced).toBeGreaterThan(100);
    expect(r.processed + r.deadLettered).toBe(r.produced);
    // Poison orders and junk entries reached the dead-letter stream, with their reasons.
    expect(r.deadLettered).toBeGreaterThan(0);
    expect(output).toMatch(/dead letters by reason: .*max-deliveries=\d+/);
    expect(output).toMatch(/dead letters by reason: .*decode=\d+/);
    expect(output).toMatch(/processed per consumer: \S+-c1=\d+ \S+-c2=\d+ \S+-c3=\d+/);
    // The reconciliation is the last line; the demo's keys are gone.
    expect(output.trimEnd().split('\n').pop()).toMatch(RECONCILIATION);
    expect(await client.keys('*')).toEqual([]);
  });
});

test('with nothing at REDIS_URL: starts its own redis-server and stops it on exit', async () => {
  const closedPort = await getFreePort();
  const child = startExample('demo.ts', { args: ['--seconds', '5'], env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` } });
  const run = await finished(child, 120_000);
  if (run.code !== 0) throw new Error(explain(run));
  const started = /nothing answered at redis:\/\/127\.0\.0\.1:\d+: started redis-server \(pid (\d+)\), stopped on exit/.exec(run.output);
  expect(started).not.toBeNull();
  expect(reconciliation(run.output).lost).toBe(0);
  const pid = Number(started![1]);
  expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
});

test('with no Redis at all: one line saying how to get one, exit 1', async () => {
  const closedPort = await getFreePort();
  // An empty PATH: no redis-server to start (node itself is started by its absolute path).
  const child = startExample('demo.ts', { env: { REDIS_URL: `redis://127.0.0.1:${closedPort}`, PATH: '/nonexistent' } });
  const run = await finished(child, 60_000);
  expect(run.code).toBe(1);
  const lines = run.output.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain('docker compose up -d');
  expect(lines[0]).toContain('apt install redis-server');
});
