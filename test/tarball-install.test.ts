/**
 * The published packages, installed as a new user installs them: `npm pack` each one, install
 * the tarballs (plus redis and zod from the registry) into an empty project outside the
 * workspace, type-check a consumer of both entry points, and run a producer + worker with
 * recovery against Redis from plain `.mjs` (import) and `.cjs` (require).
 *
 * Packing mirrors `yarn release`: lerna publishes each package with its `workspace:^`
 * dependencies rewritten to the versions they point at (npm pack alone keeps `workspace:^`,
 * which no installer outside the workspace understands), so the tarball is packed from a staged
 * copy with that rewrite. The staged file list is checked against what `npm pack` selects in the
 * package itself, so `files` and the build are what is really tested.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from 'redis';
import { type RedisServer, startRedis } from '@tributary/test-utils';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '..');
/** In dependency order: a package is built after what it imports. */
const PACKAGES = ['core', 'producer', 'consumer-group', 'recovery'] as const;

type Manifest = { name: string; version: string; dependencies?: Record<string, string> };
const manifestOf = (pkg: string) => JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as Manifest;

function newestMtime(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }, 0);
}

/** Builds a package when its dist is missing or older than its sources (as `yarn build` would). */
function ensureBuilt(pkg: string): void {
  const dir = join(ROOT, 'packages', pkg);
  const outputs = ['dist/cjs/index.js', 'dist/esm/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.d.ts'].map((f) => join(dir, f));
  const fresh = outputs.every(existsSync) && Math.min(...outputs.map((f) => statSync(f).mtimeMs)) >= newestMtime(join(dir, 'src'));
  if (!fresh) execFileSync(process.execPath, [join(ROOT, 'scripts/build-package.mjs')], { cwd: dir, stdio: 'pipe' });
}

function npm(args: string[], cwd: string, timeoutMs = 120_000): string {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Files `npm pack` puts in a tarball, from its --json report. */
function packedFiles(report: string): string[] {
  const [entry] = JSON.parse(report) as { filename: string; files: { path: string }[] }[];
  return entry!.files.map((f) => f.path).sort();
}

/** Packs one package the way it is published; returns the tarball's path. */
function pack(pkg: string, work: string): string {
  const dir = join(ROOT, 'packages', pkg);
  const manifest = manifestOf(pkg);
  const stage = join(work, 'stage', pkg);
  mkdirSync(stage, { recursive: true });
  const wanted = packedFiles(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], dir));
  for (const file of wanted) {
    if (file === 'package.json') continue;
    mkdirSync(join(stage, file, '..'), { recursive: true });
    cpSync(join(dir, file), join(stage, file));
  }
  const dependencies = Object.fromEntries(
    Object.entries(manifest.dependencies ?? {}).map(([name, spec]) => {
      if (!spec.startsWith('workspace:')) return [name, spec];
      const target = manifestOf(name.replace('@tributary/', ''));
      const range = spec.slice('workspace:'.length);
      return [name, range === '*' ? target.version : `${range === '~' ? '~' : '^'}${target.version}`];
    }),
  );
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...manifest, ...(manifest.dependencies ? { dependencies } : {}) }, null, 2)}\n`);
  mkdirSync(join(work, 'tarballs'), { recursive: true });
  const report = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', join(work, 'tarballs')], stage);
  expect(packedFiles(report)).toEqual(wanted);
  const [entry] = JSON.parse(report) as { filename: string }[];
  return join(work, 'tarballs', entry!.filename);
}

const ESM_APP = `import { createClient } from 'redis';
import { z } from 'zod';
import { defineTopic } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { createWorker } from '@tributary/consumer-group';
import { createRecovery, listDeadLetters } from '@tributary/recovery';

