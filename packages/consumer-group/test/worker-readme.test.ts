// Runs every TypeScript example of packages/consumer-group/README.md, verbatim (between the
// "README:" markers), against a real Redis, and checks (last test) that the README and this file
// still show the same code. The examples call application functions (charge, audit…): each test
// defines them, recording what they were called with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { connectRedis, defineTopic, encodeMessage, type OutgoingMessage, toCommander } from '@tributary/core';
import {
  createCheckpointReader,
  createWorker,
  destroyGroup,
  ensureGroup,
  type FailureHandler,
  getGroupInfo,
  iterateHistory,
  listConsumers,
  listGroups,
  readHistory,
} from '@tributary/consumer-group';
import { type RedisServer, startRedis, waitFor } from '@tributary/test-utils';
import { pendingCount, publish, publishRaw } from './helpers/worker-harness.js';

const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

let server: RedisServer;
const savedUrl = process.env.REDIS_URL;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startRedis();
  process.env.REDIS_URL = server.url;
});
beforeEach(async () => {
  const admin = await connectRedis({ url: server.url });
  await admin.sendCommand(['FLUSHALL']);
  await admin.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  jest.restoreAllMocks();
});
afterAll(async () => {
  if (savedUrl === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = savedUrl;
  await server?.stop();
});

/** The README's topic, and a client (closed after the test), for examples that assume both. */
async function setup() {
  const orders = defineTopic({
    name: 'orders',
    types: {
      'order.created': z.object({ orderId: z.string(), amount: z.number() }),
      'order.cancelled': z.object({ orderId: z.string(), reason: z.string() }),
    },
  });
  const client = await connectRedis({ url: process.env.REDIS_URL });
  cleanups.push(() => client.close());
  return { orders, client };
}

type Orders = Awaited<ReturnType<typeof setup>>['orders'];
const created = (orderId: string, amount = 10): OutgoingMessage<Orders['types']> => ({ type: 'order.created', data: { orderId, amount } });

/** Captures console.log / console.warn output (the examples log). */
function captureConsole() {
  const lines: string[] = [];
  for (const method of ['log', 'warn'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => { lines.push(`${method}: ${args.map(String).join(' ')}`); });
  }
  return lines;
}

test('quick start, then stop', async () => {
  const logs = captureConsole();
  const charged: [string, number][] = [];
  const charge = async (orderId: string, amount: number) => {
    if (orderId === 'o-declined') throw new Error('card declined');
    charged.push([orderId, amount]);
  };

  // ── README: "Quick start" ──────────────────────────────────────────────────────────────
  const orders = defineTopic({
    name: 'orders',
    types: {
      'order.created': z.object({ orderId: z.string(), amount: z.number() }),
      'order.cancelled': z.object({ orderId: z.string(), reason: z.string() }),
    },
  });
  const client = await connectRedis({ url: process.env.REDIS_URL });

  const worker = createWorker(client, {
    topic: orders,
    group: 'billing',
    consumer: process.env.POD_NAME ?? 'billing-1', // stable across restarts
    concurrency: 20,
    handlers: {
      'order.created': async (msg) => {
        await charge(msg.data.orderId, msg.data.amount); // resolves → acknowledged
      },
    },
    defaultHandler: async (msg) => {
      console.log(`billing ignores ${msg.type} ${msg.id}`);
    },
  });
  worker.on('failure', (f) => console.warn(`${f.kind} on ${f.streamId}: left ${f.outcome}`));
  await worker.start();
  // ───────────────────────────────────────────────────────────────────────────────────────
  cleanups.push(() => client.close(), () => worker.stop({ timeoutMs: 100 }));

  const ids = await publish(client, orders, [
    created('o-1', 10),
    { type: 'order.cancelled', data: { orderId: 'o-2', reason: 'changed mind' }, id: 'msg-2' },
    created('o-declined', 99),
    created('o-3', 5.5),
  ]);
  await waitFor(() => charged.length === 2 && logs.length === 2);
  expect(charged).toEqual([['o-1', 10], ['o-3', 5.5]]);
  expect(logs.sort()).toEqual([`log: billing ignores order.cancelled msg-2`, `warn: handler-error on ${ids[2]}: left pending`]);

  // ── README: stop ───────────────────────────────────────────────────────────────────────
  await worker.stop({ timeoutMs: 10_000 }); // stop reading, let running handlers finish, flush acks
  // ───────────────────────────────────────────────────────────────────────────────────────
  expect(worker.running).toBe(false);
  // Only the declined order is left pending.
  expect(await pendingCount(toCommander(client), orders, 'billing')).toBe(1);
});

test('handler context: signal, deliveries, lease', async () => {
  const logs = captureConsole();
  const { orders, client } = await setup();
  const exported: string[] = [];
  const exportOrder = async (data: { orderId: string }, signal: AbortSignal) => { expect(signal.aborted).toBe(false); exported.push(`order ${data.orderId}`); };
  const exportInvoice = async (orderId: string, signal: AbortSignal) => { expect(signal.aborted).toBe(false); exported.push(`invoice ${orderId}`); };

  // ── README: "Handler context" ──────────────────────────────────────────────────────────
  const exporter = createWorker(client, {
    topic: orders,
    group: 'export',
    handlerTimeoutMs: 60_000,
    leaseRenewMs: 5_000, // long handlers keep their lease automatically…
    handlers: {
      'order.created': async (msg, ctx) => {
        console.log(`delivery #${ctx.deliveries} of ${msg.id} to ${ctx.group}/${ctx.consumer}`);
        await exportOrder(msg.data, ctx.signal); // pass the signal on: it aborts on timeout or stop
        if (!(await ctx.extendLease())) return; // …or extend it yourself; false: a peer took it over
        await exportInvoice(msg.data.orderId, ctx.signal);
      },
    },
  });
  await exporter.start();
  // ───────────────────────────────────────────────────────────────────────────────────────
  cleanups.push(() => exporter.stop());

  await publish(client, orders, [{ ...created('o-7'), id: 'msg-7' }]);
  await waitFor(() => exported.length === 2);
  expect(exported).toEqual(['order o-7', 'invoice o-7']);
  expect(logs).toEqual([`log: delivery #1 of msg-7 to export/${exporter.consumer}`]);
  await waitFor(async () => (await pendingCount(toCommander(client), orders, 'export')) === 0);
});

test('manual acknowledgement', async () => {
  const { orders, client } = await setup();
  const written: string[][] = [];
  const writeBatch = async (orderIds: string[]) => { written.push(orderIds); };

  // ── README: "Handler context", manual ack ──────────────────────────────────────────────
  const pendingWrites: { orderId: string; ack: () => void }[] = [];
  const warehouse = createWorker(client, {
    topic: orders,
    group: 'warehouse',
    ackMode: 'manual',
    handlers: {
      'order.created': (msg, ctx) => {
        pendingWrites.push({ orderId: msg.data.orderId, ack: () => ctx.ack() });
      },
    },
  });
  await warehouse.start();
  // ───────────────────────────────────────────────────────────────────────────────────────
  cleanups.push(() => warehouse.stop());

  await publish(client, orders, [created('a'), created('b'), created('c')]);
  await waitFor(() => pendingWrites.length === 3);
  expect(await pendingCount(toCommander(client), orders, 'warehouse')).toBe(3);

  // ── README: manual ack, later ──────────────────────────────────────────────────────────
  await writeBatch(pendingWrites.map((w) => w.orderId));
  for (const write of pendingWrites.splice(0)) write.ack(); // acknowledged now, long after the handlers returned
  // ───────────────────────────────────────────────────────────────────────────────────────
  expect(written).toEqual([['a', 'b', 'c']]);
  await waitFor(async () => (await pendingCount(toCommander(client), orders, 'warehouse')) === 0);
});

test('for await', async () => {
  const { orders, client } = await setup();
  await publish(client, orders, [created('a'), created('b'), created('c')]);
  const audits: string[] = [];
  const audit = async (type: string, id: string, deliveries: number) => {
    audits.push(`${type} ${deliveries}`);
    if (audits.length === 3) void auditor.stop(); // ends the loop below once this message is done
  };

  // ── README: "For await and streams" ────────────────────────────────────────────────────
  const auditor = createWorker(client, { topic: orders, group: 'audit', startId: '0', concurrency: 1 });
  for await (const msg of auditor) {
    await audit(msg.type, msg.id, msg.deliveries); // the loop asking for the next message acks this one
  }
  // ───────────────────────────────────────────────────────────────────────────────────────
  expect(audits).toEqual(['order.created 1', 'order.created 1', 'order.created 1']);
  expect(auditor.running).toBe(false);
  expect(await pendingCount(toCommander(client), orders, 'audit')).toBe(0);
});

test('readable() in a pipeline', async () => {
  const { orders, client } = await setup();
  await publish(client, orders, [created('a'), created('bad'), created('c'), created('d')]);
  const archived: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the README's Writable receives `any`
  const archive = async (msg: any) => {
    if (msg.data.orderId === 'bad') throw new Error('cannot archive');
    archived.push(msg.data.orderId);
    if (archived.length === 3) void archiver.stop(); // ends the Readable, so the pipeline resolves
  };

  // ── README: readable() ─────────────────────────────────────────────────────────────────
  const archiver = createWorker(client, { topic: orders, group: 'archive', startId: '0', concurrency: 50 });
  await pipeline(
    archiver.readable(),
    new Writable({
      objectMode: true,
      write(msg, _encoding, callback) {
        archive(msg).then(() => { msg.ack(); callback(); }, (error) => { msg.fail(error); callback(); });
      },
    }),
  );
  // ───────────────────────────────────────────────────────────────────────────────────────
  expect(archived.sort()).toEqual(['a', 'c', 'd']);
  expect(archiver.stats()).toMatchObject({ succeeded: 3, failed: 1, acked: 3 });
  expect(await pendingCount(toCommander(client), orders, 'archive')).toBe(1); // the failed one
});

test('group lifecycle', async () => {
  const logs = captureConsole();
  const { orders, client } = await setup();
  const billing = createWorker(client, { topic: orders, group: 'billing', consumer: 'billing-1', handlers: { 'order.created': () => undefined } });
  cleanups.push(() => billing.stop());
  await billing.start();
  await publish(client, orders, [created('a'), created('b')]);
  await waitFor(async () => (await pendingCount(toCommander(client), orders, 'billing')) === 0 && billing.stats().acked === 2);

  // ── README: "Group lifecycle" ──────────────────────────────────────────────────────────
  await ensureGroup(client, orders, 'analytics', '0'); // { created: true }; again: { created: false }
  const info = await getGroupInfo(client, orders, 'analytics'); // undefined if there is no such group
  console.log(info?.pending, info?.lag, info?.lastDeliveredId);
  for (const c of await listConsumers(client, orders, 'billing')) console.log(c.name, c.pending, c.idleMs);
  console.log((await listGroups(client, orders)).map((g) => g.name));
  await destroyGroup(client, orders, 'analytics'); // forgets its pending list; the entries stay in the stream
  // ───────────────────────────────────────────────────────────────────────────────────────
  expect(logs[0]).toBe('log: 0 2 0-0'); // nothing pending, both entries still to read
  expect(logs[1]).toMatch(/^log: billing-1 0 \d+$/);
  expect(logs[2]).toBe('log: analytics,billing');
  expect(await getGroupInfo(client, orders, 'analytics')).toBeUndefined();
  expect(await ensureGroup(client, orders, 'billing')).toEqual({ created: false });
  expect(await destroyGroup(client, orders, 'analytics')).toBe(false);
});

test('a failure-handler plug-in', async () => {
  const logs = captureConsole();
  const { orders, client } = await setup();
  const charge = async (orderId: string, amount: number) => {
    if (amount > 100) throw new Error(`limit exceeded for ${orderId}`);
  };

  // ── README: "Failure handlers (plug-ins)" ──────────────────────────────────────────────
  const logFailures: FailureHandler = {
    async onFailure(delivery) {
      console.warn(`${delivery.kind} on ${delivery.streamId} (delivery #${delivery.deliveries})`);
      return 'pending'; // or 'dead-lettered' once you moved it away and acknowledged it
    },
    attach(handle) {
      console.log(`attached to ${handle.group}/${handle.consumer}, ${handle.freeSlots()} free slots`);
      return async () => {}; // awaited by stop(), before the final ack flush
    },
  };
  const audited = createWorker(client, {
    topic: orders,
    group: 'audited',
    failureHandler: logFailures,
    handlers: { 'order.created': async (msg) => { await charge(msg.data.orderId, msg.data.amount); } },
  });
  await audited.start();
  // ───────────────────────────────────────────────────────────────────────────────────────
  cleanups.push(() => audited.stop());

  const ids = await publish(client, orders, [created('small', 5), created('big', 500)]);
  await waitFor(() => audited.stats().succeeded === 1 && audited.stats().failed === 1 && logs.length === 2);
  expect(logs).toEqual([
    `log: attached to audited/${audited.consumer}, 10 free slots`,
    `warn: handler-error on ${ids[1]} (delivery #1)`,
  ]);
  await audited.stop();
  expect(await pendingCount(toCommander(client), orders, 'audited')).toBe(1);
});

test('history: the newest page, then the next one', async () => {
  const logs = captureConsole();
  const { orders, client } = await setup();
  const ids = await publish(client, orders, Array.from({ length: 25 }, (_, i) => created(`o-${i}`, i)));

  // ── README: "Reading history" ──────────────────────────────────────────────────────────
  // The 20 newest orders, newest first, then the 20 before them (what GET /orders/history serves):
  const newest = await readHistory(client, { topic: orders, reverse: true, count: 20 });
  for (const msg of newest.messages) console.log(msg.streamId, msg.type, msg.data.orderId);
  if (newest.next) {
    const older = await readHistory(client, { topic: orders, reverse: true, count: 20, end: newest.next });
    console.log(`${older.messages.length} older orders, next: ${older.next ?? 'none'}`);
  }
  // ───────────────────────────────────────────────────────────────────────────────────────
  expect(newest.next).toBe(`(${ids[5]}`); // exclusive: the next page starts below the last one shown
  expect(newest.malformed).toEqual([]);
  expect(logs).toEqual([
    ...ids.slice(5).reverse().map((id, i) => `log: ${id} order.created o-${24 - i}`),
    'log: 5 older orders, next: none',
  ]);
});

test('history: iterateHistory rebuilds a projection page by page', async () => {
  const logs = captureConsole();
  const { orders, client } = await setup();
  const commander = toCommander(client);
  const key = orders.keys.stream;
  // Written long before the range (ID time 1970): left out.
  await commander.send(key, ['XADD', key, '1000-0', ...encodeMessage(orders, created('ancient', 1))]);
  await publish(client, orders, Array.from({ length: 600 }, (_, i) => created(`o-${i}`, i)));
  await publish(client, orders, [{ type: 'order.cancelled', data: { orderId: 'o-0', reason: 'duplicate' } }]);
  const badId = await publishRaw(client, orders, ['type', 'order.created', 'data', '{"orderId":"o-x"}']); // no amount
  await commander.send(undefined, ['CONFIG', 'RESETSTAT']);

  // ── README: iterateHistory ─────────────────────────────────────────────────────────────
  // Rebuild a projection from the last 24 hours, 500 entries per XRANGE:
  const amounts = new Map<string, number>();
  const since = new Date(Date.now() - 24 * 3600_000);
  for await (const page of iterateHistory(client, { topic: orders, start: since, count: 500 })) {
    for (const msg of page.messages) {
      if (msg.type === 'order.created') amounts.set(msg.data.orderId, msg.data.amount);
      else amounts.delete(msg.data.orderId);
    }
    for (const bad of page.malformed) console.warn(`skipped ${bad.streamId}: ${bad.error.message}`);
  }
  // ───────────────────────────────────────────────────────────────────────────────────────
  expect(amounts.size).toBe(599);
  expect(amounts.has('o-0') || amounts.has('ancient') || amounts.has('o-x')).toBe(false);
  expect(amounts.get('o-599')).toBe(599);
  expect(logs).toHaveLength(1);
  expect(logs[0]).toMatch(new RegExp(`^warn: skipped ${badId}: \\S`));
  // 602 entries in range, 500 a page: two XRANGE calls (each reads one entry ahead).
  const commandStats = String(await commander.send(undefined, ['INFO', 'commandstats']));
  expect(commandStats).toMatch(/cmdstat_xrange:calls=2,/);
});

test('checkpointed reader: in order, a failure retried, resumed by the next reader of that name', async () => {
  const logs = captureConsole();
  const { orders, client } = await setup();
  const commander = toCommander(client);
  const calls: string[] = [];
  const index = new Map<string, number>();
  let unindexFailures = 1; // the search service fails once
  const indexOrder = async (orderId: string, amount: number) => {
    calls.push(`index ${orderId}`);
    index.set(orderId, amount);
  };
  const unindexOrder = async (orderId: string, signal: AbortSignal) => {
    expect(signal.aborted).toBe(false);
    calls.push(`unindex ${orderId}`);
    if (unindexFailures-- > 0) throw new Error('search service unavailable');
    index.delete(orderId);
  };
  const ids = await publish(client, orders, [
    created('o-1', 10),
    { type: 'order.cancelled', data: { orderId: 'o-1', reason: 'duplicate' } },
    created('o-2', 20),
  ]);

  // ── README: "Checkpointed reader" ──────────────────────────────────────────────────────
  const indexer = createCheckpointReader(client, {
    topic: orders,
    name: 'search-index', // its position lives in {orders}:checkpoint:search-index
    startId: '0', // first start only: read the whole stream; later starts resume from the checkpoint
    handlers: {
      'order.created': async (msg) => {
        await indexOrder(msg.data.orderId, msg.data.amount); // resolves → the checkpoint moves past it
      },
      'order.cancelled': async (msg, ctx) => {
        await unindexOrder(msg.data.orderId, ctx.signal); // throws → retried; later messages wait
      },
    },
  });
  indexer.on('message-error', (e) => console.warn(`${e.streamId} failed (attempt ${e.attempt}), retry in ${e.retryInMs} ms`));
  await indexer.start();
  // ───────────────────────────────────────────────────────────────────────────────────────
  cleanups.push(() => indexer.stop());

  await waitFor(async () => (await indexer.position()) === ids[2]);
  expect(calls).toEqual(['index o-1', 'unindex o-1', 'unindex o-1', 'index o-2']); // o-2 waited for the retry
  expect([...index]).toEqual([['o-2', 20]]);
  expect(logs).toEqual([`warn: ${ids[1]} failed (attempt 1), retry in 1000 ms`]);
  expect(indexer.checkpointKey).toBe('{orders}:checkpoint:search-index');
  expect(await commander.send(indexer.checkpointKey, ['GET', '{orders}:checkpoint:search-index'])).toBe(ids[2]);
  expect(indexer.stats()).toEqual({ handled: 3, failedAttempts: 1, malformed: 0 });
  await indexer.stop();
  expect(indexer.running).toBe(false);
  expect(await indexer.position()).toBe(ids[2]);

  // A new reader under the same name resumes after the checkpoint (startId no longer matters).
  const [later] = await publish(client, orders, [created('o-3', 30)]);
  const seen: string[] = [];
  const resumed = createCheckpointReader(client, { topic: orders, name: 'search-index', startId: '0', defaultHandler: (msg) => void seen.push(msg.streamId) });
  cleanups.push(() => resumed.stop());
  const started = new Promise((resolve) => resumed.once('started', resolve));
  await resumed.start();
  await expect(started).resolves.toEqual({ name: 'search-index', position: ids[2] });
  await waitFor(async () => (await resumed.position()) === later);
  expect(seen).toEqual([later]);
});

test('every TypeScript block of the README appears verbatim in this file', () => {
  const self = readFileSync(__filename, 'utf8');
  const normalize = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const selfLines = normalize(self);
  const importRe = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g;
  const namesOf = (list: string) => list.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean);
  const selfImports = new Map<string, Set<string>>();
  for (const m of self.matchAll(importRe)) selfImports.set(m[2]!, new Set([...(selfImports.get(m[2]!) ?? []), ...namesOf(m[1]!)]));
  const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(12);
  for (const block of blocks) {
    // Imports: every name the README imports is imported here from the same module.
    for (const m of block.matchAll(importRe)) {
      for (const name of namesOf(m[1]!)) {
        expect({ name, from: m[2], imported: selfImports.get(m[2]!)?.has(name) ?? false }).toEqual({ name, from: m[2], imported: true });
      }
    }
    // Code: the rest of the block, line for line (indentation aside), as one contiguous run.
    const code = normalize(block.replace(/^import [\s\S]*?from '[^']+';$/gm, ''));
    const found = selfLines.some((_, start) => code.every((line, i) => selfLines[start + i] === line));
    expect({ found, code: code.join('\n') }).toEqual({ found: true, code: code.join('\n') });
  }
  // The section the history/checkpoint engineer fills is there.
  expect(README).toMatch(/^## History and checkpointed reader$/m);
});
