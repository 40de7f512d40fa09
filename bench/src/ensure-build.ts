/**
 * Runs `yarn build` when a library package's dist is missing or older than its sources, so
 * `yarn bench` measures what users install (tsc's output in dist/cjs) and works on a fresh
 * clone. Skipped with BENCH_SKIP_BUILD=1 or when TSX_TSCONFIG_PATH points the bench at the
 * sources (bench/tsconfig.src.json).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
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

function main(): void {
  if (process.env.BENCH_SKIP_BUILD === '1') return;
  if (process.env.TSX_TSCONFIG_PATH?.endsWith('tsconfig.src.json')) return;
  const reasons = PACKAGES.map(staleReason).filter((r): r is string => r !== undefined);
  if (reasons.length === 0) {
    process.stderr.write('[bench] packages/*/dist is up to date\n');
    return;
  }
  process.stderr.write(`[bench] building the packages first (${reasons.join('; ')})\n`);
  execFileSync('yarn', ['build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

main();
