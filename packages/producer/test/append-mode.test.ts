import { xaddHead } from '../src/xadd-head.js';

describe('xaddHead', () => {
  it('builds MAXLEN heads once and shares them', () => {
    const head = xaddHead('{orders}', { maxLen: 1000 }, false);
    expect(head(1)).toEqual(['XADD', '{orders}', 'MAXLEN', '~', '1000', '*']);
    expect(head(2)).toBe(head(1));
    expect(Object.isFrozen(head(1))).toBe(true);
  });

  it('uses = for exact trimming and puts NOMKSTREAM before the trim', () => {
    expect(xaddHead('{orders}', { maxLen: 5, exact: true }, true)(0)).toEqual(['XADD', '{orders}', 'NOMKSTREAM', 'MAXLEN', '=', '5', '*']);
  });

  it('computes the MINID threshold from now for maxAgeMs', () => {
    const head = xaddHead('{orders}', { maxAgeMs: 60_000 }, false);
    expect(head(1_000_000)).toEqual(['XADD', '{orders}', 'MINID', '~', '940000', '*']);
    expect(head(2_000_000)).toEqual(['XADD', '{orders}', 'MINID', '~', '1940000', '*']);
    expect(head(10)).toEqual(['XADD', '{orders}', 'MINID', '~', '0', '*']);
  });

  it("adds no trim arguments for 'none'", () => {
    expect(xaddHead('{orders}', 'none', false)(0)).toEqual(['XADD', '{orders}', '*']);
    expect(xaddHead('{orders}', 'none', true)(0)).toEqual(['XADD', '{orders}', 'NOMKSTREAM', '*']);
  });
});
