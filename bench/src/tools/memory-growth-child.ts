/**
 * Child of memory-growth.ts: consumes a pre-filled stream (raw loop or worker) like
 * src/child/memory-worker.ts, but takes a detailed memory sample every `every` messages: what
 * process.memoryUsage() reports, V8's heap spaces (new space is where allocation pressure shows),
 * and the kernel's view (/proc/self/status, /proc/self/smaps: anonymous, brk heap, file-backed),
 * so RSS growth can be split into V8, malloc and the rest. Prints `RESULT {…}` (bytes).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { childConfig, printResult } from '../children.js';
import { startLibConsumer, startRawConsumer } from '../consumers.js';
import { benchTopic } from '../payload.js';
import { connectBench } from '../redis-setup.js';
import { startRawVariant, unlinkShiftedNodes } from './memory-growth-variants.js';

interface Config {
  url: string;
  /**
   * `raw`, `lib`, `raw:<option>,…` (the raw loop with node-redis per-command options the
   * library's reader uses: `signal`, one long-lived abortSignal; `timeout`, a per-command
   * timeout): see memory-growth-variants.ts.
   */
  side: string;
  topic: string;
  group: string;
  goKey: string;
  total: number;
  every: number;
  count: number;
  /** Force a full GC before each sample (retention), or not (the natural state). */
  gc: boolean;
  /** V8 flags set at start (space-separated), e.g. `--trace-gc`. */
  v8Flags: string;
  /**
   * Experiments on dependencies, in this process only: `list-unlink` makes node-redis's
   * SinglyLinkedList.shift() (its waiting-for-reply queue) clear the shifted node's `next`.
   */
  patch?: string;
  /**
   * Write a sampling heap profile here of what survives scavenges but dies in a mark-compact
   * (V8's includeObjectsCollectedByMajorGC, minor-GC garbage left out): the allocation stacks
   * of what gets promoted and then freed. Sampled from the first sample after 0 to the end.
   */
  profile?: string;
}

export interface DetailSample {
  at: number;
  ms: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** V8 total_physical_size: pages of the JS heap actually backed by memory. */
  v8Physical: number;
  /** space name → [space_size, space_used_size, physical_space_size]. */
  spaces: Record<string, [number, number, number]>;
  /** /proc/self/status in bytes. */
  rssAnon: number;
  rssFile: number;
  /** smaps: resident bytes of the brk heap (glibc's main malloc arena). */
  brkHeap: number;
  /** smaps: resident anonymous bytes outside the brk heap (V8 pages, mmap'd malloc arenas, stacks). */
  anonMapped: number;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Resident bytes of the [heap] mapping and of other anonymous mappings, from smaps. */
function smapsSplit(): { brkHeap: number; anonMapped: number } {
  let brkHeap = 0;
  let anonMapped = 0;
  let current: 'heap' | 'anon' | 'file' = 'file';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const name = header[2]!.trim();
      current = name === '[heap]' ? 'heap' : header[1] === '0' && (name === '' || name.startsWith('[anon')) ? 'anon' : 'file';
      continue;
    }
    if (line.startsWith('Rss:')) {
      const bytes = Number(/(\d+)/.exec(line)![1]) * 1024;
      if (current === 'heap') brkHeap += bytes;
      else if (current === 'anon') anonMapped += bytes;
    }
  }
  return { brkHeap, anonMapped };
}

function sample(at: number, start: number, collect: boolean): DetailSample {
  // A marker between --trace-gc lines (the forced GC, if any, comes right after it).
  process.stdout.write(`SAMPLE ${at}\n`);
  if (collect) gc();
  const m = process.memoryUsage();
  const spaces: DetailSample['spaces'] = {};
  for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = [s.space_size, s.space_used_size, s.physical_space_size];
  const status = readFileSync('/proc/self/status', 'utf8');
  return {
    at,
    ms: Math.round(performance.now() - start),
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    v8Physical: getHeapStatistics().total_physical_size,
    spaces,
    rssAnon: statusKb(status, 'RssAnon'),
    rssFile: statusKb(status, 'RssFile'),
    ...smapsSplit(),
  };
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const session = new Session();
  session.connect();
  for (const flag of c.v8Flags.split(' ').filter(Boolean)) setFlagsFromString(flag);
  if (c.patch === 'list-unlink') unlinkShiftedNodes();
  const client = await connectBench(c.url);
  const topic = benchTopic(c.topic);
  const samples: DetailSample[] = [];
  let received = 0;
  let start = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onMessage = (): void => {
    received++;
    // From a timer, not inside the handler (as memory-worker.ts does).
    if (received % c.every === 0 && received < c.total) {
      const at = received;
      setImmediate(() => {
        samples.push(sample(at, start, c.gc));
        if (at === c.every && c.profile) session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true });
      });
    }
    if (received === c.total) done();
  };
  samples.push(sample(0, performance.now(), c.gc));
  process.stdout.write('READY\n');
  await client.sendCommand(['BLPOP', c.goKey, '0']);
  start = performance.now();
  const consumer = c.side === 'raw'
    ? await startRawConsumer(client, { key: topic.keys.stream, group: c.group, consumer: 'memory', count: c.count, onMessage })
    : c.side === 'lib'
      ? await startLibConsumer(client, { topic, group: c.group, consumer: 'memory', concurrency: c.count, batchSize: c.count, onMessage })
      : await startRawVariant(client, c, topic.keys.stream, onMessage);
  await finished;
  await new Promise((resolve) => setImmediate(resolve));
  if (c.profile) {
    const profile = await new Promise<unknown>((resolve, reject) => {
      session.post('HeapProfiler.stopSampling', (error, result) => (error ? reject(error) : resolve(result.profile)));
    });
    writeFileSync(c.profile, JSON.stringify(profile));
  }
  samples.push(sample(received, start, c.gc));
  await consumer.stop();
  printResult(samples);
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
