import { type Retention, retentionArgs } from '@tributary/core';

/**
 * Builds the fixed part of an XADD before the fields:
 * `['XADD', key, 'NOMKSTREAM'?, ...trim, '*']`, given the current time.
 */
type XaddHead = (now: number) => readonly string[];

/**
 * Compiles a retention into an {@link XaddHead}. Everything but `maxAgeMs` is independent of
 * time, so the head is built once and shared by every publish (the publish hot path then only
 * concatenates the fields); `maxAgeMs` needs `now` for its MINID threshold.
 */
export function xaddHead(key: string, retention: Retention, noMkStream: boolean): XaddHead {
  const prefix = noMkStream ? ['XADD', key, 'NOMKSTREAM'] : ['XADD', key];
  if (retention !== 'none' && 'maxAgeMs' in retention) {
    return (now) => [...prefix, ...retentionArgs(retention, now), '*'];
  }
  const head = Object.freeze([...prefix, ...retentionArgs(retention, 0), '*']);
  return () => head;
}

