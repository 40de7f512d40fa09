import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { dirname, join } from 'node:path';

/** Facts about where the numbers come from. */
export interface MachineFacts {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  loadAverage: string;
  node: string;
  redisServer: string;
  nodeRedis: string;
  bullmq: string;
  ioredis: string;
  zod: string;
  commit: string;
}

function packageVersion(name: string): string {
  try {
    // Resolve the entry point, then walk up to the package's own package.json (some packages
    // do not export './package.json').
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 6; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      } catch {
        // keep walking up
      }
      dir = dirname(dir);
    }
  } catch {
    // not installed
  }
  return 'unknown';
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // The report this run rewrites does not count: a previous run's output is not a code change.
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ':(top)', ':(top,exclude)docs/benchmarks.md'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim() !== '';
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

export function machineFacts(redisServer: string): MachineFacts {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    loadAverage: loadavg().map((l) => l.toFixed(2)).join(' '),
    node: process.version,
    redisServer,
    nodeRedis: packageVersion('redis'),
    bullmq: packageVersion('bullmq'),
    ioredis: packageVersion('ioredis'),
    zod: packageVersion('zod'),
    commit: gitCommit(),
  };
}

export function factsMarkdown(f: MachineFacts): string {
  return [
    `- Date: ${f.date}`,
    `- CPU: ${f.cpu}, ${f.cores} cores; ${f.memoryGb} GiB RAM; ${f.os}; load average at start ${f.loadAverage}`,
    `- Node ${f.node}; redis-server ${f.redisServer}; node-redis ${f.nodeRedis}; BullMQ ${f.bullmq} (${f.ioredis === 'unknown' ? 'on a node-redis client: its optional ioredis is not installed' : `ioredis ${f.ioredis}`}); zod ${f.zod}`,
    `- Commit: ${f.commit}`,
  ].join('\n');
}
