import { z } from 'zod';

/**
 * How much of a stream to keep, applied on every publish (XADD's trimming arguments).
 * - `{ maxLen }`: keep about the newest `maxLen` entries (`MAXLEN ~`); `exact: true` uses
 *   `MAXLEN =` (slower: Redis must trim inside radix-tree nodes).
 * - `{ maxAgeMs }`: keep entries younger than this (`MINID ~ <now - maxAgeMs>`; Redis ≥ 6.2).
 * - `'none'`: never trim on publish.
 *
 * Trimming deletes entries whether or not a group has read or acked them; the recovery
 * package detects that and offers a safe trim.
 */
export type Retention =
  | { readonly maxLen: number; readonly exact?: boolean }
  | { readonly maxAgeMs: number; readonly exact?: boolean }
  | 'none';

/** Zod schema of {@link Retention}, shared by every package that accepts it. */
export const retentionSchema = z.union([
  z.literal('none'),
  z.strictObject({ maxLen: z.number().int().positive(), exact: z.boolean().optional() }),
  z.strictObject({ maxAgeMs: z.number().int().positive(), exact: z.boolean().optional() }),
]);

/**
 * XADD trimming arguments for a retention, e.g. `['MAXLEN', '~', '1000']`.
 * @param now - current time in ms (used by `maxAgeMs`)
 */
export function retentionArgs(retention: Retention, now: number): string[] {
  if (retention === 'none') return [];
  const op = retention.exact ? '=' : '~';
  if ('maxLen' in retention) return ['MAXLEN', op, String(retention.maxLen)];
  return ['MINID', op, String(Math.max(0, now - retention.maxAgeMs))];
}
