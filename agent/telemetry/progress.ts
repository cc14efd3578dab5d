/**
 * The progress line of a long `driftbeat run --once` (a backfill), on stderr when it is a terminal:
 *
 *   driftbeat: 523,000 lines done, 98,400 lines/s, 150.2 MiB left
 *
 * Rewritten in place every second (`\r` + erase to the end of the line) from the first second on;
 * "left" is the registry lag: bytes of the input files not yet acknowledged. Nothing is written
 * when stderr is not a terminal (a file, a pipe, systemd's journal), so logs stay clean.
 */
export interface ProgressSample {
  /** Lines settled so far (stored, duplicates, dead-lettered): reading runs ahead by the queue. */
  lines: number;
  /** Bytes of the inputs not yet acknowledged. */
  bytesLeft: number;
}

export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

const MiB = 1024 * 1024;

/** The line shown, from two samples `seconds` apart (pure). */
export function formatProgress(now: ProgressSample, before: ProgressSample, seconds: number): string {
  const rate = seconds > 0 ? Math.max(0, Math.round((now.lines - before.lines) / seconds)) : 0;
  const left = now.bytesLeft >= MiB ? `${(now.bytesLeft / MiB).toFixed(1)} MiB` : `${Math.ceil(now.bytesLeft / 1024)} KiB`;
  return `driftbeat: ${now.lines.toLocaleString('en-US')} lines done, ${rate.toLocaleString('en-US')} lines/s, ${left} left`;
}

export interface Progress {
  /** Samples and redraws now (the timer calls it every interval). */
  tick(): void;
  /** Stops the timer and ends the line (a newline) if one was drawn. Safe twice. */
  stop(): void;
}

export function startProgress(stream: ProgressStream, sample: () => ProgressSample, options: { intervalMs?: number; now?: () => number } = {}): Progress {
  if (!stream.isTTY) return { tick() {}, stop() {} };
  const now = options.now ?? Date.now;
  let before = sample();
  let at = now();
  let drawn = false;
  const tick = () => {
    const s = sample();
    const t = now();
    stream.write(`\r${formatProgress(s, before, (t - at) / 1000)}\x1b[K`);
    drawn = true;
    before = s;
    at = t;
  };
  const timer = setInterval(tick, options.intervalMs ?? 1000);
  timer.unref();
  let stopped = false;
  return {
    tick,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (drawn) stream.write('\n');
    },
  };
}
