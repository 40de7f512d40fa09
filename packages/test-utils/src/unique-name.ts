import { randomBytes } from 'node:crypto';

/**
 * Returns a name such as `orders-3f9a1c2b5d7e`, unique per call, for stream keys, group names and
 * consumer names.
 *
 * Uniqueness comes from 48 random bits rather than a counter, because jest runs test files in
 * several worker processes that share one Redis and a per-process counter would collide across
 * them. The result only ever contains `[a-z0-9-]`, so it is safe inside Redis keys, hash tags,
 * file names and regexes.
 *
 * @param prefix - readable part; lower-cased and anything outside `[a-z0-9-]` becomes `-`.
 */
export function uniqueName(prefix = 'test'): string {
  const suffix = randomBytes(6).toString('hex');
  const cleanPrefix = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleanPrefix === '' ? suffix : `${cleanPrefix}-${suffix}`;
}
