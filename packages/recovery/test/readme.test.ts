// Runs every ```ts block of the README, in order, as one program against a real Redis: the
// documentation cannot drift from the API. Imports are hoisted and merged; the rest of each block
// runs inside one async function (the README uses top-level await).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from '@swc/core';
import { type RedisServer, startRedis } from '@tributary/test-utils';
import { createClient } from 'redis';
import { toCommander } from '@tributary/core';

const README = join(__dirname, '..', 'README.md');

/** The README's TypeScript blocks. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Hoists `import { … } from '…'` statements out of the blocks, merging names per module. */
function assemble(blocks: readonly string[]): string {
  const imports = new Map<string, Set<string>>();
  const bodies = blocks.map((block) =>
    block.replace(/^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']+)';[^\n]*\n/gm, (_all, typeOnly: string | undefined, names: string, from: string) => {
      if (typeOnly) return '';
      const set = imports.get(from) ?? new Set<string>();
      for (const name of names.split(',').map((n) => n.trim()).filter(Boolean)) set.add(name);
      imports.set(from, set);
      return '';
    }),
  );
  const head = [...imports].map(([from, names]) => `import { ${[...names].join(', ')} } from '${from}';`).join('\n');
  return `${head}\nexport async function run(): Promise<void> {\n${bodies.join('\n')}\n}\n`;
}

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

test('every TypeScript block of the README runs', async () => {
  const blocks = codeBlocks(readFileSync(README, 'utf8'));
  expect(blocks.length).toBeGreaterThanOrEqual(7);
  const source = assemble(blocks);
  const { code } = transformSync(source, {
    filename: 'readme.ts',
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  const logs: unknown[][] = [];
  const quietConsole = { log: (...a: unknown[]) => logs.push(a), warn: (...a: unknown[]) => logs.push(a), error: (...a: unknown[]) => logs.push(a) };
  const charged: string[] = [];
  const charge = async (orderId: string) => { charged.push(orderId); };
  const module = { exports: {} as { run?: () => Promise<void> } };
  const previousUrl = process.env.REDIS_URL;
  process.env.REDIS_URL = server.url;
  try {
    new Function('require', 'module', 'exports', 'console', 'charge', code)(require, module, module.exports, quietConsole, charge);
    await module.exports.run!();
  } finally {
    if (previousUrl === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = previousUrl;
  }
  // What the walk-through did: o-1 charged; o-2 dead-lettered, redriven, dead-lettered again, purged.
  expect(charged).toEqual(['o-1']);
  expect(logs.some((l) => String(l[0]).startsWith('dead letter ') && String(l[0]).endsWith(': explicit'))).toBe(true);
  expect(logs.some((l) => l[0] === 'would redrive 1')).toBe(true);
  expect(logs.some((l) => l[0] === '1/1')).toBe(true);
  const client = createClient({ url: server.url });
  await client.connect();
  try {
    const commander = toCommander(client);
    expect(Number(await commander.send('{orders}:dlq', ['XLEN', '{orders}:dlq']))).toBe(0);
    expect(Number(await commander.send('{orders}', ['XLEN', '{orders}']))).toBe(3); // o-1, o-2, redriven o-2
  } finally {
    await client.close();
  }
});
