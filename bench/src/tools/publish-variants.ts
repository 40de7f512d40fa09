/**
 * Client CPU per message of publish variants between raw sendCommand and producer.publish, to
 * find what the library adds. Usage: REDIS_URL=… tsx src/tools/publish-variants.ts [messages]
 */
import { encodeMessage, toCommander } from '@tributary/core';
import { createProducer } from '@tributary/producer';
import { RESP_TYPES } from 'redis';
import { freshName } from '../context.js';
import { benchTopic, EVENT_TYPE, payload, rawXaddArgs, rawXaddHead } from '../payload.js';
import { connectBench } from '../redis-setup.js';
import { pipelined, rate } from '../timing.js';

const MAPPING = {
  [RESP_TYPES.MAP]: Array,
  [RESP_TYPES.BLOB_STRING]: String,
  [RESP_TYPES.SIMPLE_STRING]: String,
  [RESP_TYPES.VERBATIM_STRING]: String,
  [RESP_TYPES.SET]: Array,
  [RESP_TYPES.DOUBLE]: Number,
  [RESP_TYPES.BIG_NUMBER]: String,
};

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 100_000);
  const client = await connectBench(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const topic = benchTopic(freshName('variants'));
  const key = topic.keys.stream;
  const head = rawXaddHead(key);
  const commander = toCommander(client);
  const producer = createProducer(client, { topic });
  const variants: Record<string, (i: number) => Promise<unknown>> = {
    'raw sendCommand': (i) => client.sendCommand(rawXaddArgs(head, payload(i))),
    'raw + typeMapping': (i) => client.sendCommand(rawXaddArgs(head, payload(i)), { typeMapping: MAPPING }),
    'commander.send raw args': (i) => commander.send(key, rawXaddArgs(head, payload(i))),
    'commander.send encodeMessage': (i) => commander.send(key, head.concat(encodeMessage(topic, { type: EVENT_TYPE, data: payload(i) }))),
    'producer.publish': (i) => producer.publish({ type: EVENT_TYPE, data: payload(i) }),
  };
  const results: Record<string, number[][]> = {};
  for (let round = 0; round < 4; round++) {
    for (const [name, send] of Object.entries(variants)) {
      const cpu0 = process.cpuUsage();
      const ms = await pipelined(total, 1000, send);
      const cpu = process.cpuUsage(cpu0);
      (results[name] ??= []).push([rate(total, ms), (cpu.user + cpu.system) / total]);
      await client.sendCommand(['DEL', key]);
    }
  }
  for (const [name, rs] of Object.entries(results)) {
    const rates = rs.map((r) => r[0]!).sort((a, b) => a - b);
    const cpus = rs.map((r) => r[1]!).sort((a, b) => a - b);
    console.log(`${name.padEnd(30)} median ${Math.round(rates[rates.length >> 1]!)} msgs/s, CPU min ${cpus[0]!.toFixed(2)} µs/msg, median ${cpus[cpus.length >> 1]!.toFixed(2)}`);
  }
  await client.close();
}
void main();
