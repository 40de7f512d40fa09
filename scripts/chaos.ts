// The chaos run at any size: the same scenario as packages/recovery/test/chaos.test.ts (one
// runner, packages/recovery/test/helpers/chaos-runner.ts), with flags.
//
//   yarn tsx scripts/chaos.ts --messages 50000 [--workers 4] [--seconds 100] [--redis-restarts 2]
//                             [--seed N] [--quiet] [--trace]
//
// Prints progress, then one summary line and the verdict; exits 1 when a message was lost, an
// unexpected outcome was seen, something stayed pending or a worker crashed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

// Child processes and this script resolve `@tributary/*` to the TypeScript sources through the
// test tsconfig's `paths`; tsx reads it from TSX_TSCONFIG_PATH at start-up, so re-run once with it.
if (!process.env.TSX_TSCONFIG_PATH) {
  const again = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TSX_TSCONFIG_PATH: join(__dirname, '..', 'tsconfig.test.json') },
  });
  process.exit(again.status ?? 1);
}

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    workers: { type: 'string', default: '4' },
    seconds: { type: 'string' },
    'redis-restarts': { type: 'string', default: '2' },
    seed: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got ${text}`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<number> {
  if (values.help) {
    console.log('usage: yarn tsx scripts/chaos.ts [--messages N] [--workers N] [--seconds N] [--redis-restarts N] [--seed N] [--quiet] [--trace]');
    return 0;
  }
  const { runChaos } = await import('../packages/recovery/test/helpers/chaos-runner.js');
  const { chaosViolations, formatChaosReport } = await import('../packages/recovery/test/helpers/chaos-report.js');
  const messages = positive('messages', values.messages);
  const seconds = values.seconds === undefined ? Math.max(20, Math.round(messages / 500)) : positive('seconds', values.seconds);
  const started = Date.now();
  const report = await runChaos({
    messages,
    workers: positive('workers', values.workers),
    seconds,
    redisRestarts: positive('redis-restarts', values['redis-restarts']),
    // Large runs drain for longer: poison messages wait for their retries after publishing ends.
    settleTimeoutMs: Math.max(90_000, messages * 5),
    quiet: values.quiet,
    trace: values.trace,
    ...(values.seed !== undefined ? { seed: positive('seed', values.seed) } : {}),
    log: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`),
  });
  console.log(formatChaosReport(report));
  console.log(`dead-letter reasons by kind: ${JSON.stringify(report.reasons)}`);
  if (report.samples.goodDeadLettered.length > 0) console.log(`good messages dead-lettered (sample): ${report.samples.goodDeadLettered.join(' | ')}`);
  for (const [id, lines] of Object.entries(report.trails)) console.log(`trail ${id}:\n  ${lines.join('\n  ')}`);
  const problems = chaosViolations(report);
  if (problems.length === 0) {
    console.log('verdict: PASS (lost 0, unexpected 0, every bad message in the DLQ exactly once, nothing pending)');
    return 0;
  }
  console.log(`verdict: FAIL\n  ${problems.join('\n  ')}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
