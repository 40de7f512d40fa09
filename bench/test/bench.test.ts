/**
 * Keeps `yarn bench` working end to end: runs its quick mode, every scenario, in a child process
 * (against its own redis-server) and checks that each one produced its rows, with ratios. It
 * never asserts speed: performance claims live in docs/benchmarks.md, measured by `yarn bench`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnScript } from '@tributary/test-utils';

const BENCH = resolve(__dirname, '..');

interface JsonReport {
  mode: string;
  rows: { scenario: string; baseline: number; lib: number; ratio?: number; target?: { pass: boolean } }[];
  failures: string[];
}

describe('yarn bench --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every scenario and prints a table with ratios and target verdicts', async () => {
    const json = join(dir, 'bench.json');
    // Sources through tsconfig paths (no build needed); the real `yarn bench` measures dist.
    const script = spawnScript(join(BENCH, 'src', 'run.ts'), {
      args: ['--quick', '--no-write', '--json', json],
      env: { TSX_TSCONFIG_PATH: join(BENCH, 'tsconfig.src.json') },
    });
    const exit = await script.exited;
    const output = script.output();
    expect({ exit, tail: output.slice(-2000) }).toEqual({ exit: { code: 0, signal: null }, tail: expect.any(String) });

    // The printed Markdown table: header, and one row per measured comparison with a ratio.
    expect(output).toMatch(/\| Scenario \| Metric \| Baseline \|/);
    expect(output).toMatch(/\| 1\. publish one by one \| msgs\/s \|.*\| \d+\.\d\d× \|/);
    expect(output).toMatch(/\| 3\. consume \+ ack, 1 worker \| msgs\/s \|.*\| \d+\.\d\d× \|/);
    expect(output).toMatch(/Targets met: \d+\/\d+/);

    const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
    expect(report.mode).toBe('quick');
    expect(report.failures).toEqual([]);
    const scenarios = report.rows.map((r) => r.scenario);
    // Each of the eight scenarios, with a row per target.
    expect(scenarios).toEqual(expect.arrayContaining([
      '1. publish one by one', '2. batch publish', '3. consume + ack, 1 worker', '4. consume + ack, 4 workers, 1 process',
      '4b. consume + ack, 2 processes', '5. e2e latency @ 5k/s', '6a. enqueue in bulk', '6b. worker, concurrency 50',
      '6d. worker, concurrency 1', '7. worker memory, RSS growth', '8. recovery after kill -9',
    ]));
    expect(report.rows.filter((row) => row.target !== undefined)).toHaveLength(10);
    for (const row of report.rows) {
      // RSS growth is a percentage and may be negative; everything else is a rate, time or size.
      if (!row.scenario.startsWith('7. ')) {
        expect(row.baseline).toBeGreaterThan(0);
        expect(row.lib).toBeGreaterThan(0);
        expect(Number.isFinite(row.ratio)).toBe(true);
      } else {
        expect(Number.isFinite(row.lib)).toBe(true);
      }
    }
  }, 240_000);
});