const topic = defineTopic({
  name: 'tarball-esm',
  types: { 'order.created': z.object({ orderId: z.string(), amount: z.number().positive() }) },
});
const client = createClient({ url: process.env.REDIS_URL });
await client.connect();
const handled = [];
let done;
const all = new Promise((resolve) => (done = resolve));
const worker = createWorker(client, {
  topic, group: 'billing', consumer: 'billing-1', startId: '0',
  failureHandler: createRecovery(client, { maxDeliveries: 2, backoff: [50] }),
  handlers: { 'order.created': async (msg) => { handled.push(msg.data.orderId); if (handled.length === 3) done(); } },
});
await worker.start();
const producer = createProducer(client, { topic });
await producer.publishMany([1, 2, 3].map((n) => ({ type: 'order.created', data: { orderId: 'o-' + n, amount: n } })));
const rejected = await producer.publish({ type: 'order.created', data: { orderId: 'x', amount: -1 } }).catch((e) => e.code);
await client.xAdd(topic.keys.stream, '*', { type: 'order.created', data: 'not json' });
await all;
while ((await listDeadLetters(client, { topic })).length < 1) await new Promise((r) => setTimeout(r, 20));
const [letter] = await listDeadLetters(client, { topic });
await worker.stop();
await client.del([topic.keys.stream, topic.keys.deadLetter]);
await client.close();
console.log('esm handled=' + handled.sort().join(',') + ' rejected=' + rejected + ' dead-letter=' + letter.reason);
`;

const CJS_APP = `const { createClient } = require('redis');
const { z } = require('zod');
const { defineTopic, isTributaryError } = require('@tributary/core');
const { createProducer } = require('@tributary/producer');
const { createWorker } = require('@tributary/consumer-group');
const { createRecovery, pendingSummary } = require('@tributary/recovery');

