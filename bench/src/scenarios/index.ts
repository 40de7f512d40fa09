import type { Scenario } from '../context.js';
import { bullmqScenario } from './bullmq.js';
import { consumeMultiScenario, consumeScenario } from './consume.js';
import { latencyScenario } from './latency.js';
import { memoryScenario } from './memory.js';
import { batchScenario, publishScenario, timeoutScenario } from './publish.js';
import { recoveryScenario } from './recovery.js';

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  publishScenario,
  timeoutScenario,
  batchScenario,
  consumeScenario,
  consumeMultiScenario,
  latencyScenario,
  bullmqScenario,
  memoryScenario,
  recoveryScenario,
];
