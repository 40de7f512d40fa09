// Live progress of the demo: a compact table redrawn in place when stdout is a terminal, plain
// periodic lines otherwise (CI logs, pipes).

/** One reading of the demo's counters. */
export interface Snapshot {
  elapsedMs: number;
  produced: number;
  processed: number;
  retried: number;
  pending: number;
  deadLettered: number;
  /** Entries not yet delivered to the group; `undefined` before Redis 7. */
  lag: number | null | undefined;
  /** Processed per second over the last interval. */
  rate: number;
  rejected: number;
  phase: string;
  byConsumer: Record<string, number>;
}

const COLUMNS = ['produced', 'processed', 'retried', 'pending', 'dead-lettered', 'lag', 'rate'] as const;

function cells(s: Snapshot): string[] {
  return [
    String(s.produced),
    String(s.processed),
    String(s.retried),
    String(s.pending),
    String(s.deadLettered),
    s.lag === undefined || s.lag === null ? '-' : String(s.lag),
    `${Math.round(s.rate)}/s`,
  ];
}

/** `produced=… processed=… retried=… pending=… dead-lettered=… lag=… rate=…/s`. */
export function plainLine(s: Snapshot): string {
  const values = cells(s);
  return `[${(s.elapsedMs / 1000).toFixed(0).padStart(3)}s ${s.phase}] ${COLUMNS.map((c, i) => `${c}=${values[i]}`).join(' ')}`;
}

function tableLines(s: Snapshot, totalSeconds: number): string[] {
  const values = cells(s);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, values[i]!.length) + 2);
  const row = (items: readonly string[]) => `│${items.map((v, i) => v.padStart(widths[i]! - 1) + ' ').join('│')}│`;
  const rule = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w)).join(m)}${r}`;
  const consumers = Object.entries(s.byConsumer).map(([name, n]) => `${name.replace(/^.*-(c\d+)$/, '$1')} ${n}`).join(' · ');
  return [
    ` ${s.phase} · ${(s.elapsedMs / 1000).toFixed(1)} s of ${totalSeconds} s`,
    rule('┌', '┬', '┐'),
    row(COLUMNS),
    rule('├', '┼', '┤'),
    row(values),
    rule('└', '┴', '┘'),
    ` processed per consumer: ${consumers || '-'} · rejected with 400: ${s.rejected}`,
  ];
}

/** Renders snapshots: in place on a TTY, a line every `plainEveryMs` otherwise. */
export class ProgressView {
  private drawn = 0;
  private lastPlain = Number.NEGATIVE_INFINITY;
  readonly tty: boolean;

  constructor(
    private readonly totalSeconds: number,
    private readonly plainEveryMs = 2000,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY) && process.env.TERM !== 'dumb';
  }

  /** Shows a snapshot (plain mode: only if `plainEveryMs` passed, unless `force`). */
  render(s: Snapshot, force = false): void {
    if (!this.tty) {
      if (!force && s.elapsedMs - this.lastPlain < this.plainEveryMs) return;
      this.lastPlain = s.elapsedMs;
      this.out.write(`${plainLine(s)}\n`);
      return;
    }
    const lines = tableLines(s, this.totalSeconds);
    // Move up over the previous drawing, then overwrite each line (clearing its rest).
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '\x1b[?25l';
    for (const line of lines) text += `\r\x1b[2K${line}\n`;
    this.out.write(text);
    this.drawn = lines.length;
  }

  /** Leaves the last drawing on screen and shows the cursor again. */
  close(): void {
    if (this.tty) this.out.write('\x1b[?25h');
    this.drawn = 0;
  }
}