async function main() {
  const topic = defineTopic({ name: 'tarball-cjs', types: { ping: z.object({ n: z.number().int() }) } });
  const client = createClient({ url: process.env.REDIS_URL });
  await client.connect();
  const seen = [];
  let done;
  const all = new Promise((resolve) => (done = resolve));
  let failedOnce = false;
  const worker = createWorker(client, {
    topic, group: 'g', consumer: 'c1', startId: '0',
    failureHandler: createRecovery(client, { maxDeliveries: 3, backoff: [50] }),
    handlers: { ping: async (msg) => {
      // The first delivery of n=2 fails: recovery retries it.
      if (msg.data.n === 2 && !failedOnce) { failedOnce = true; throw new Error('flaky'); }
      seen.push(msg.data.n);
      if (seen.length === 3) done();
    } },
  });
  await worker.start();
  const producer = createProducer(client, { topic });
  for (const n of [1, 2, 3]) await producer.publish({ type: 'ping', data: { n } });
  let invalid;
  try { createProducer(client, { topic, retention: { maxLen: -1 } }); } catch (error) { invalid = isTributaryError(error) && error.code; }
  await all;
  await worker.stop();
  const pending = await pendingSummary(client, { topic, group: 'g' });
  await client.del([topic.keys.stream, topic.keys.stream + ':failures:g']);
  await client.close();
  console.log('cjs handled=' + seen.sort().join(',') + ' invalid=' + invalid + ' pending=' + pending.count);
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

/** Type-checks a consumer through each entry point's declarations (`import` → esm, `require` → cjs). */
const TYPED_ESM = `import { z } from 'zod';
import { defineTopic } from '@tributary/core';
import { createProducer, type PublishResult } from '@tributary/producer';
import { createWorker } from '@tributary/consumer-group';
import { createRecovery, type DeadLetter } from '@tributary/recovery';
import type { RedisClientType } from 'redis';

export function wire(client: RedisClientType): Promise<PublishResult> {
  const topic = defineTopic({ name: 't', types: { a: z.object({ n: z.number() }) } });
  const worker = createWorker(client, {
    topic, group: 'g', failureHandler: createRecovery(client, { onDeadLetter: (l: DeadLetter) => void l.reason }),
    handlers: { a: (msg) => { const n: number = msg.data.n; return n; } },
  });
  void worker;
  return createProducer(client, { topic }).publish({ type: 'a', data: { n: 1 } });
}
`;
/** In a .cts file the same imports compile to require() and resolve through the "require" condition. */
const TYPED_CJS = TYPED_ESM;

describe('the packed packages, installed into a new project', () => {
  let work: string;
  let app: string;
  let server: RedisServer;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tributary-tarballs-'));
    app = join(work, 'app');
    mkdirSync(app);
    server = await startRedis();
    for (const pkg of PACKAGES) ensureBuilt(pkg);
  });

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('npm pack yields tarballs that npm installs next to redis and zod', () => {
    const tarballs = PACKAGES.map((pkg) => pack(pkg, work));
    for (const tarball of tarballs) expect(existsSync(tarball)).toBe(true);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'tributary-user-app', version: '1.0.0', private: true }, null, 2)}\n`);
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs, 'redis@^6', 'zod@^4'], app, 240_000);
    for (const pkg of PACKAGES) {
      const installed = JSON.parse(readFileSync(join(app, 'node_modules/@tributary', pkg, 'package.json'), 'utf8')) as Manifest;
      expect(installed.version).toBe(manifestOf(pkg).version);
      expect(JSON.stringify(installed.dependencies ?? {})).not.toContain('workspace:');
    }
    // One copy of core, shared by every package (no nested duplicate from the registry).
    expect(readdirSync(join(app, 'node_modules/@tributary')).sort()).toEqual([...PACKAGES].sort());
    for (const pkg of PACKAGES) expect(existsSync(join(app, 'node_modules/@tributary', pkg, 'node_modules'))).toBe(false);
  });

  test('an ESM app (import) publishes, handles and dead-letters against Redis', () => {
    writeFileSync(join(app, 'app.mjs'), ESM_APP);
    const run = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000, env: { ...process.env, REDIS_URL: server.url } });
    expect({ status: run.status, stdout: run.stdout.trim(), stderr: run.stderr.trim() }).toEqual({
      status: 0, stdout: 'esm handled=o-1,o-2,o-3 rejected=ERR_VALIDATION dead-letter=decode', stderr: '',
    });
  });

  test('a CommonJS app (require) publishes, retries and handles against Redis', () => {
    writeFileSync(join(app, 'app.cjs'), CJS_APP);
    const run = spawnSync(process.execPath, ['app.cjs'], { cwd: app, encoding: 'utf8', timeout: 60_000, env: { ...process.env, REDIS_URL: server.url } });
    expect({ status: run.status, stdout: run.stdout.trim(), stderr: run.stderr.trim() }).toEqual({
      status: 0, stdout: 'cjs handled=1,2,3 invalid=ERR_INVALID_ARGUMENT pending=0', stderr: '',
    });
  });

  test('TypeScript resolves the types of both entry points (import → esm, require → cjs)', () => {
    writeFileSync(join(app, 'typed.mts'), TYPED_ESM);
    writeFileSync(join(app, 'typed.cts'), TYPED_CJS);
    const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
    const run = spawnSync(process.execPath, [
      tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck',
      '--typeRoots', join(ROOT, 'node_modules/@types'), '--types', 'node', '--listFiles', 'typed.mts', 'typed.cts',
    ], { cwd: app, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    const errors = run.stdout.split('\n').filter((l) => /error TS/.test(l));
    expect(errors).toEqual([]);
    expect(run.status).toBe(0);
    // Each entry point's declarations were the ones used.
    const used = run.stdout.split('\n').filter((l) => l.includes('node_modules/@tributary/')).map((l) => l.slice(l.indexOf('@tributary/')));
    for (const pkg of PACKAGES) expect(used).toEqual(expect.arrayContaining([`@tributary/${pkg}/dist/esm/index.d.ts`, `@tributary/${pkg}/dist/cjs/index.d.ts`]));
  });

  test('the app leaves nothing behind in Redis', async () => {
    const client = createClient({ url: server.url });
    await client.connect();
    try {
      expect(await client.keys('*')).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
