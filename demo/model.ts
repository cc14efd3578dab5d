/**
 * The demo model: a card-fraud model served in two versions (1.4.2, the champion, takes most of the
 * traffic; 1.5.0, the challenger, the rest), each writing its own JSON-lines prediction log, as two
 * model servers would. The records come from the seeded generator of demo/generate.ts (numeric,
 * categorical, boolean and free-text features, a score and a label).
 *
 * Changes are scheduled by time of day (UTC), one after the other, so that each alert fires and
 * then recovers while the next change starts:
 *
 *   03:00-06:00  a new merchant category "crypto"             (both versions)
 *   06:00-09:00  dist_km arrives null in 35% of the requests   (both versions)
 *   09:00-12:00  new words in customer_note                    (both versions)
 *   12:00-15:00  amount shifts up by one standard deviation    (both versions)
 *   15:00-18:00  the score shifts up (a miscalibrated model)   (1.5.0 only)
 *   18:00-21:00  concept drift: small amounts become fraud, inputs unchanged (labels only, demo/labels.ts)
 *   otherwise    clean
 *
 * Two clocks drive it: the demo's compressed clock (a simulated day in seconds; the caller moves
 * the simulated time with writeUntil) and the wall clock (`driftbeat demo --write-only`, for
 * docker compose: timestamps are now, the same schedule happens every day).
 */
import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createGenerator, type DriftSpec, type Generator } from './generate.ts';

export const DEMO_MODEL = 'fraud';
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface DemoVersion {
  version: string;
  /** Share of the traffic this version serves. */
  share: number;
  seed: number;
}

export const DEMO_VERSIONS: readonly DemoVersion[] = [
  { version: '1.4.2', share: 0.7, seed: 142 },
  { version: '1.5.0', share: 0.3, seed: 150 },
];

export type ChangeKind = 'new_category' | 'na_spike' | 'new_words' | 'numeric_shift' | 'score_shift' | 'concept_drift';

/** One scheduled change and what should notice it. */
export interface DemoChange {
  kind: ChangeKind;
  /** Hours after 00:00 UTC. */
  fromHour: number;
  toHour: number;
  /** Versions whose traffic changes. */
  versions: readonly string[];
  /** Document field that changes, as in RuleResult.field. */
  field: string;
  /** The demo rule (demo/rules/) that should fire on it. */
  rule: string;
  description: string;
  drift: Omit<DriftSpec, 'from' | 'to'>;
}

const ALL = DEMO_VERSIONS.map((v) => v.version);

export const DEMO_CHANGES: readonly DemoChange[] = [
  {
    kind: 'new_category', fromHour: 3, toHour: 6, versions: ALL, field: 'features.merchant', rule: 'demo-unseen-categories',
    description: 'a new merchant category "crypto" appears in 15% of requests',
    drift: { newCategory: { feature: 'merchant', value: 'crypto', share: 0.15 } },
  },
  {
    kind: 'na_spike', fromHour: 6, toHour: 9, versions: ALL, field: 'features.dist_km', rule: 'demo-missing-spike',
    description: 'dist_km arrives null in 35% of requests (a broken geo lookup)',
    drift: { naSpike: { feature: 'dist_km', share: 0.35 } },
  },
  {
    kind: 'new_words', fromHour: 9, toHour: 12, versions: ALL, field: 'text.customer_note', rule: 'demo-note-oov',
    description: 'new words in customer_note: refund, chargeback, urgent, bitcoin',
    drift: { newWords: { words: ['refund', 'chargeback', 'urgent', 'bitcoin'], share: 0.5 } },
  },
  {
    kind: 'numeric_shift', fromHour: 12, toHour: 15, versions: ALL, field: 'features.amount', rule: 'demo-input-drift',
    description: 'amount shifts up by one standard deviation (a currency change upstream)',
    drift: { numericShift: { feature: 'amount', shift: 1 } },
  },
  {
    kind: 'score_shift', fromHour: 15, toHour: 18, versions: ['1.5.0'], field: 'prediction.score', rule: 'demo-score-shift',
    description: 'the score of 1.5.0 shifts up (+1.5 on the logit: a miscalibrated release)',
    drift: { scoreShift: 1.5 },
  },
  {
    kind: 'concept_drift', fromHour: 18, toHour: 21, versions: ALL, field: 'quality.roc_auc', rule: 'demo-model-quality',
    description: 'concept drift: small amounts (card testing) turn out to be fraud; inputs and scores unchanged, only the labels (minutes to 2 hours later) tell',
    // No change to the predictions: demo/labels.ts changes the outcomes.
    drift: {},
  },
];

