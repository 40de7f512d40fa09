import { markdownTable, type ResultRow, ratioTarget } from '../src/report.js';
import { roundRatios } from '../src/timing.js';

/** The cells, by column name, of a one-row table made of `fields` over neutral defaults. */
function cellsOf(fields: Partial<ResultRow>): Record<string, string> {
  const row: ResultRow = { scenario: 's', metric: 'm', baselineName: 'raw', baseline: 1, lib: 1, ratio: 1, rounds: 1, ...fields };
  const [header, , line] = markdownTable([row]).split('\n');
  const split = (text: string) => text.split(' | ').map((cell) => cell.replace(/^\| ?| ?\|$/g, '').trim());
  const names = split(header!);
  const values = split(line!);
  return Object.fromEntries(names.map((name, k) => [name, values[k]!]));
}

const SPREAD = 'Ratio per round (min–max)';

describe('bench report: per-round ratios', () => {
  it('pairs the rounds of both sides in order', () => {
    expect(roundRatios([100, 200, 400], [90, 300, 100])).toEqual([0.9, 1.5, 0.25]);
  });

  it('refuses sides with different round counts', () => {
    expect(() => roundRatios([100, 200], [90])).toThrow('round counts differ: baseline 2, lib 1');
  });

  it('prints the spread of the round ratios and how many rounds met the target on their own', () => {
    const cells = cellsOf({ roundRatios: roundRatios([100, 100, 100, 100, 100], [95, 70, 85, 81, 79]), target: ratioTarget(0.81, '>=', 0.8) });
    expect(cells[SPREAD]).toBe('0.70–0.95');
    expect(cells.Target).toBe('≥ 0.8× ✅ pass (3/5 rounds)');
  });

  it('counts rounds against an upper bound for latencies', () => {
    const cells = cellsOf({ roundRatios: roundRatios([4, 4, 4], [9, 7, 8.5]), target: ratioTarget(2.25, '<=', 2) });
    expect(cells.Target).toBe('≤ 2× ❌ miss (1/3 rounds)');
  });

  it('leaves out rounds that measured nothing, in the spread and in the count alike', () => {
    const cells = cellsOf({ roundRatios: roundRatios([100, 0, 100], [90, 0, 70]), target: ratioTarget(0.9, '>=', 0.8) });
    expect([cells[SPREAD], cells.Target]).toEqual(['0.70–0.90', '≥ 0.8× ✅ pass (1/2 rounds)']);
  });

  it('gives the spread but no round count for a target that is not on the ratio', () => {
    const cells = cellsOf({ roundRatios: roundRatios([2000, 2010], [2050, 2040]), target: { text: 'lib ≤ 2500 ms, every round', pass: true } });
    expect([cells[SPREAD], cells.Target]).toEqual(['1.01–1.02', 'lib ≤ 2500 ms, every round ✅ pass']);
  });

  it('leaves both cells plain for a row without rounds', () => {
    const cells = cellsOf({ ratio: undefined, target: { text: 'lib ≤ 10%', pass: true } });
    expect([cells[SPREAD], cells.Target]).toEqual(['', 'lib ≤ 10% ✅ pass']);
  });
});
