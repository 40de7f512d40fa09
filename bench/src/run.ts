/**
 * `yarn bench`: Tributary side by side with raw node-redis and BullMQ on one redis-server, in
 * one run. Prints the table of medians and ratios and (full runs) writes docs/benchmarks.md.
 * See `yarn bench --help`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseCli, type RunOptions, USAGE } from './cli.js';
import type { BenchContext } from './context.js';
import { factsMarkdown, machineFacts, type MachineFacts } from './machine.js';
import { acquireServer, connectBench, serverVersion } from './redis-setup.js';
import { costBreakdown, markdownTable, type ResultRow, rowNotes, targetSummary } from './report.js';
import { SCENARIOS } from './scenarios/index.js';
import { sizesFor } from './sizes.js';

const REPO_ROOT = resolve(__dirname, '..', '..');

/** Which build of the library this process loaded (see ensure-build.ts and tsconfig*.json). */
function libraryOrigin(): string {
  const path = require.resolve('@tributary/core');
  if (path.includes('.bench-tmp')) return 'packages/*/dist/cjs (tsc output, as installed), snapshotted to bench/.bench-tmp by `yarn bench`';
  if (path.endsWith('.ts')) return 'TypeScript sources through tsx (`bench:src`; tsx adds a `__name()` call per closure created, slightly slowing the library)';
  return path.replace(REPO_ROOT + '/', '');
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function selectScenarios(names: readonly string[]) {
  if (names.length === 0) return SCENARIOS;
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  return SCENARIOS.filter((s) => names.includes(s.name));
}

function report(rows: readonly ResultRow[], facts: MachineFacts, options: RunOptions, seconds: number, redisUrl: string, failures: string[]): string {
  const summary = targetSummary(rows);
  const sizes = { ...sizesFor(options.mode), ...(options.rounds ? { rounds: options.rounds } : {}) };
  const lines = [
    '# Benchmarks',
    '',
    '_Written by `yarn bench` (bench/src/run.ts); do not edit by hand: run it again._',
    '',
    'Tributary next to the raw node-redis loop doing the same work, and next to BullMQ, on one',
    'redis-server in one run. Each row is the median of several rounds per side, the sides',
    'alternating which goes first; the ratio is Tributary ÷ baseline (higher is better for rates,',
    'lower for latencies). Absolute numbers drift on a shared machine: compare ratios.',
    '"Ratio per round" is the range of the ratios of each round pair (both sides back to back),',
    'and a target cell says how many of those pairs met the target on their own: how far one',
    "run's noise moves the ratio. The verdict itself compares the ratio of the two medians, so",
    'near a bound it can differ from what most round pairs show.',
    '',
    '## Machine',
    '',
    factsMarkdown(facts),
    `- Mode: ${options.mode}${options.scenarios.length > 0 ? ` (scenarios: ${options.scenarios.join(', ')})` : ''}; ran ${seconds.toFixed(0)} s; redis: ${redisUrl.startsWith('redis://127.0.0.1') && !process.env.REDIS_URL ? 'private redis-server started by the bench (no RDB, no AOF)' : 'REDIS_URL'}`,
    `- Library loaded from: ${libraryOrigin()}`,
    `- Sizes: \`${JSON.stringify(sizes)}\``,
    '',
    '## Results',
    '',
    markdownTable(rows),
    '',
    `Targets met: ${summary.passed}/${summary.total}.${summary.missed.length > 0 ? ` Missed: ${summary.missed.map((r) => `${r.scenario} (${r.metric})`).join('; ')}.` : ''}`,
    ...(failures.length > 0 ? ['', '**Scenarios that failed to run:**', '', ...failures.map((f) => `- ${f}`)] : []),
    '',
    ...(costBreakdown(rows).length > 0
      ? ['## Where the client time goes', '', 'Medians of the CPU column (this process, µs per message):', '', ...costBreakdown(rows), '']
      : []),
    '## How each row is measured',
    '',
    ...rowNotes(rows),
    '',
    'Common to every row: a 200-byte JSON payload (`order.created`, validated by a zod object',
    'schema on the library side), node-redis clients created with `commandOptions: { timeout: 0 }`',
    "(what `connectRedis` does) for both sides unless the row says otherwise, RESP3 (node-redis 6's",
    'default), and a fresh stream or group per round.',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const parsed = parseCli(process.argv.slice(2), REPO_ROOT);
  if (parsed === 'help') {
    console.log(USAGE);
    console.log(`\nScenarios:\n${SCENARIOS.map((s) => `  ${s.name.padEnd(14)} ${s.title}`).join('\n')}`);
    return;
  }
  const options = parsed;
  const scenarios = selectScenarios(options.scenarios);
  const started = Date.now();
  const server = await acquireServer();
  log(`redis ${server.url}${server.owned ? ' (private redis-server)' : ' (REDIS_URL)'}, mode ${options.mode}; library: ${libraryOrigin()}`);
  const client = await connectBench(server.url);
  const monitor = await connectBench(server.url);
  const rows: ResultRow[] = [];
  const failures: string[] = [];
  let facts: MachineFacts | undefined;
  try {
    facts = machineFacts(await serverVersion(monitor));
    const baseSizes = sizesFor(options.mode);
    const ctx: BenchContext = {
      url: server.url,
      mode: options.mode,
      sizes: options.rounds ? { ...baseSizes, rounds: options.rounds } : baseSizes,
      client,
      monitor,
      log,
    };
    for (const scenario of scenarios) {
      const t0 = Date.now();
      log(`▶ ${scenario.title}`);
      try {
        const produced = await scenario.run(ctx);
        rows.push(...produced);
        for (const row of produced) log(`  ${row.metric}: baseline ${row.baseline.toFixed(2)}, tributary ${row.lib.toFixed(2)}${row.ratio !== undefined ? `, ratio ${row.ratio.toFixed(3)}` : ''}`);
      } catch (error) {
        const message = `${scenario.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
        failures.push(message.split('\n')[0]!);
        log(`✖ ${message}`);
      }
      log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await client.close().catch(() => undefined);
    await monitor.close().catch(() => undefined);
    await server.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  const markdown = report(rows, facts!, options, seconds, server.url, failures);
  console.log(`\n${markdownTable(rows)}\n`);
  const summary = targetSummary(rows);
  console.log(`Targets met: ${summary.passed}/${summary.total}${summary.missed.length > 0 ? ` — missed: ${summary.missed.map((r) => `${r.scenario} (${r.metric})`).join('; ')}` : ''}`);
  if (options.out) {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, markdown);
    console.log(`Wrote ${relative(process.cwd(), options.out) || options.out}`);
  }
  if (options.json) {
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify({ mode: options.mode, facts, rows, failures }, null, 2)}\n`);
  }
  console.log(`Done in ${seconds.toFixed(0)} s.`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
