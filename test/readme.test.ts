/**
 * The front door must not rot. Every fenced code block of the root README and of
 * examples/README.md is either a shell block or identical to the example file named in an
 * `<!-- example: path -->` comment right above it; commands that name an example script name one
 * that exists, with flags it accepts; every example opens with a comment saying how to run it.
 * And the quick start runs: as a child process against a redis-server of its own.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient } from 'redis';
import { spawnScript, startRedis } from '@tributary/test-utils';

const ROOT = resolve(__dirname, '..');
const READMES = ['README.md', 'examples/README.md'];
const SHELL = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);

interface Block {
  readme: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  /** Path from an `<!-- example: path -->` comment right above the fence. */
  example: string | undefined;
}

function fencedBlocks(readme: string): Block[] {
  const lines = readFileSync(join(ROOT, readme), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) body.push(lines[j++]!);
    if (j >= lines.length) throw new Error(`${readme}:${i + 1}: unclosed code fence`);
    const above = lines[i - 1] ?? '';
    const example = /^<!--\s*example:\s*(\S+)/.exec(above.trim())?.[1];
    blocks.push({ readme, line: i + 1, lang: open[3]!.toLowerCase(), text: body.join('\n'), example });
    i = j;
  }
  return blocks;
}

/** What a reader can act on: `<readme>:<line>` and why. */
function problemsOf(block: Block): string[] {
  const where = `${block.readme}:${block.line}`;
  if (block.example === undefined) {
    return SHELL.has(block.lang) ? [] : [`${where}: a \`${block.lang || 'plain'}\` block must be a shell block or carry <!-- example: path --> right above it`];
  }
  const file = join(ROOT, block.example);
  if (!existsSync(file)) return [`${where}: <!-- example: ${block.example} --> names a file that does not exist`];
  const source = readFileSync(file, 'utf8');
  if (source.replace(/\n+$/, '') !== block.text.replace(/\n+$/, '')) {
    return [`${where}: the block differs from ${block.example}; copy the file into the README (or the README into the file)`];
  }
  return [];
}

const blocks = READMES.flatMap(fencedBlocks);

test('the READMEs have code blocks to check', () => {
  expect(blocks.filter((b) => b.example !== undefined).map((b) => b.example)).toContain('examples/src/quick-start.ts');
  expect(blocks.length).toBeGreaterThan(5);
});

test('every fenced block is a shell block or identical to the example file named above it', () => {
  expect(blocks.flatMap(problemsOf)).toEqual([]);
});

test('every <!-- example: --> comment sits right above a code block', () => {
  const dangling: string[] = [];
  for (const readme of READMES) {
    const lines = readFileSync(join(ROOT, readme), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^<!--\s*example:/.test(line.trim()) && !/^\s*(`{3,}|~{3,})/.test(lines[i + 1] ?? '')) dangling.push(`${readme}:${i + 1}`);
    });
  }
  expect(dangling).toEqual([]);
});

const exampleFiles = readdirSync(join(ROOT, 'examples/src')).filter((f) => f.endsWith('.ts')).sort();

test('commands in the READMEs name example scripts that exist, with flags they accept', () => {
  const problems: string[] = [];
  for (const readme of READMES) {
    const text = readFileSync(join(ROOT, readme), 'utf8');
    for (const match of text.matchAll(/yarn tsx (examples\/src\/[\w-]+\.ts)((?:\s+--[\w-]+(?:\s+(?!--)[^\s`|#]+)?)*)/g)) {
      const [, script, flags = ''] = match;
      if (!existsSync(join(ROOT, script!))) {
        problems.push(`${readme}: ${script} does not exist`);
        continue;
      }
      const source = readFileSync(join(ROOT, script!), 'utf8');
      for (const [, flag] of flags.matchAll(/--([\w-]+)/g)) {
        if (!new RegExp(`['\\s{]${flag}'?: \\{ type:`).test(source)) problems.push(`${readme}: ${script} has no --${flag} flag`);
      }
    }
    for (const match of text.matchAll(/yarn demo((?:\s+--[\w-]+)*)/g)) {
      for (const [, flag] of match[1]!.matchAll(/--([\w-]+)/g)) {
        if (!readFileSync(join(ROOT, 'examples/src/demo.ts'), 'utf8').includes(`${flag}: { type:`)) problems.push(`${readme}: yarn demo has no --${flag} flag`);
      }
    }
  }
  expect(problems).toEqual([]);
});

test('every example is listed in examples/README.md and opens with a comment saying what it shows and how to run it', () => {
  const index = readFileSync(join(ROOT, 'examples/README.md'), 'utf8');
  const problems: string[] = [];
  for (const file of exampleFiles) {
    const source = readFileSync(join(ROOT, 'examples/src', file), 'utf8');
    const header = source.split('\n').filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//'))).join('\n');
    const command = file === 'demo.ts' ? 'yarn demo' : `yarn tsx examples/src/${file}`;
    if (header.split('\n').length < 2) problems.push(`${file}: no opening comment`);
    if (!header.includes(command)) problems.push(`${file}: the opening comment does not say how to run it (${command})`);
    if (!index.includes(`(src/${file})`)) problems.push(`${file}: not listed in examples/README.md`);
  }
  expect(problems).toEqual([]);
});

test('the quick start runs as printed: it charges the order and leaves no key behind', async () => {
  const server = await startRedis();
  const client = createClient({ url: server.url });
  try {
    await client.connect();
    const script = spawnScript(join(ROOT, 'examples/src/quick-start.ts'), {
      env: { REDIS_URL: server.url, TSX_TSCONFIG_PATH: join(ROOT, 'examples/tsconfig.json') },
    });
    await script.waitForOutput('charged 42 for o-1', 60_000);
    const exit = await script.exited;
    expect({ exit, output: script.output().trim() }).toEqual({ exit: { code: 0, signal: null }, output: 'charged 42 for o-1' });
    expect(await client.keys('*')).toEqual([]);
  } finally {
    await client.close().catch(() => undefined);
    await server.stop();
  }
}, 120_000);

test('problemsOf reports drift with the README and line', () => {
  const drift: Block = { readme: 'README.md', line: 7, lang: 'ts', text: 'const a = 1;', example: 'examples/src/quick-start.ts' };
  expect(problemsOf(drift)).toEqual(['README.md:7: the block differs from examples/src/quick-start.ts; copy the file into the README (or the README into the file)']);
  expect(problemsOf({ ...drift, example: undefined })).toHaveLength(1);
  expect(problemsOf({ ...drift, example: undefined, lang: 'sh' })).toEqual([]);
});
