import type { Scenario } from '../context.js';
import { consumeMultiScenario, consumeScenario } from './consume.js';
import { batchScenario, publishScenario, timeoutScenario } from './publish.js';

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  publishScenario,
  timeoutScenario,
  batchScenario,
  consumeScenario,
  consumeMultiScenario,
];
