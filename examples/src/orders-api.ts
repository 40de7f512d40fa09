// Orders API: an HTTP service (fastify) that publishes orders to a stream and processes them in a
// consumer group — the seed's express "orders" example, with validation, retries, a dead-letter
// stream and redrive.
//
//   POST /orders                         validated by the topic's zod schema: a bad body gets a 400
//                                        with every reason and writes nothing (Idempotency-Key honoured)
//   GET  /orders/history?count=&start=&end=&order=asc|desc   replay (XRANGE / XREVRANGE)
//   GET  /orders/pending                 pending messages: who holds them, idle time, deliveries
//   GET  /stream/info                    length, groups, consumers, pending, lag, dead-letter size
//   GET  /dlq?count=&start=              dead letters with reason and last error
//   POST /dlq/redrive                    {"ids"?, "reason"?, "limit"?, "ratePerSecond"?, "dryRun"?}
//   GET  /stats                          what this instance's consumers did
//
// Consumers (CONSUMERS per instance, default 2) fail FAILURE_RATE of the time (default 0.1) and
// always for product "poison"; a failed order is retried after a backoff and dead-lettered after
// 3 attempts. Start a second instance with another PORT: it joins the same group and shares the work.
//
// Run:     yarn tsx examples/src/orders-api.ts                 (PORT=3000; REDIS_URL, default redis://127.0.0.1:6379)
//          PORT=3001 yarn tsx examples/src/orders-api.ts       (a second instance, same group)
// Bounded: yarn tsx examples/src/orders-api.ts --messages 50   (on a free port, posts 50 sample orders to itself,
//          some invalid and some poison, waits until each is processed or dead-lettered, prints a summary, exits)
// Other flags: --reset (delete the topic's keys first), --quiet. Env: TOPIC (default example-orders),
// HOST (default 127.0.0.1), WORK_MS (simulated work per order, "min-max", default 5-25).
import { parseArgs } from 'node:util';
import { getGroupInfo } from '@tributary/consumer-group';
import { pendingSummary } from '@tributary/recovery';
import { connect, deleteTopicKeys, finish, parseFlags, positiveInt, printSummary, redisUrl, stopSignal, until, usageError } from './lib/cli.js';
import { reconcile } from './orders/reconcile.js';
import { type OrdersService, startOrdersService } from './orders/service.js';
import { ORDER_GROUP, ordersTopic, POISON_PRODUCT } from './orders/topic.js';

const USAGE = 'yarn tsx examples/src/orders-api.ts [--messages N] [--reset] [--quiet]';
const args = parseFlags(() => parseArgs({ options: { messages: { type: 'string' }, reset: { type: 'boolean' }, quiet: { type: 'boolean' } } }).values, USAGE);
const messages = positiveInt(args.messages, 'messages', USAGE);

function envNumber(name: string, fallback: number, check: (n: number) => boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) usageError(`${name}=${raw} is not valid`, USAGE);
  return n;
}
// The bounded self-test needs no fixed port: a free one, unless PORT says otherwise.
const port = envNumber('PORT', messages === undefined ? 3000 : 0, (n) => Number.isInteger(n) && n >= 0 && n < 65536);
const consumers = envNumber('CONSUMERS', 2, (n) => Number.isInteger(n) && n >= 1 && n <= 64);
const failureRate = envNumber('FAILURE_RATE', 0.1, (n) => n >= 0 && n <= 1);
const [minWork, maxWork] = (process.env.WORK_MS || '5-25').split('-').map(Number) as [number, number | undefined];
if (!Number.isFinite(minWork) || (maxWork !== undefined && !Number.isFinite(maxWork))) usageError(`WORK_MS=${process.env.WORK_MS} is not valid`, USAGE);

const signal = stopSignal();
const client = await connect();
const topic = ordersTopic(process.env.TOPIC || 'example-orders');
if (args.reset) console.log(`reset: deleted ${await deleteTopicKeys(client, topic)} keys of ${topic.keys.stream}`);

