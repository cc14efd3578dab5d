/**
 * Progress of `driftbeat reference build` on stderr: a one-line bar redrawn in place when stderr is
 * a terminal (or --progress asks for it), else one line per phase so that logs of CI jobs and
 * cron runs stay readable.
 */

export interface ProgressReporter {
  /** A new phase starts (`reading train.parquet`, `categories`, ...). */
  phase(name: string): void;
  /** Fraction 0..1 of the current phase, when DuckDB can tell. */
  update(fraction: number): void;
  /** Clears the bar; safe twice. */
  done(): void;
}

export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

const WIDTH = 30;
/** Redraws at most this often: a terminal cannot show more, and each write costs a syscall. */
const MIN_REDRAW_MS = 100;

export function createProgressReporter(opts: { stream: ProgressStream; bar?: boolean; now?: () => number }): ProgressReporter {
  const stream = opts.stream;
  const bar = opts.bar ?? stream.isTTY === true;
  const now = opts.now ?? Date.now;
  let name = '';
  let lastDraw = 0;
  let drawn = false;
  const draw = (fraction: number) => {
    const f = Math.min(1, Math.max(0, fraction));
    const full = Math.round(f * WIDTH);
    const pct = String(Math.floor(f * 100)).padStart(3);
    stream.write(`\r[${'#'.repeat(full)}${'-'.repeat(WIDTH - full)}] ${pct}% ${name}\x1b[K`);
    drawn = true;
    lastDraw = now();
  };
  return {
    phase(n) {
      name = n;
      if (bar) draw(0);
      else stream.write(`reference: ${n}\n`);
    },
    update(fraction) {
      if (!bar || now() - lastDraw < MIN_REDRAW_MS) return;
      draw(fraction);
    },
    done() {
      if (bar && drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** A reporter that says nothing (library use, tests). */
export const silentProgress: ProgressReporter = { phase() {}, update() {}, done() {} };
