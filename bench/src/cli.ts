import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Mode } from './sizes.js';

export interface RunOptions {
  mode: Mode;
  /** Scenario names to run; empty = all. */
  scenarios: string[];
  /** Where to write the Markdown report, or undefined to only print. */
  out: string | undefined;
  /** Where to write the rows as JSON, if asked. */
  json: string | undefined;
  /** Override of the number of rounds. */
  rounds: number | undefined;
}

export const USAGE = `Usage: yarn bench [--quick | --long] [--scenario <name>[,<name>…]] [--rounds N] [--out FILE] [--no-write] [--json FILE]

  --quick       tiny sizes (a smoke run for CI, well under a minute); does not write docs unless --out
  --long        the memory scenario consumes 1M messages (default 300k); 9 rounds, 5 across processes (default 5, 3)
  --scenario    run only these scenarios (repeatable, comma-separated): see the list below
  --rounds N    rounds per side for in-process comparisons (default 5, quick 3, long 9)
  --out FILE    write the Markdown report here (default for a full run: docs/benchmarks.md)
  --no-write    print only
  --json FILE   also write the result rows as JSON
  REDIS_URL     use this server instead of starting a private redis-server`;

/**
 * Parses the command line. A full default (or --long) run writes docs/benchmarks.md; quick and
 * partial runs only print, unless --out says where to write.
 */
export function parseCli(argv: readonly string[], repoRoot: string): RunOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      long: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) return 'help';
  if (values.quick && values.long) throw new Error('--quick and --long exclude each other');
  const mode: Mode = values.quick ? 'quick' : values.long ? 'long' : 'default';
  const scenarios = (values.scenario ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  let rounds: number | undefined;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  }
  const full = mode !== 'quick' && scenarios.length === 0;
  let out: string | undefined;
  if (values.out) out = resolve(values.out);
  else if (full && !values['no-write']) out = resolve(repoRoot, 'docs', 'benchmarks.md');
  if (values['no-write']) out = undefined;
  return { mode, scenarios, out, json: values.json ? resolve(values.json) : undefined, rounds };
}
