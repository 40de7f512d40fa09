/**
 * Traces the commands one worker sends while consuming a pre-filled stream (TOPIC=…): which
 * connection, when sent, when answered. Shows serialized round trips in the read loop.
 * Usage: REDIS_URL=… TOPIC=… tsx src/tools/trace-worker.ts [messages] [concurrency] [batch]
 */
import { createWorker } from '@tributary/consumer-group';
import { type Commander, toCommander } from '@tributary/core';
import { freshName } from '../context.js';
import { benchTopic, EVENT_TYPE } from '../payload.js';
import { connectBench, createGroup, lastStreamId, waitConsumed } from '../redis-setup.js';

interface Event { conn: string; cmd: string; sent: number; replied: number }
const events: Event[] = [];

function traced(inner: Commander, name: string): Commander {
  return {
    ...inner,
    send(key, args, options) {
      const e: Event = { conn: name, cmd: `${args[0]}${args[0] === 'XACK' ? `(${args.length - 3})` : ''}`, sent: performance.now(), replied: 0 };
      events.push(e);
      const p = inner.send(key, args, options);
      void p.then(() => { e.replied = performance.now(); }, () => { e.replied = performance.now(); });
      return p;
    },
    async duplicate() {
      return traced(await inner.duplicate(), 'reader');
    },
  } as Commander;
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20000);
  const concurrency = Number(process.argv[3] ?? 500);
  const batchSize = Number(process.argv[4] ?? 500);
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = await connectBench(url);
  const monitor = await connectBench(url);
  const topic = benchTopic(process.env.TOPIC!);
  const lastId = await lastStreamId(client, topic.keys.stream);
  const group = freshName('g');
  await createGroup(monitor, topic.keys.stream, group);
  let handled = 0;
  const worker = createWorker(traced(toCommander(client), 'shared'), {
    topic, group, consumer: 'c', concurrency, batchSize, createGroup: false,
    handlers: { [EVENT_TYPE]: async () => { handled++; } },
  });
  const t0 = performance.now();
  await worker.start();
  await waitConsumed(monitor, topic.keys.stream, group, lastId, { ready: () => handled >= Math.min(total, 150000) });
  await worker.stop();
  const show = process.env.TRACE_SHOW ? events.filter((e) => e.sent - t0 > 200).slice(0, 24) : [];
  for (const e of show) console.log(`${(e.sent - t0).toFixed(2).padStart(9)} → ${(e.replied - t0).toFixed(2).padStart(9)}  ${e.conn.padEnd(6)} ${e.cmd}`);
  const reads = events.filter((e) => e.cmd === 'XREADGROUP');
  const acks = events.filter((e) => e.cmd.startsWith('XACK'));
  // A read that was sent only after an XACK's reply arrived waited one extra round trip for it.
  let waited = 0;
  for (const read of reads) {
    const before = acks.filter((a) => a.conn === 'shared' && a.sent <= read.sent && a.replied > 0 && a.replied <= read.sent && read.sent - a.replied < 1);
    if (before.length > 0) waited++;
  }
  const span = (reads[reads.length - 1]?.sent ?? 0) - (reads[0]?.sent ?? 0);
  console.log(`reads ${reads.length}, acks ${acks.length} (shared ${acks.filter((a) => a.conn === 'shared').length}, reader ${acks.filter((a) => a.conn === 'reader').length}); reads sent right after an XACK reply: ${waited}; ${(span / Math.max(1, reads.length - 1)).toFixed(3)} ms per read cycle`);
  await client.close();
  await monitor.close();
}
void main();
