/**
 * Child process: publishes at a fixed rate (raw XADD or producer.publish), each payload stamped
 * with its high-resolution send time; starts when the parent pushes to `goKey`. Prints
 * `RESULT {"sent":n,"elapsedMs":…}` once every publish was acknowledged.
 */
import { createProducer } from '@tributary/producer';
import { childConfig, printResult } from '../children.js';
import { benchTopic, EVENT_TYPE, rawXaddArgs, rawXaddHead, stampedPayload } from '../payload.js';
import { connectBench } from '../redis-setup.js';

interface Config {
  url: string;
  side: 'raw' | 'lib';
  topic: string;
  goKey: string;
  rate: number;
  total: number;
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const client = await connectBench(c.url);
  const topic = benchTopic(c.topic);
  const producer = createProducer(client, { topic });
  const head = rawXaddHead(topic.keys.stream);
  const send = c.side === 'raw'
    ? (i: number) => client.sendCommand(rawXaddArgs(head, stampedPayload(i)))
    : (i: number) => producer.publish({ type: EVENT_TYPE, data: stampedPayload(i) });
  process.stdout.write('READY\n');
  await client.sendCommand(['BLPOP', c.goKey, '0']);
  const pending: Promise<unknown>[] = [];
  let sent = 0;
  const start = performance.now();
  // Every ~1 ms timer tick sends what is due by now: the rate holds on average and messages are
  // spread over the second instead of sent in bursts.
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(c.total, Math.floor(((performance.now() - start) * c.rate) / 1000));
      while (sent < due) pending.push(send(sent++));
      if (sent >= c.total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const elapsedMs = performance.now() - start;
  const results = await Promise.allSettled(pending);
  const failed = results.filter((r) => r.status === 'rejected').length;
  printResult({ sent, failed, elapsedMs });
  await producer.close();
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
