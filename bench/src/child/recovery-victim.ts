/**
 * Child process: a worker whose handler never finishes, so every message it reads stays
 * pending under its name. Prints `HOLDING` once it holds `held` messages; the parent then
 * kills it with SIGKILL.
 */
import { createWorker } from '@tributary/consumer-group';
import { childConfig } from '../children.js';
import { benchTopic, EVENT_TYPE } from '../payload.js';
import { connectBench } from '../redis-setup.js';

interface Config {
  url: string;
  topic: string;
  group: string;
  consumer: string;
  held: number;
}

async function main(): Promise<void> {
  const c = childConfig<Config>();
  const client = await connectBench(c.url);
  let holding = 0;
  const worker = createWorker(client, {
    topic: benchTopic(c.topic),
    group: c.group,
    consumer: c.consumer,
    concurrency: c.held,
    createGroup: false,
    handlers: {
      [EVENT_TYPE]: () => {
        if (++holding === c.held) process.stdout.write('HOLDING\n');
        return new Promise(() => undefined);
      },
    },
  });
  await worker.start();
  process.stdout.write('READY\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
