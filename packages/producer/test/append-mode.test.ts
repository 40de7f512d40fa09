import { appendMode } from '../src/append-mode.js';

describe('appendMode', () => {
  it('builds MAXLEN heads once and shares them', () => {
    const mode = appendMode('{orders}', { maxLen: 1000 }, false);
    expect(mode.xaddHead(1)).toEqual(['XADD', '{orders}', 'MAXLEN', '~', '1000', '*']);
    expect(mode.xaddHead(2)).toBe(mode.xaddHead(1));
    expect(Object.isFrozen(mode.xaddHead(1))).toBe(true);
    expect(mode.scriptHead(1)).toEqual(['0', '3', 'MAXLEN', '~', '1000']);
    expect(mode.scriptHead(2)).toBe(mode.scriptHead(1));
  });

  it('uses = for exact trimming and puts NOMKSTREAM before the trim', () => {
    const mode = appendMode('{orders}', { maxLen: 5, exact: true }, true);
    expect(mode.xaddHead(0)).toEqual(['XADD', '{orders}', 'NOMKSTREAM', 'MAXLEN', '=', '5', '*']);
    expect(mode.scriptHead(0)).toEqual(['1', '3', 'MAXLEN', '=', '5']);
  });

  it('computes the MINID threshold from now for maxAgeMs', () => {
    const mode = appendMode('{orders}', { maxAgeMs: 60_000 }, false);
    expect(mode.xaddHead(1_000_000)).toEqual(['XADD', '{orders}', 'MINID', '~', '940000', '*']);
    expect(mode.xaddHead(2_000_000)).toEqual(['XADD', '{orders}', 'MINID', '~', '1940000', '*']);
    expect(mode.xaddHead(10)).toEqual(['XADD', '{orders}', 'MINID', '~', '0', '*']);
    expect(mode.scriptHead(2_000_000)).toEqual(['0', '3', 'MINID', '~', '1940000']);
  });

  it("adds no trim arguments for 'none'", () => {
    expect(appendMode('{orders}', 'none', false).xaddHead(0)).toEqual(['XADD', '{orders}', '*']);
    expect(appendMode('{orders}', 'none', true).xaddHead(0)).toEqual(['XADD', '{orders}', 'NOMKSTREAM', '*']);
    expect(appendMode('{orders}', 'none', true).scriptHead(0)).toEqual(['1', '0']);
  });

  it('gives equal effective options, and only those, the same key', () => {
    const key = (...args: Parameters<typeof appendMode>) => appendMode(...args).key;
    expect(key('{o}', { maxLen: 10 }, false)).toBe(key('{o}', { maxLen: 10, exact: false }, false));
    expect(key('{o}', { maxAgeMs: 10 }, false)).toBe(key('{o}', { maxAgeMs: 10 }, false));
    const distinct = [
      key('{o}', { maxLen: 10 }, false),
      key('{o}', { maxLen: 10 }, true),
      key('{o}', { maxLen: 10, exact: true }, false),
      key('{o}', { maxLen: 11 }, false),
      key('{o}', { maxAgeMs: 10 }, false),
      key('{o}', { maxAgeMs: 10, exact: true }, false),
      key('{o}', 'none', false),
      key('{o}', 'none', true),
    ];
    expect(new Set(distinct).size).toBe(distinct.length);
  });
});
