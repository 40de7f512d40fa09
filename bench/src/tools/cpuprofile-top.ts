/**
 * Prints the top functions of a V8 .cpuprofile (from `node --cpu-prof`) by self time, or by
 * inclusive time with `--inclusive`. `--filter <text>` keeps functions whose location contains it.
 * Usage: tsx src/tools/cpuprofile-top.ts <file.cpuprofile> [--top N] [--inclusive] [--filter packages/]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, inclusive: { type: 'boolean', default: false }, filter: { type: 'string' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: cpuprofile-top <file.cpuprofile> [--top N] [--inclusive] [--filter text]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfTime = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const label = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules|packages|bench)\//, '$1/')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};
const totals = new Map<string, number>();
if (values.inclusive) {
  // Inclusive time per function: a sample counts once per distinct function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  for (const [id, us] of selfTime) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = label(byId.get(cur)!);
      if (seen.has(name)) continue;
      seen.add(name);
      totals.set(name, (totals.get(name) ?? 0) + us);
    }
  }
} else {
  for (const [id, us] of selfTime) {
    const name = label(byId.get(id)!);
    totals.set(name, (totals.get(name) ?? 0) + us);
  }
}
const total = profile.endTime - profile.startTime;
const rows = [...totals.entries()]
  .filter(([name]) => !values.filter || name.includes(values.filter))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(values.top));
console.log(`total ${(total / 1000).toFixed(0)} ms (${values.inclusive ? 'inclusive' : 'self'} time)`);
for (const [name, us] of rows) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
