import type { Commander } from './redis-client.js';
import { UnsupportedError } from './errors.js';

/** What the connected Redis server can do, from its version. */
export interface ServerCapabilities {
  /** Server version, e.g. `[7, 0, 15]`. */
  readonly version: readonly [number, number, number];
  /** XAUTOCLAIM (6.2). */
  readonly xautoclaim: boolean;
  /** XADD/XTRIM `MINID` and `LIMIT`, XADD `NOMKSTREAM`, XPENDING `IDLE` (6.2). */
  readonly streams62: boolean;
  /** XAUTOCLAIM reports deleted IDs; XINFO GROUPS has `entries-read` and `lag`;
   *  XINFO STREAM has `max-deleted-entry-id` (7.0). */
  readonly streams70: boolean;
}

/** Oldest Redis version Tributary supports. */
export const MIN_REDIS_VERSION = '6.2.0';

/** Parses `redis_version:x.y.z` out of `INFO server`. */
export function parseServerVersion(info: string): [number, number, number] {
  const match = /redis_version:(\d+)\.(\d+)\.(\d+)/.exec(info);
  if (!match) throw new UnsupportedError('cannot read redis_version from INFO server');
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

function atLeast(version: readonly number[], major: number, minor: number): boolean {
  const [a = 0, b = 0] = version;
  return a > major || (a === major && b >= minor);
}

/** Capabilities of a version (pure; see {@link detectCapabilities}). */
export function capabilitiesOf(version: readonly [number, number, number]): ServerCapabilities {
  return {
    version,
    xautoclaim: atLeast(version, 6, 2),
    streams62: atLeast(version, 6, 2),
    streams70: atLeast(version, 7, 0),
  };
}

/**
 * Asks the server (`INFO server`) which stream features it has. On a cluster any node
 * answers; all nodes are assumed to run one version.
 * @throws UnsupportedError when the server is older than {@link MIN_REDIS_VERSION}
 */
export async function detectCapabilities(commander: Commander): Promise<ServerCapabilities> {
  const info = await commander.send<string>(undefined, ['INFO', 'server']);
  const caps = capabilitiesOf(parseServerVersion(String(info)));
  if (!caps.streams62) {
    throw new UnsupportedError(`Redis ${caps.version.join('.')} is too old: Tributary needs ${MIN_REDIS_VERSION} or newer`, {
      data: { version: caps.version.join('.'), needs: MIN_REDIS_VERSION },
    });
  }
  return caps;
}
