import { type Retention, retentionArgs } from '@tributary/core';

/**
 * How a publish appends: its effective retention and NOMKSTREAM, compiled into the arguments a
 * plain XADD and the batch script take. Everything but `maxAgeMs` is independent of time, so
 * those arguments are built once and shared by every publish (the hot path then only
 * concatenates the fields); `maxAgeMs` needs `now` for its MINID threshold.
 */
export interface AppendMode {
  /**
   * Equal keys mean equal effective options: only publishes of one key may share a script call
   * (one trim and one NOMKSTREAM apply to all of its entries).
   */
  readonly key: string;
  /** `['XADD', stream, 'NOMKSTREAM'?, ...trim, '*']`, the fixed part of an XADD before the fields. */
  xaddHead(now: number): readonly string[];
  /** The batch script's ARGV before the entries: `['1' | '0' (NOMKSTREAM), trim count, ...trim]`. */
  scriptHead(now: number): readonly string[];
}

function retentionKey(retention: Retention): string {
  if (retention === 'none') return 'none';
  const op = retention.exact ? '=' : '~';
  return 'maxLen' in retention ? `maxLen${op}${retention.maxLen}` : `maxAgeMs${op}${retention.maxAgeMs}`;
}

/** Compiles a retention and NOMKSTREAM for `stream` into an {@link AppendMode}. */
export function appendMode(stream: string, retention: Retention, noMkStream: boolean): AppendMode {
  const prefix = noMkStream ? ['XADD', stream, 'NOMKSTREAM'] : ['XADD', stream];
  const flag = noMkStream ? '1' : '0';
  const key = `${flag}:${retentionKey(retention)}`;
  if (retention !== 'none' && 'maxAgeMs' in retention) {
    return {
      key,
      xaddHead: (now) => [...prefix, ...retentionArgs(retention, now), '*'],
      scriptHead: (now) => {
        const trim = retentionArgs(retention, now);
        return [flag, String(trim.length), ...trim];
      },
    };
  }
  const trim = retentionArgs(retention, 0);
  const xaddHead = Object.freeze([...prefix, ...trim, '*']);
  const scriptHead = Object.freeze([flag, String(trim.length), ...trim]);
  return { key, xaddHead: () => xaddHead, scriptHead: () => scriptHead };
}
