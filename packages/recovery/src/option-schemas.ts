import type { Topic } from '@tributary/core';
import { z } from 'zod';

/** A topic made by `defineTopic()`. */
export const topicSchema = z.custom<Topic>(
  (v) => typeof v === 'object' && v !== null && 'keys' in v && 'types' in v && typeof (v as Topic).hasType === 'function',
  { message: 'expected a topic from defineTopic()' },
);

/** A stream ID (`<ms>-<seq>`) or the range markers `-` / `+`. */
export const rangeIdSchema = z.string().regex(/^(-|\+|\(?\d+(-\d+)?)$/, 'expected a stream ID, "-" or "+"');
