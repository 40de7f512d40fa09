/**
 * Child process: a live peer of a worker that will be killed. Library: a worker with
 * createRecovery (claimIdleMs, reclaimIntervalMs). Raw: an XREADGROUP loop plus an XAUTOCLAIM
 * sweep every `reclaimIntervalMs` for entries idle ≥ `claimIdleMs`, processing and acking what
 * it claims. Starts reading when the parent pushes to `goKey` (after the victim took the
 * messages) and prints `STARTED`; runs until SIGTERM; prints `RESULT {"handled":n}`.
 */
import { createRecovery } from '@tributary/recovery';
import { createWorker } from '@tributary/consumer-group';
import { childConfig, printResult, untilTerminated } from '../children.js';
import { startRawConsumer } from '../consumers.js';
import { benchTopic, EVENT_TYPE, rawDecode } from '../payload.js';
import { connectBench } from '../redis-setup.js';

interface Config {
  url: string;
  side: 'raw' | 'lib';
  goKey: string;
  topic: string;
  group: string;
  consumer: string;
  claimIdleMs: number;
  reclaimIntervalMs: number;
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const terminated = untilTerminated();
  const client = await connectBench(c.url);
  const topic = benchTopic(c.topic);
  const key = topic.keys.stream;
  let handled = 0;
  let stop: () => Promise<void>;
  // Connected and loaded, but not reading yet: the victim must get the messages first.
  process.stdout.write('READY\n');
  await client.sendCommand(['BLPOP', c.goKey, '0']);
  if (c.side === 'lib') {
    const worker = createWorker(client, {
      topic,
      group: c.group,
      consumer: c.consumer,
      concurrency: 100,
      createGroup: false,
      failureHandler: createRecovery(client, { claimIdleMs: c.claimIdleMs, reclaimIntervalMs: c.reclaimIntervalMs }),
      handlers: { [EVENT_TYPE]: async () => { handled++; } },
    });
    worker.on('worker-error', ({ stage, error }) => console.error(`worker-error (${stage})`, error));
    await worker.start();
    stop = () => worker.stop();
  } else {
    const reader = await startRawConsumer(client, { key, group: c.group, consumer: c.consumer, count: 100, onMessage: () => { handled++; } });
    let sweeping = false;
    const sweep = async (): Promise<void> => {
      if (sweeping) return;
      sweeping = true;
      try {
        let cursor = '0-0';
        do {
          const reply = (await client.sendCommand(['XAUTOCLAIM', key, c.group, c.consumer, String(c.claimIdleMs), cursor, 'COUNT', '100'])) as [string, [string, string[] | null][], string[]];
          cursor = reply[0];
          const ids: string[] = [];
          for (const [id, fields] of reply[1]) {
            if (fields) rawDecode(fields);
            handled++;
            ids.push(id);
          }
          if (ids.length > 0) await client.sendCommand(['XACK', key, c.group, ...ids]);
        } while (cursor !== '0-0');
      } finally {
        sweeping = false;
      }
    };
    const timer = setInterval(() => void sweep().catch((error: unknown) => console.error(error)), c.reclaimIntervalMs);
    stop = async () => {
      clearInterval(timer);
      await reader.stop();
    };
  }
  process.stdout.write('STARTED\n');
  await terminated;
  await stop();
  printResult({ handled });
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