const host = process.env.HOST || '127.0.0.1';
let service: OrdersService;
try {
  service = await startOrdersService({
    client,
    topic,
    port,
    host,
    consumers,
    failureRate,
    workMs: [minWork, maxWork ?? minWork],
    verbose: messages === undefined && !args.quiet,
  });
} catch (error) {
  console.error(`cannot start the orders api on ${host}:${port}: ${(error as Error).message} (another PORT?)`);
  await client.close();
  process.exit(1);
}
console.log(`orders api listening on ${service.url} (stream ${topic.keys.stream}, group ${ORDER_GROUP}, ${consumers} consumers ${service.instance}-c1…, failure rate ${failureRate}, Redis ${redisUrl()})`);

let code = 0;
if (messages === undefined) {
  console.log(`try: curl -X POST ${service.url}/orders -H 'content-type: application/json' -d '{"orderId":1001,"product":"Laptop","quantity":2,"userId":42}'`);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
} else {
  code = await selfTest(messages);
}
await service.stop();
const stats = service.stats();
console.log(`stopped: processed=${stats.processed} retried=${stats.retried} dead-lettered=${stats.deadLettered} duplicates=${stats.duplicates}`);
await client.close();
finish(code);

/**
 * The bounded mode: posts `n` sample orders to this instance as a client would — every tenth
 * one invalid (quantity 0: rejected with a 400) and every tenth+5 a poison order (always fails:
 * retried, then dead-lettered) — then waits until every accepted order is processed or
 * dead-lettered and nothing is pending.
 */
async function selfTest(n: number): Promise<number> {
  const accepted: string[] = [];
  let rejected = 0;
  let expectedRejections = 0;
  let poison = 0;
  for (let i = 1; i <= n && !signal.aborted; i++) {
    const invalid = i % 10 === 0;
    const isPoison = i % 10 === 5;
    if (invalid) expectedRejections++;
    if (isPoison) poison++;
    const order = { orderId: 1000 + i, product: isPoison ? POISON_PRODUCT : `Item-${i}`, quantity: invalid ? 0 : 1 + (i % 3), userId: 100 };
    const response = await fetch(`${service.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    const body = (await response.json()) as { id?: string; issues?: { path: string; message: string }[] };
    if (response.status === 202 && body.id) {
      accepted.push(body.id);
    } else if (response.status === 400) {
      rejected++;
      console.log(`order ${order.orderId} rejected: ${body.issues?.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    } else {
      console.error(`order ${order.orderId}: unexpected ${response.status} ${JSON.stringify(body)}`);
    }
  }
  console.log(`posted ${n} orders: ${accepted.length} accepted, ${rejected} rejected, ${poison} poison`);
  let last = Date.now();
  const settled = await until(async () => {
    const r = await reconcile(client, topic, accepted);
    const pending = (await getGroupInfo(client, topic, ORDER_GROUP))?.pending ?? 0;
    if (Date.now() - last >= 1000) {
      last = Date.now();
      console.log(`waiting: processed=${r.processed} dead-lettered=${r.deadLettered} pending=${pending}`);
    }
    return r.lost === 0 && pending === 0;
  }, { signal, timeoutMs: 60_000, everyMs: 200 });
  const r = await reconcile(client, topic, accepted);
  const pending = (await pendingSummary(client, { topic, group: ORDER_GROUP })).count;
  printSummary({
    posted: n,
    accepted: accepted.length,
    rejected,
    poison,
    processed: r.processed,
    'dead-lettered': r.deadLettered,
    pending,
    lost: r.lost,
    consumers: Object.entries(service.stats().byConsumer).map(([name, count]) => `${name}:${count}`).join(','),
  });
  return settled && r.lost === 0 && r.inBoth === 0 && rejected === expectedRejections ? 0 : 1;
}
