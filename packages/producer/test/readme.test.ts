// Runs every TypeScript example of packages/producer/README.md, verbatim (between the "README:"
// markers), against a real Redis, top to bottom as a reader would, and checks (last test) that
// the README and this file still show the same code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { connectRedis, defineTopic, ErrorCode, isTributaryError } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { type RedisServer, startRedis } from '@tributary/test-utils';

const README = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

let server: RedisServer;
const savedUrl = process.env.REDIS_URL;

beforeAll(async () => {
  server = await startRedis();
  process.env.REDIS_URL = server.url;
});

afterAll(async () => {
  if (savedUrl === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = savedUrl;
  await server?.stop();
});

afterEach(() => {
  jest.restoreAllMocks();
});

/** Captures console.log / console.warn output (the examples log). */
function captureConsole(): string[] {
  const lines: string[] = [];
  for (const method of ['log', 'warn'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(`${method}: ${args.map(String).join(' ')}`);
    });
  }
  return lines;
}

test('the README examples, top to bottom', async () => {
  const logs = captureConsole();

  // ── README: "Quick start" ──────────────────────────────────────────────────────────────
  const orders = defineTopic({
    name: 'orders',
    types: {
      'order.created': z.object({ orderId: z.string(), amount: z.number().positive() }),
      'order.cancelled': z.object({ orderId: z.string(), reason: z.string() }),
    },
  });
  const client = await connectRedis({ url: process.env.REDIS_URL });
  const producer = createProducer(client, { topic: orders });

  const { streamId, id } = await producer.publish({
    type: 'order.created',
    data: { orderId: 'o-1001', amount: 42 },
    headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  });
  console.log(`order o-1001 is entry ${streamId} of {orders}, message ${id}`);
  // ───────────────────────────────────────────────────────────────────────────────────────

  const xlen = async () => Number(await client.sendCommand(['XLEN', '{orders}']));
  try {
    expect(logs).toEqual([`log: order o-1001 is entry ${streamId} of {orders}, message ${id}`]);
    const [entry] = (await client.sendCommand(['XRANGE', '{orders}', '-', '+'])) as [string, string[]][];
    expect(entry).toEqual([
      streamId,
      [
        'type', 'order.created', 'data', '{"orderId":"o-1001","amount":42}', 'id', id, 'ts', expect.stringMatching(/^\d+$/),
        'h:traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      ],
    ]);

    {
      // ── README: "Retention" ────────────────────────────────────────────────────────────
      await producer.publish(
        { type: 'order.cancelled', data: { orderId: 'o-1001', reason: 'customer request' } },
        { retention: { maxAgeMs: 7 * 24 * 60 * 60 * 1000 } }, // keep a week (Redis ≥ 6.2)
      );
      // ─────────────────────────────────────────────────────────────────────────────────────
    }
    expect(await xlen()).toBe(2);

    {
      // ── README: "Idempotency" ──────────────────────────────────────────────────────────
      const checkout = { type: 'order.created', data: { orderId: 'o-1002', amount: 10 } } as const;
      const first = await producer.publish(checkout, { idempotencyKey: 'checkout-7f3a' });
      const retry = await producer.publish(checkout, { idempotencyKey: 'checkout-7f3a' });
      console.log(retry.duplicate, retry.streamId === first.streamId); // true true: written once
      // ─────────────────────────────────────────────────────────────────────────────────────
    }
    expect(logs.at(-1)).toBe('log: true true');
    expect(await xlen()).toBe(3);
    expect(await client.sendCommand(['EXISTS', '{orders}:idem:checkout-7f3a'])).toBe(1);

    {
      // ── README: "Batching" ─────────────────────────────────────────────────────────────
      const results = await producer.publishMany([
        { type: 'order.created', data: { orderId: 'o-2001', amount: 5 } },
        { type: 'order.created', data: { orderId: 'o-2002', amount: -1 } }, // fails its schema
        { type: 'order.cancelled', data: { orderId: 'o-2001', reason: 'duplicate order' } },
      ]);
      for (const result of results) {
        if (!result.ok) console.warn(`message #${result.index} not written: ${result.error.code}`);
      }
      console.log(`${results.filter((result) => result.ok).length} of ${results.length} written`); // 2 of 3
      // ─────────────────────────────────────────────────────────────────────────────────────
    }
    expect(logs.slice(-2)).toEqual(['warn: message #1 not written: ERR_VALIDATION', 'log: 2 of 3 written']);
    expect(await xlen()).toBe(5);

    {
      // ── README: "Writable" ─────────────────────────────────────────────────────────────
      async function* importOrders() {
        for (let n = 1; n <= 10_000; n++) {
          yield { type: 'order.created' as const, data: { orderId: `import-${n}`, amount: n } };
        }
      }
      await pipeline(Readable.from(importOrders()), producer.writable({ highWaterMark: 500 }));
      // ─────────────────────────────────────────────────────────────────────────────────────
    }
    expect(await xlen()).toBe(10_005);

    {
      // ── README: "Errors" ───────────────────────────────────────────────────────────────
      try {
        await producer.publish({ type: 'order.created', data: { orderId: 'o-3001', amount: -5 } });
      } catch (error) {
        if (!isTributaryError(error) || error.code !== ErrorCode.Validation) throw error;
        console.warn(`rejected, nothing written: ${error.message}`);
      }
      // ─────────────────────────────────────────────────────────────────────────────────────
    }
    expect(logs.at(-1)).toMatch(/^warn: rejected, nothing written: payload of "order.created" does not match its schema: amount: /);
    expect(await xlen()).toBe(10_005);
  } finally {
    // ── README: "producer.close()" ───────────────────────────────────────────────────────
    await producer.close(); // waits for in-flight publishes; the client stays open
    await client.close();
    // ─────────────────────────────────────────────────────────────────────────────────────
  }
  expect(client.isOpen).toBe(false);
});

test('every TypeScript block of the README appears verbatim in this file', () => {
  const self = readFileSync(__filename, 'utf8');
  const normalize = (text: string) => text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const selfLines = normalize(self);
  const importRe = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g;
  const namesOf = (list: string) => list.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter(Boolean);
  const selfImports = new Map<string, Set<string>>();
  for (const m of self.matchAll(importRe)) selfImports.set(m[2]!, new Set([...(selfImports.get(m[2]!) ?? []), ...namesOf(m[1]!)]));

  const blocks = [...README.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBe(7);
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
});
