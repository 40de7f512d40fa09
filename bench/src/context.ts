import { randomBytes } from 'node:crypto';
import type { RedisClientType } from 'redis';
import type { ResultRow } from './report.js';
import type { Mode, Sizes } from './sizes.js';

/** What every scenario gets. */
export interface BenchContext {
  readonly url: string;
  readonly mode: Mode;
  readonly sizes: Sizes;
  /** Shared client with the per-command timeout off (the setting both sides use). */
  readonly client: RedisClientType;
  /** A separate connection for setup, cleanup and progress polling. */
  readonly monitor: RedisClientType;
  log(message: string): void;
}

/** One benchmark scenario: runs baseline and Tributary side by side and returns table rows. */
export interface Scenario {
  /** Name for `--scenario`. */
  readonly name: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<ResultRow[]>;
}

/** A fresh name for keys, groups and consumers (`[a-z0-9-]`). */
export function freshName(prefix: string): string {
  return `bench-${prefix}-${randomBytes(4).toString('hex')}`;
}
