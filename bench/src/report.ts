import { median, medians, rateRoundRatios, roundRatios, type RoundResult } from './timing.js';

/** One line of the results table: a baseline and Tributary measured in the same run. */
export interface ResultRow {
  /** Scenario number and name, e.g. `1. publish one by one`. */
  scenario: string;
  /** What was measured, e.g. `msgs/s`, `p99 ms`. */
  metric: string;
  /** Name of the baseline, e.g. `raw node-redis`, `BullMQ`. */
  baselineName: string;
  /** Median of the baseline's rounds. */
  baseline: number;
  /** Median of Tributary's rounds (or the measured side of an informational row). */
  lib: number;
  /** lib / baseline; undefined where a ratio means nothing. */
  ratio: number | undefined;
  /**
   * lib / baseline of each round pair (the two sides measured back to back), in round order:
   * how far the ratio moves within one run on a noisy machine (`roundRatios` in timing.ts).
   */
  roundRatios?: readonly number[];
  /** The issue's target, and whether this run met it. */
  target?: RowTarget;
  /** Rounds behind each median. */
  rounds: number;
  /**
   * Median client CPU per message (µs, this process's user+system time during the round), for
   * in-process rows: steadier than rates on a busy machine, and it shows where time goes.
   */
  cpu?: { baseline: number; lib: number };
  note?: string;
}

/** A row's target: its text, whether this run's ratio met it, and the bound on the ratio if it is one. */
export interface RowTarget {
  text: string;
  pass: boolean;
  ratio?: { op: '>=' | '<='; bound: number };
}

function meets(ratio: number, op: '>=' | '<=', bound: number): boolean {
  return op === '>=' ? ratio >= bound : ratio <= bound;
}

/** A target on the ratio lib/baseline. */
export function ratioTarget(ratio: number, op: '>=' | '<=', bound: number): RowTarget {
  return { text: `${op === '>=' ? '≥' : '≤'} ${bound}×`, pass: meets(ratio, op, bound), ratio: { op, bound } };
}

/** A row's per-round ratios that are numbers (a round that measured nothing gives NaN). */
function finiteRoundRatios(row: ResultRow): number[] {
  return row.roundRatios?.filter(Number.isFinite) ?? [];
}

/** `min–max` of the per-round ratios. */
function spreadCell(row: ResultRow): string {
  const list = finiteRoundRatios(row);
  if (list.length === 0) return '';
  return `${Math.min(...list).toFixed(2)}–${Math.max(...list).toFixed(2)}`;
}

/**
 * A row from both sides' values per round (rates, latencies): the medians, their ratio, the
 * ratio of each round pair, and a target on the ratio if given.
 */
export function medianRow(
  row: Pick<ResultRow, 'scenario' | 'metric' | 'baselineName' | 'note'>,
  sides: { raw: readonly number[]; lib: readonly number[] },
  target?: { op: '>=' | '<='; bound: number },
): ResultRow {
  const baseline = median(sides.raw);
  const lib = median(sides.lib);
  const ratio = lib / baseline;
  return {
    ...row,
    baseline,
    lib,
    ratio,
    roundRatios: roundRatios(sides.raw, sides.lib),
    ...(target === undefined ? {} : { target: ratioTarget(ratio, target.op, target.bound) }),
    rounds: sides.raw.length,
  };
}

