/**
 * Checks that run as tests: package.json consistency, layering, no import cycles, named
 * exports only, no unused exports, and publint on each built package. They read the source
 * tree, so a violation fails `yarn test` like any broken behaviour.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const published = ['core', 'producer', 'consumer-group', 'recovery'] as const;

/** Which of our packages each package may import (the layers of DESIGN.md). */
const allowedDeps: Record<(typeof published)[number], string[]> = {
  core: [],
  producer: ['@tributary/core'],
  'consumer-group': ['@tributary/core'],
  recovery: ['@tributary/core', '@tributary/consumer-group'],
};

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

const importRe = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(importRe)].map((m) => m[1]!);
}

function resolveRelative(from: string, spec: string): string {
  return resolve(dirname(from), spec.replace(/\.js$/, '.ts'));
}

describe.each(published)('package %s', (name) => {
  const dir = join(root, 'packages', name);
  const pkg = readJson(join(dir, 'package.json'));
  const files = sourceFiles(join(dir, 'src'));

  test('package.json has the shared shape', () => {
    expect(pkg['name']).toBe(`@tributary/${name}`);
    expect(pkg['type']).toBe('commonjs');
    expect(pkg['license']).toBe('MIT');
    expect(pkg['sideEffects']).toBe(false);
    expect(typeof pkg['description']).toBe('string');
    expect(pkg['engines']).toEqual({ node: '>=20.19.0' });
    expect(pkg['files']).toEqual(expect.arrayContaining(['dist', 'README.md']));
    expect(pkg['exports']).toEqual({
      '.': {
        import: { types: './dist/esm/index.d.ts', default: './dist/esm/index.js' },
        require: { types: './dist/cjs/index.d.ts', default: './dist/cjs/index.js' },
      },
      './package.json': './package.json',
    });
    expect(pkg['peerDependencies']).toEqual({ redis: '^6.0.0', zod: '^4.0.0' });
    const deps = Object.keys((pkg['dependencies'] as Record<string, string> | undefined) ?? {});
    expect(deps.sort()).toEqual([...allowedDeps[name]].sort());
    expect(existsSync(join(dir, 'README.md'))).toBe(true);
  });

  test('imports respect the layers', () => {
    for (const file of files) {
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) {
          expect(resolveRelative(file, spec).startsWith(join(dir, 'src'))).toBe(true);
        } else if (spec.startsWith('@tributary/')) {
          expect({ file: relative(root, file), spec, allowed: allowedDeps[name].includes(spec) }).toEqual({
            file: relative(root, file), spec, allowed: true,
          });
        } else {
          expect(['redis', 'zod'].includes(spec) || spec.startsWith('node:')).toBe(true);
        }
      }
    }
  });

  test('no import cycles between source files', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((s) => s.startsWith('.')).map((s) => resolveRelative(f, s))]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(dir, f)).join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    // Type-only imports vanish at run time, so only value cycles matter; this check is stricter.
    expect(cycles).toEqual([]);
  });

  test('index.ts re-exports by name only, and every exported name is used', () => {
    const index = join(dir, 'src', 'index.ts');
    const indexText = readFileSync(index, 'utf8');
    expect(indexText).not.toMatch(/export\s+\*/);
    const unused: string[] = [];
    for (const file of files) {
      if (file === index) continue;
      const text = readFileSync(file, 'utf8');
      const names = [...text.matchAll(/export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|const|let|type|interface)\s+([A-Za-z0-9_$]+)/g)].map((m) => m[1]!);
      const others = files.filter((f) => f !== file).map((f) => readFileSync(f, 'utf8')).join('\n');
      for (const n of names) {
        if (!new RegExp(`\\b${n.replace('$', '\\$')}\\b`).test(others)) unused.push(`${relative(dir, file)}: ${n}`);
      }
    }
    expect(unused).toEqual([]);
  });

  test('shipped sources carry no TODO/FIXME markers', () => {
    for (const file of files) expect({ file: relative(root, file), todo: /\b(TODO|FIXME|XXX)\b/.test(readFileSync(file, 'utf8')) }).toEqual({ file: relative(root, file), todo: false });
  });

  test('the built package passes publint with no errors or warnings', () => {
    expect(existsSync(join(dir, 'dist', 'cjs', 'index.js'))).toBe(true); // `yarn test` builds first
    // publint is ESM-only; its CLI runs it outside jest's CommonJS module system. No packing:
    // it reads the `files` list itself (the tarball install test packs for real).
    const cli = join(root, 'node_modules', 'publint', 'src', 'cli.js');
    const result = spawnSync(process.execPath, [cli, dir, '--strict', '--level', 'warning', '--pack', 'false'], { encoding: 'utf8' });
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: expect.not.stringMatching(/Warnings:|Errors:/) });
  });
});
