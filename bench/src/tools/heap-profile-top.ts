/**
 * Top allocation sites of a sampling heap profile (`.heapprofile`, e.g. from memory-growth.ts
 * --profile): bytes by allocating function (self) and by the innermost frames of the stack.
 * Usage: yarn run -T tsx src/tools/heap-profile-top.ts FILE [top=25] [depth=6]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}
interface Profile {
  head: ProfileNode;
  samples: { size: number; nodeId: number }[];
}

const frameName = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|\.bench-tmp|src)\//, '$1/')}:${f.lineNumber + 1}`;

function main(): void {
  const [file, topArg, depthArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: heap-profile-top.ts FILE [top] [depth]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const top = Number(topArg ?? 25);
  const depth = Number(depthArg ?? 6);
  // Stack of every node, innermost first.
  const stacks = new Map<number, CallFrame[]>();
  const walk = (node: ProfileNode, parents: CallFrame[]): void => {
    const stack = [node.callFrame, ...parents];
    stacks.set(node.id, stack);
    for (const child of node.children) walk(child, stack);
  };
  walk(profile.head, []);
  const bySelf = new Map<string, number>();
  const byStack = new Map<string, number>();
  let total = 0;
  for (const sample of profile.samples) {
    const stack = stacks.get(sample.nodeId) ?? [];
    total += sample.size;
    const self = stack[0] ? frameName(stack[0]) : '?';
    bySelf.set(self, (bySelf.get(self) ?? 0) + sample.size);
    const key = stack.slice(0, depth).filter((f) => f.functionName !== '(root)').map(frameName).join('\n    ← ');
    byStack.set(key, (byStack.get(key) ?? 0) + sample.size);
  }
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB (${((b / total) * 100).toFixed(1)}%)`;
  console.log(`total sampled ${mib(total)} in ${profile.samples.length} samples\n\nby allocating function:`);
  for (const [name, bytes] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${mib(bytes)}  ${name}`);
  console.log(`\nby stack (innermost ${depth} frames):`);
  for (const [name, bytes] of [...byStack].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${mib(bytes)}  ${name}`);
}

main();