/** A msgs/s row from both sides' rounds (medians, ratio, CPU), with a target on the ratio if given. */
export function rateRow(
  scenario: string,
  baselineName: string,
  sides: { raw: RoundResult[]; lib: RoundResult[] },
  note: string,
  minRatio?: number,
): ResultRow {
  const raw = medians(sides.raw);
  const lib = medians(sides.lib);
  const ratio = lib.rate / raw.rate;
  return {
    scenario,
    metric: 'msgs/s',
    baselineName,
    baseline: raw.rate,
    lib: lib.rate,
    ratio,
    roundRatios: rateRoundRatios(sides),
    ...(minRatio === undefined ? {} : { target: ratioTarget(ratio, '>=', minRatio) }),
    cpu: { baseline: raw.cpuUs, lib: lib.cpuUs },
    rounds: sides.raw.length,
    note,
  };
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}×`;
}

/**
 * How many round pairs met a ratio target on their own, e.g. ` (4/5 rounds)`. The verdict
 * before it compares the ratio of the two medians, so the two can disagree near the bound.
 */
function roundsMet(row: ResultRow): string {
  const target = row.target?.ratio;
  const list = finiteRoundRatios(row);
  if (!target || list.length === 0) return '';
  return ` (${list.filter((ratio) => meets(ratio, target.op, target.bound)).length}/${list.length} rounds)`;
}

function targetCell(row: ResultRow): string {
  if (!row.target) return '';
  return `${row.target.text} ${row.target.pass ? '✅ pass' : '❌ miss'}${roundsMet(row)}`;
}

const HEADER = ['Scenario', 'Metric', 'Baseline', 'Baseline median', 'Tributary median', 'Ratio', 'Ratio per round (min–max)', 'Target', 'CPU µs/msg (baseline / Tributary)', 'Rounds'];

function cells(row: ResultRow): string[] {
  return [
    row.scenario,
    row.metric,
    row.baselineName,
    formatNumber(row.baseline),
    formatNumber(row.lib),
    formatRatio(row.ratio),
    spreadCell(row),
    targetCell(row),
    row.cpu ? `${row.cpu.baseline.toFixed(2)} / ${row.cpu.lib.toFixed(2)}` : '',
    String(row.rounds),
  ];
}

/** The results as a Markdown table (also what the console prints). */
export function markdownTable(rows: readonly ResultRow[]): string {
  const lines = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map((_, i) => (i >= 3 && i <= 5 ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const row of rows) lines.push(`| ${cells(row).join(' | ')} |`);
  return lines.join('\n');
}

/** The notes attached to rows, numbered by scenario. */
export function rowNotes(rows: readonly ResultRow[]): string[] {
  return rows.filter((r) => r.note).map((r) => `- **${r.scenario} — ${r.metric}**: ${r.note}`);
}

/** Every row that carries a target, as `pass/total`. */
export function targetSummary(rows: readonly ResultRow[]): { passed: number; total: number; missed: ResultRow[] } {
  const withTarget = rows.filter((r) => r.target);
  const missed = withTarget.filter((r) => !r.target!.pass);
  return { passed: withTarget.length - missed.length, total: withTarget.length, missed };
}

/**
 * Client CPU per message split into raw work, zod validation and the library's own cost, from
 * a row and its "raw with zod too" companion (same run): the ceiling a validating library can
 * reach against a raw loop that does not validate.
 */
export function costBreakdown(rows: readonly ResultRow[]): string[] {
  // [name, row, its raw + zod companion, why the library can spend less than raw + zod]
  const consumeCheaper = 'it reads replies as bytes and makes strings of the payload and IDs only, where the raw loop gets every field as a string';
  const pairs: [string, string, string, string][] = [
    ['publish one by one', '1. publish one by one', '1a. publish one by one, raw with zod too', 'it sends fewer commands than messages'],
    ['consume + ack, 1 worker', '3. consume + ack, 1 worker', '3b. consume + ack, raw with zod too', consumeCheaper],
    ['consume + ack, 4 workers', '4. consume + ack, 4 workers, 1 process', '4c. 4 workers, raw with zod too', consumeCheaper],
  ];
  const lines: string[] = [];
  for (const [name, mainName, zodName, cheaper] of pairs) {
    const main = rows.find((r) => r.scenario === mainName);
    const zod = rows.find((r) => r.scenario === zodName);
    if (!main?.cpu || !zod?.cpu) continue;
    const raw = main.cpu.baseline;
    const validation = zod.cpu.baseline - raw;
    const lib = (main.cpu.lib + zod.cpu.lib) / 2;
    const own = lib - zod.cpu.baseline;
    const ceiling = raw / (raw + Math.max(0, validation));
    // Noise can make the validation delta negative: print its sign as measured.
    const head = `- **${name}**: raw ${raw.toFixed(2)} µs/msg; zod validation ${validation < 0 ? '−' : '+'}${Math.abs(validation).toFixed(2)} µs; Tributary ${lib.toFixed(2)} µs, `;
    const measured = `measured ${formatRatio(main.ratio)} (vs raw + zod: ${formatRatio(zod.ratio)}).`;
    const bound = `A consumer validating every message and doing the raw loop's other work can't pass ${ceiling.toFixed(2)}× it when CPU-bound`;
    lines.push(own < 0
      ? `${head}i.e. ${(-own).toFixed(2)} µs less than raw + zod: ${cheaper}; ${measured}${mainName.startsWith('1.') ? '' : ` (${bound}.)`}`
      : `${head}i.e. ${own.toFixed(2)} µs of its own beyond raw + zod. ${bound}; ${measured}`);
  }
  return lines;
}
