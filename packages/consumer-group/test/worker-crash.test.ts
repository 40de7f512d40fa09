/**
 * A worker process killed with SIGKILL mid-stream, then restarted under the same consumer
 * name: every message ends processed (at-least-once), and the only duplicates are messages that
 * were in flight at the kill, i.e. in the consumer's pending list.
 */
import { join, resolve } from 'node:path';
import { type ChildScript, spawnScript, waitFor } from '@tributary/test-utils';
import { pendingCount, pendingEntries, pingTopic, pings, publish, range, useRedis } from './helpers/worker-harness.js';

const redis = useRedis();
const fixture = join(__dirname, 'fixtures', 'worker-crash-child.ts');
// Lets tsx map `@tributary/*` to the TypeScript sources, as jest does (no build needed).
const env = { TSX_TSCONFIG_PATH: resolve(__dirname, '..', '..', '..', 'tsconfig.test.json') };
const children: ChildScript[] = [];

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
});

/** `[n, deliveries]` of every `done` (or `start`) line printed so far. */
function doneLines(child: ChildScript, what: 'done' | 'start' = 'done'): [number, number][] {
  return [...child.output().matchAll(new RegExp(`^${what} (\\d+) (\\d+)$`, 'gm'))].map((m) => [Number(m[1]), Number(m[2])]);
}

test('SIGKILL mid-stream, restart under the same name: all processed, duplicates only for messages in flight at the kill', async () => {
  const topic = pingTopic('crash');
  const total = 400;
  const ids = await publish(redis.client, topic, pings(total));
  const args = [redis.server.url, topic.name, 'g', 'crashy', '42']; // message 42 hangs until the kill

  const first = spawnScript(fixture, { args, env });
  children.push(first);
  expect(await first.waitForOutput(/^loaded /)).toMatch(/consumer-group[\\/]src[\\/]worker\.ts$/);
  await first.waitForOutput('ready');
  await waitFor(() => doneLines(first).length >= 100, { intervalMs: 5 });
  await first.kill('SIGKILL');
  const firstRun = doneLines(first);
  expect(firstRun.length).toBeLessThan(total); // killed mid-way

  // What was in flight at the kill is exactly the consumer's pending list; bounded prefetch
  // keeps it within concurrency (5).
  const inFlightAtKill = await pendingEntries(redis.commander, topic, 'g', 'crashy');
  expect(inFlightAtKill.length).toBeGreaterThan(0);
  expect(inFlightAtKill.length).toBeLessThanOrEqual(5);
  const inFlightNs = new Set(inFlightAtKill.map((p) => ids.indexOf(p.id)));
  expect(inFlightNs.has(42)).toBe(true);

  const second = spawnScript(fixture, { args, env });
  children.push(second);
  await second.waitForOutput('ready');
  const seen = () => new Set([...firstRun, ...doneLines(second)].map(([n]) => n));
  await waitFor(() => seen().size === total, { timeoutMs: 30_000 });
  await second.kill('SIGTERM'); // graceful: stop() and exit 0
  expect(await second.exited).toEqual({ code: 0, signal: null });
  const secondRun = doneLines(second);
  expect(second.output()).toMatch(new RegExp(`^stopped succeeded=${secondRun.length}$`, 'm'));

  // Every message processed at least once…
  expect(seen()).toEqual(new Set(range(total)));
  // …and more than once only if it was in flight (pending) at the kill.
  const counts = new Map<number, number>();
  for (const [n] of [...firstRun, ...secondRun]) counts.set(n, (counts.get(n) ?? 0) + 1);
  const duplicates = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  for (const n of duplicates) expect({ n, inFlightAtKill: inFlightNs.has(n) }).toEqual({ n, inFlightAtKill: true });
  expect([...counts.values()].every((c) => c <= 2)).toBe(true);
  // The restarted worker started its own pending list first, each a second delivery.
  const starts = doneLines(second, 'start');
  expect(starts.slice(0, inFlightNs.size).map(([n]) => n).sort((a, b) => a - b)).toEqual([...inFlightNs].sort((a, b) => a - b));
  expect(starts.slice(0, inFlightNs.size).every(([, deliveries]) => deliveries === 2)).toBe(true);
  expect(starts.slice(inFlightNs.size).every(([, deliveries]) => deliveries === 1)).toBe(true);
  expect(await pendingCount(redis.commander, topic, 'g')).toBe(0);
});
