/**
 * Prepares the library `yarn bench` measures: what users install, tsc's CommonJS output. Runs
 * `yarn build` when a package's dist is missing or older than its sources (so a fresh clone
 * works), then copies each package's dist/cjs into bench/.bench-tmp/node_modules, which
 * bench/tsconfig.json maps `@tributary/*` to: a run is not disturbed by a rebuild or an edit
 * made while it runs. Skipped when TSX_TSCONFIG_PATH points at bench/tsconfig.src.json
 * (`yarn bench:src`: the TypeScript sources through tsx, no build).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const SNAPSHOT = resolve(__dirname, '..', '.bench-tmp', 'node_modules', '@tributary');
const PACKAGES = ['core', 'producer', 'consumer-group', 'recovery'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

function staleReason(pkg: string): string | undefined {
  const dir = join(ROOT, 'packages', pkg);
  const built = join(dir, 'dist', 'cjs', 'index.js');
  if (!existsSync(built)) return `${pkg}: no dist`;
  const sources = ['src', 'package.json', 'tsconfig.json'].map((p) => join(dir, p)).filter((p) => existsSync(p));
  const newest = Math.max(...sources.map(newestMtime));
  return newest > statSync(built).mtimeMs ? `${pkg}: sources newer than dist` : undefined;
}

function snapshot(): void {
  rmSync(SNAPSHOT, { recursive: true, force: true });
  for (const pkg of PACKAGES) {
    const from = join(ROOT, 'packages', pkg);
    const to = join(SNAPSHOT, pkg);
    mkdirSync(join(to, 'dist'), { recursive: true });
    cpSync(join(from, 'package.json'), join(to, 'package.json'));
    cpSync(join(from, 'dist', 'cjs'), join(to, 'dist', 'cjs'), { recursive: true });
  }
  writeFileSync(join(SNAPSHOT, '..', '..', 'README.txt'), 'Copy of packages/*/dist/cjs taken by `yarn bench` (bench/src/ensure-build.ts). Safe to delete.\n');
}

function main(): void {
  if (process.env.TSX_TSCONFIG_PATH?.endsWith('tsconfig.src.json')) return;
  const reasons = PACKAGES.map(staleReason).filter((r): r is string => r !== undefined);
  if (reasons.length > 0) {
    process.stderr.write(`[bench] building the packages first (${reasons.join('; ')})\n`);
    try {
      execFileSync('yarn', ['build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    } catch {
      process.stderr.write('[bench] `yarn build` failed: fix the build, or run `yarn workspace @tributary/bench bench:src` to measure the sources through tsx.\n');
      process.exit(1);
    }
  } else {
    process.stderr.write('[bench] packages/*/dist is up to date\n');
  }
  snapshot();
}

main();
