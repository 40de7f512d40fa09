/**
 * Where a worker process's RSS goes over a long run: fills one stream, then for each side runs
 * memory-growth-child.ts (one process per side, one after the other) and prints a detailed
 * sample every `--every` messages: RSS, V8 heap (total/used, new/old/code space), external,
 * and the kernel's split (anonymous: brk heap vs mapped; file-backed).
 *
 * Usage: yarn run -T tsx src/tools/memory-growth.ts [--messages 1000000] [--every 50000]
 *          [--sides raw,lib] [--gc] [--node-options='--max-semi-space-size=…'] [--v8='--trace-gc']
 *          [--patch list-unlink] [--profile PREFIX] [--json FILE] [--log FILE]
 * Sides: raw, lib, and the experiments of memory-growth-variants.ts (raw:signal, raw:timeout).
 * E.g. `--gc --sides raw,lib` compares old space after each forced GC (before the worker's
 * inFlight Map became a slot table, the worker's grew by ~40 MiB after its first major GC).
 * REDIS_URL: use that server instead of a private one. `--node-options` goes to the children's
 * NODE_OPTIONS (heap sizes Node accepts there, e.g. --max-semi-space-size); `--v8` flags are set
 * by the child at its start (v8.setFlagsFromString: GC tracing and policy flags read at each GC);
 * `--patch` tries a change to a dependency in the children (see memory-growth-variants.ts);
 * `--profile` writes PREFIX.<side>.heapprofile: allocation stacks of what survived scavenges
 * and died in a mark-compact (heap-profile-top.ts summarises it);
 * `--log FILE` keeps each child's output (with --trace-gc lines) in FILE.<side>.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnScript } from '@tributary/test-utils';
import { freshName } from '../context.js';
import { fillStream } from '../fill.js';
import { acquireServer, connectBench, createGroup } from '../redis-setup.js';
import type { DetailSample } from './memory-growth-child.js';

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1).padStart(6);

function table(side: string, samples: readonly DetailSample[]): string {
  const head = 'msgs     s    rss heapTot heapUsd  newSp  oldSp oldUsd codeSp  extern arrBuf v8phys rssAnon brkHeap anonMap rssFile';
  const rows = samples.map((s) => {
    const space = (name: string, i: 0 | 1 | 2) => s.spaces[name]?.[i] ?? 0;
    return [
      String(s.at).padStart(7), (s.ms / 1000).toFixed(1).padStart(5), mib(s.rss), mib(s.heapTotal), mib(s.heapUsed),
      mib(space('new_space', 0)), mib(space('old_space', 0)), mib(space('old_space', 1)), mib(space('code_space', 0)),
      mib(s.external), mib(s.arrayBuffers), mib(s.v8Physical), mib(s.rssAnon), mib(s.brkHeap), mib(s.anonMapped), mib(s.rssFile),
    ].join(' ');
  });
  return [`${side} (MiB)`, head, ...rows].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '1000000' },
      every: { type: 'string', default: '50000' },
      sides: { type: 'string', default: 'raw,lib' },
      gc: { type: 'boolean', default: false },
      'node-options': { type: 'string' },
      v8: { type: 'string', default: '' },
      patch: { type: 'string' },
      profile: { type: 'string' },
      json: { type: 'string' },
      log: { type: 'string' },
    },
  });
  const total = Number(values.messages);
  const server = await acquireServer();
  const client = await connectBench(server.url);
  const results: Record<string, DetailSample[]> = {};
  try {
    process.stderr.write(`filling ${total} messages\n`);
    const stream = await fillStream(client, total, 'memory');
    for (const side of values.sides.split(',')) {
      const group = freshName('g');
      await createGroup(client, stream.key, group);
      const child = spawnScript(resolve(__dirname, 'memory-growth-child.ts'), {
        args: [JSON.stringify({
          url: server.url, side, topic: stream.topic.name, group, goKey: `${group}:go`, total, every: Number(values.every), count: 500, gc: values.gc, v8Flags: values.v8, patch: values.patch, ...(values.profile ? { profile: resolve(`${values.profile}.${side}.heapprofile`) } : {}),
        })],
        env: {
          ...(process.env.TSX_TSCONFIG_PATH ? { TSX_TSCONFIG_PATH: resolve(process.env.TSX_TSCONFIG_PATH) } : {}),
          ...(values['node-options'] ? { NODE_OPTIONS: values['node-options'] } : {}),
        },
      });
      try {
        await child.waitForOutput(/^READY\b/, 60_000);
        await client.sendCommand(['LPUSH', `${group}:go`, 'go']);
        const line = await child.waitForOutput(/^RESULT /, 900_000);
        results[side] = JSON.parse(line.slice('RESULT '.length)) as DetailSample[];
        // The child's whole output (e.g. --trace-gc lines), to line GC events up with samples.
        if (values.log) writeFileSync(`${values.log}.${side}`, child.output());
        console.log(`${table(side, results[side])}\n`);
      } finally {
        await child.kill();
        await client.sendCommand(['XGROUP', 'DESTROY', stream.key, group]);
      }
    }
    await client.sendCommand(['UNLINK', stream.key]);
  } finally {
    await client.close();
    await server.stop();
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(results));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