/** The change active at `ms` for `version`, if any (for the live display). */
export function activeChanges(ms: number, version?: string): DemoChange[] {
  const hour = (((ms % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  return DEMO_CHANGES.filter((c) => hour >= c.fromHour && hour < c.toHour && (version === undefined || c.versions.includes(version)));
}

export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Log file of one version for one UTC day: `predictions-1.4.2-2024-06-03.jsonl`. */
export function logFileName(version: string, dayStartMs: number): string {
  return `predictions-${version}-${new Date(dayStartMs).toISOString().slice(0, 10)}.jsonl`;
}

/** Drift specs (line indexes) for one version's generator that starts at `originMs` and runs to the end of its day. */
function daySchedule(version: string, intervalMs: number, originMs: number): DriftSpec[] {
  const day = dayStart(originMs);
  const index = (ms: number) => Math.max(0, Math.ceil((ms - originMs) / intervalMs));
  return DEMO_CHANGES.filter((c) => c.versions.includes(version) && day + c.toHour * HOUR_MS > originMs).map((c) => ({
    ...c.drift,
    from: index(day + c.fromHour * HOUR_MS),
    to: index(day + c.toHour * HOUR_MS),
  }));
}

interface VersionStream {
  version: string;
  intervalMs: number;
  /** Start of the UTC day of the current file. */
  day: number;
  /** Timestamp of the generator's line 0. */
  origin: number;
  gen: Generator;
  /** Timestamp of the line gen.next() returns. */
  nextTs: number;
  file: string;
}

export interface ModelWriterOptions {
  /** Folder of the log files (created). */
  outDir: string;
  /** Predictions per hour over both versions. */
  linesPerHour: number;
  /** Simulated (or real) time of the first line; lines are written from here on. */
  startMs: number;
  /** Added to each version's seed (and to the day number), so that runs can differ. */
  seed?: number;
  /** Delete log files of days older than this many days before the current one (write-only mode). */
  keepDays?: number;
  /** Called with every prediction line written (the demo's ground truth, demo/labels.ts). */
  onLine?: (line: string) => void;
}

/**
 * Writes both versions' predictions up to a given time. Pure bookkeeping on top of the generator:
 * same options, same bytes, however the calls to writeUntil are split.
 */
export class ModelWriter {
  readonly outDir: string;
  linesWritten = 0;
  bytesWritten = 0;
  readonly linesByVersion = new Map<string, number>();
  private readonly streams: VersionStream[];
  private readonly opts: ModelWriterOptions;
  private writtenUntil: number;

  constructor(opts: ModelWriterOptions) {
    if (!(opts.linesPerHour > 0)) throw new RangeError(`demo model: lines per hour must be > 0, received ${opts.linesPerHour}`);
    this.opts = opts;
    this.outDir = opts.outDir;
    this.writtenUntil = opts.startMs;
    mkdirSync(opts.outDir, { recursive: true });
    this.streams = DEMO_VERSIONS.map((v) => {
      const intervalMs = HOUR_MS / (opts.linesPerHour * v.share);
      const s = { version: v.version, intervalMs } as VersionStream;
      this.openAt(s, opts.startMs);
      this.linesByVersion.set(v.version, 0);
      return s;
    });
  }

  /** Simulated time up to which every line is written (exclusive). */
  get until(): number {
    return this.writtenUntil;
  }

  /** A generator from `originMs` to the end of that UTC day, and that day's file. */
  private openAt(s: VersionStream, originMs: number): void {
    const base = DEMO_VERSIONS.find((v) => v.version === s.version)!.seed + (this.opts.seed ?? 0);
    s.day = dayStart(originMs);
    s.origin = originMs;
    s.gen = createGenerator({
      // Days counted from the first: the demo's day is the same data whatever the date it runs.
      seed: base * 100_003 + Math.round((s.day - dayStart(this.opts.startMs)) / DAY_MS),
      startMs: originMs,
      intervalMs: s.intervalMs,
      modelVersion: s.version,
      drift: daySchedule(s.version, s.intervalMs, originMs),
    });
    s.nextTs = originMs;
    s.file = join(this.outDir, logFileName(s.version, s.day));
  }

  /** Moves one line on without writing it; rolls over to the next day's generator and file. */
  private advance(s: VersionStream): string {
    const line = s.gen.next();
    s.nextTs = s.origin + Math.round(s.gen.index * s.intervalMs);
    if (s.nextTs >= s.day + DAY_MS) this.openAt(s, s.day + DAY_MS);
    return line;
  }

  /** Appends every line with a timestamp before `untilMs`; returns the number of lines written. */
  writeUntil(untilMs: number): number {
    let total = 0;
    for (const s of this.streams) {
      let buf = '';
      let n = 0;
      let file = s.file;
      const flush = () => {
        if (buf) appendFileSync(file, buf);
        this.bytesWritten += Buffer.byteLength(buf);
        buf = '';
      };
      while (s.nextTs < untilMs) {
        const line = this.advance(s);
        this.opts.onLine?.(line);
        buf += line + '\n';
        n++;
        // The day rolled over: what we have belongs to the old file.
        if (s.file !== file) {
          flush();
          file = s.file;
          this.pruneOldFiles(s.day);
        } else if (buf.length > 1 << 20) flush();
      }
      flush();
      this.linesByVersion.set(s.version, this.linesByVersion.get(s.version)! + n);
      total += n;
    }
    this.linesWritten += total;
    if (untilMs > this.writtenUntil) this.writtenUntil = untilMs;
    return total;
  }

  private pruneOldFiles(currentDay: number): void {
    const keep = this.opts.keepDays;
    if (keep === undefined) return;
    const oldest = new Date(currentDay - keep * DAY_MS).toISOString().slice(0, 10);
    for (const name of readdirSync(this.outDir)) {
      const m = /^predictions-.+-(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(name);
      if (m && m[1]! < oldest) rmSync(join(this.outDir, name), { force: true });
    }
  }
}

export interface WriteOnlyOptions {
  outDir: string;
  /** Predictions per second over both versions (default 10). */
  rate?: number;
  /** Stop after this many ms; default: run until the signal aborts. */
  durationMs?: number;
  signal?: AbortSignal;
  /** How often lines are written (default 200 ms). */
  tickMs?: number;
  /** Log files of older days are deleted (default 2). */
  keepDays?: number;
  now?: () => number;
  /** One line per minute of what is being written; default silent. */
  report?: (text: string) => void;
}

/**
 * `driftbeat demo --write-only`: the model alone, writing in real time (timestamps are the wall
 * clock), forever or for `durationMs`. Resolves with the number of lines written.
 */
export async function runModelRealtime(opts: WriteOnlyOptions): Promise<number> {
  const now = opts.now ?? Date.now;
  const rate = opts.rate ?? 10;
  if (!(rate > 0)) throw new RangeError(`demo model: --rate must be > 0, received ${rate}`);
  const start = now();
  const writer = new ModelWriter({ outDir: opts.outDir, linesPerHour: rate * 3600, startMs: start, keepDays: opts.keepDays ?? 2 });
  const end = opts.durationMs === undefined ? Infinity : start + opts.durationMs;
  const tick = opts.tickMs ?? 200;
  let lastReport = start;
  opts.report?.(`demo model: writing ~${rate} predictions/s of model "${DEMO_MODEL}" (versions ${DEMO_VERSIONS.map((v) => v.version).join(', ')}) to ${opts.outDir}`);
  while (!opts.signal?.aborted) {
    const t = Math.min(now(), end);
    writer.writeUntil(t + 1);
    if (opts.report && t - lastReport >= 60_000) {
      lastReport = t;
      const changes = activeChanges(t).map((c) => c.kind).join(', ') || 'none';
      opts.report(`demo model: ${writer.linesWritten} predictions written; scheduled changes now: ${changes}`);
    }
    if (t >= end) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, tick);
      opts.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }
  return writer.linesWritten;
}
