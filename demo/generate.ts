/**
 * Seeded generator of realistic prediction-log lines (a card-fraud model), about 320 bytes each:
 *
 *   {"timestamp":"2024-01-01T00:00:00.000Z","request_id":"...","model_version":"1.4.2",
 *    "features":{...a dozen: numeric, categorical, boolean, a free-text customer_note...},
 *    "prediction":{"score":0.0123,"label":"legit"},"latency_ms":7.31}
 *
 * The same seed and options always give the same bytes. Drift is off by default and scheduled with
 * `drift` (from a line index on): a new category, an NA spike, new words in the text, a numeric
 * shift, a score shift. Every line draws the same random numbers whatever drift is scheduled, so the
 * lines of a drifted run differ from the clean run only where the drift says.
 *
 * Lives in demo/ because the demo ships with the product and uses it; tests and benchmarks import
 * it from here (no test -> bench or demo -> bench imports).
 *
 * CLI: node --import tsx demo/generate.ts OUT LINES [--seed N] [--start ISO] [--interval-ms N] [--drift-from N]
 *      (OUT `-` writes to stdout; --drift-from schedules every kind of drift from that line on)
 */
import { closeSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const MERCHANT_CATEGORIES = ['grocery', 'electronics', 'travel', 'fashion', 'restaurants', 'fuel', 'pharmacy', 'gaming'] as const;
export const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'BR', 'IN', 'JP'] as const;
export const CHANNELS = ['web', 'app', 'pos'] as const;
export const CARD_TYPES = ['visa', 'mastercard', 'amex', 'discover'] as const;
/** Every word the clean customer_note uses (already as the tokenizer lower-cases them). */
export const NOTE_WORDS = [
  'please', 'deliver', 'before', 'noon', 'leave', 'at', 'the', 'door', 'gift', 'for', 'my', 'mother',
  'call', 'on', 'arrival', 'no', 'rush', 'thanks', 'second', 'order', 'this', 'week', 'same', 'address',
  'as', 'last', 'time', 'ring', 'bell', 'twice', 'back', 'entrance', 'fragile', 'handle', 'with', 'care',
  'birthday', 'present', 'wrap', 'it', 'nicely', 'office', 'hours', 'only', 'weekend', 'is', 'fine',
] as const;
/** Feature names and types of the generated records, e.g. to build a reference in tests and the demo. */
export const FEATURE_TYPES = {
  amount: 'num',
  age_days: 'num',
  items: 'num',
  hour: 'num',
  dist_km: 'num',
  chargebacks: 'num',
  merchant: 'cat',
  country: 'cat',
  channel: 'cat',
  card: 'cat',
  new_device: 'bool',
  customer_note: 'text',
} as const;
export type FeatureName = keyof typeof FEATURE_TYPES;
export type NumericFeature = 'amount' | 'age_days' | 'items' | 'hour' | 'dist_km' | 'chargebacks';
export type CategoricalFeature = 'merchant' | 'country' | 'channel' | 'card';

export interface DriftSpec {
  /** First line index (0-based) affected. */
  from: number;
  /** First line index no longer affected; default: to the end. */
  to?: number;
  /** A category never seen before, in `share` of the lines. */
  newCategory?: { feature?: CategoricalFeature; value?: string; share?: number };
  /** `feature` is null in `share` of the lines. */
  naSpike?: { feature?: FeatureName; share?: number };
  /** In `share` of the lines one word of customer_note is replaced by one of `words`. */
  newWords?: { words?: string[]; share?: number };
  /** Adds `shift` standard deviations to a numeric feature. */
  numericShift?: { feature?: NumericFeature; shift?: number };
  /** Added to the score's logit (0.5 moves a 0.05 score to about 0.08). */
  scoreShift?: number;
}

export interface GenerateOptions {
  seed?: number;
  /** Timestamp of line 0 (epoch ms); default 2024-01-01T00:00:00Z. */
  startMs?: number;
  /** Time between lines; default 10 ms. */
  intervalMs?: number;
  /** Value of a `model` field; default: no such field (the input config names the model). */
  model?: string | null;
  modelVersion?: string;
  drift?: DriftSpec[];
}

/** Every kind of drift at once, from `from` on: what `--drift-from` schedules. */
export function allDrift(from: number): DriftSpec {
  return {
    from,
    newCategory: { feature: 'merchant', value: 'crypto', share: 0.2 },
    naSpike: { feature: 'dist_km', share: 0.3 },
    newWords: { words: ['refund', 'chargeback', 'urgent', 'bitcoin'], share: 0.4 },
    numericShift: { feature: 'amount', shift: 1 },
    scoreShift: 1,
  };
}

/** mulberry32: small, fast and good enough for test data; the same seed gives the same stream. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export interface Generator {
  /** The next line (without newline). */
  next(): string;
  /** Index of the line next() returns. */
  readonly index: number;
}

/** The random draws of one line, in a fixed order and number whatever drift is active. */
interface Draws {
  features: Record<string, unknown>;
  /** The note's words before drift (the note has a fixed 8 word draws). */
  words: string[];
  punct: number;
  noise: number;
  latency: number;
  uCat: number;
  uNa: number;
  uWord: number;
  uWordPick: number;
  requestId: string;
}

function drawLine(rand: () => number, i: number): Draws {
  const normal = () => {
    // Box-Muller; two uniform draws every call, so the stream stays aligned.
    const u = rand() || 1e-12;
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const features: Record<string, unknown> = {
    amount: round(Math.exp(3.6 + 0.9 * normal()), 2),
    age_days: Math.floor(rand() * 3650),
    items: 1 + Math.floor(-Math.log(rand() || 1e-12) * 1.5),
    hour: Math.floor(rand() * 24),
    dist_km: round(Math.abs(normal()) * 25, 1),
    chargebacks: rand() < 0.93 ? 0 : 1 + Math.floor(rand() * 3),
    merchant: pick(MERCHANT_CATEGORIES),
    country: pick(COUNTRIES),
    channel: pick(CHANNELS),
    card: pick(CARD_TYPES),
    new_device: rand() < 0.12,
  };
  const nWords = 1 + Math.floor(rand() * 5);
  const words: string[] = [];
  for (let w = 0; w < 8; w++) {
    const word = pick(NOTE_WORDS);
    if (w < nWords) words.push(word);
  }
  const punct = rand();
  const noise = normal();
  const latency = round(Math.exp(1.9 + 0.35 * normal()), 2);
  const uCat = rand();
  const uNa = rand();
  const uWord = rand();
  const uWordPick = rand();
  const requestId = `${i.toString(36)}-${Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0')}`;
  return { features, words, punct, noise, latency, uCat, uNa, uWord, uWordPick, requestId };
}

/** Applies the active drift to the drawn features and words (in place); returns the score shift. */
function applyDrift(d: Draws, active: DriftSpec[]): number {
  const f = d.features;
  let scoreShift = 0;
  for (const spec of active) {
    if (spec.numericShift) {
      const name = spec.numericShift.feature ?? 'amount';
      const sd = NUMERIC_SD[name];
      f[name] = round((f[name] as number) + (spec.numericShift.shift ?? 1) * sd, 2);
    }
    if (spec.newCategory && d.uCat < (spec.newCategory.share ?? 0.2)) f[spec.newCategory.feature ?? 'merchant'] = spec.newCategory.value ?? 'crypto';
    if (spec.newWords && d.uWord < (spec.newWords.share ?? 0.4)) {
      const nw = spec.newWords.words ?? ['refund', 'chargeback', 'urgent'];
      d.words[Math.floor(d.uWordPick * d.words.length)] = nw[Math.floor(d.uWordPick * 997) % nw.length]!;
    }
    if (spec.scoreShift) scoreShift += spec.scoreShift;
  }
  let note = d.words.join(' ');
  note = note[0]!.toUpperCase() + note.slice(1) + (d.punct < 0.5 ? '.' : d.punct < 0.8 ? '!' : '');
  f.customer_note = note;
  for (const spec of active) {
    if (spec.naSpike && d.uNa < (spec.naSpike.share ?? 0.3)) f[spec.naSpike.feature ?? 'dist_km'] = null;
  }
  return scoreShift;
}

/** The model's fraud score for the (drifted) features. */
function scoreOf(f: Record<string, unknown>, noise: number, scoreShift: number): number {
  const logit = -3.2 + 0.5 * Math.log((f.amount as number) || 1) / 4 + 0.9 * Number(f.new_device) + 0.8 * (Number(f.chargebacks) || 0) + 0.6 * noise + scoreShift;
  return round(1 / (1 + Math.exp(-logit)), 4);
}

export function createGenerator(options: GenerateOptions = {}): Generator {
  const rand = mulberry32(options.seed ?? 1);
  const start = options.startMs ?? Date.UTC(2024, 0, 1);
  const interval = options.intervalMs ?? 10;
  const modelPart = options.model == null ? '' : `"model":${JSON.stringify(options.model)},`;
  const version = JSON.stringify(options.modelVersion ?? '1.4.2');
  const drift = options.drift ?? [];
  let i = 0;

  function next(): string {
    const active = drift.filter((d) => i >= d.from && (d.to === undefined || i < d.to));
    const d = drawLine(rand, i);
    const score = scoreOf(d.features, d.noise, applyDrift(d, active));
    const ts = new Date(start + i * interval).toISOString();
    i++;
    return `{"timestamp":"${ts}","request_id":"${d.requestId}",${modelPart}"model_version":${version},"features":${JSON.stringify(d.features)},"prediction":{"score":${score},"label":"${score >= 0.5 ? 'fraud' : 'legit'}"},"latency_ms":${d.latency}}`;
  }

  return {
    next,
    get index() {
      return i;
    },
  };
}

const NUMERIC_SD: Record<NumericFeature, number> = {
  amount: 45,
  age_days: 1050,
  items: 1.5,
  hour: 7,
  dist_km: 15,
  chargebacks: 0.5,
};

export function generateLines(count: number, options: GenerateOptions = {}): string[] {
  const g = createGenerator(options);
  const out = new Array<string>(count);
  for (let k = 0; k < count; k++) out[k] = g.next();
  return out;
}

/** Writes `count` lines (newline-terminated) to `path` (`-` for stdout); returns the bytes written. */
export function writeLines(path: string, count: number, options: GenerateOptions = {}): number {
  const g = createGenerator(options);
  const fd = path === '-' ? 1 : openSync(path, 'w');
  let bytes = 0;
  try {
    const CHUNK = 10_000;
    for (let done = 0; done < count; ) {
      const n = Math.min(CHUNK, count - done);
      let s = '';
      for (let k = 0; k < n; k++) s += g.next() + '\n';
      const buf = Buffer.from(s);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off);
      bytes += buf.length;
      done += n;
    }
  } finally {
    if (fd !== 1) closeSync(fd);
  }
  return bytes;
}

/**
 * writeLines into `path` unless it exists (the benchmarks' cache across runs): written to
 * `<path>.tmp`, then renamed, so an interrupted run never leaves a short file behind.
 */
export function writeLinesOnce(path: string, count: number, options: GenerateOptions = {}): void {
  if (existsSync(path)) return;
  const tmp = `${path}.tmp`;
  writeLines(tmp, count, options);
  renameSync(tmp, path);
}

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: node --import tsx demo/generate.ts OUT LINES [--seed N] [--start ISO] [--interval-ms N] [--drift-from N]\n`);
  process.exit(2);
}

function main(argv: string[]): void {
  const pos: string[] = [];
  const opts: GenerateOptions = {};
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    const val = () => argv[++k] ?? usage(`${a} needs a value`);
    const int = (s: string) => (/^\d+$/.test(s) ? Number(s) : usage(`${a}: expected a whole number, received ${JSON.stringify(s)}`));
    if (a === '--seed') opts.seed = int(val());
    else if (a === '--interval-ms') opts.intervalMs = int(val());
    else if (a === '--drift-from') opts.drift = [allDrift(int(val()))];
    else if (a === '--start') {
      const s = val();
      const t = Date.parse(s);
      if (!Number.isFinite(t)) usage(`--start: expected an ISO 8601 time, received ${JSON.stringify(s)}`);
      opts.startMs = t;
    } else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) usage('expected OUT and LINES');
  const lines = /^\d+$/.test(pos[1]!) ? Number(pos[1]) : usage(`LINES: expected a whole number, received ${JSON.stringify(pos[1])}`);
  const bytes = writeLines(pos[0]!, lines, opts);
  if (pos[0] !== '-') process.stderr.write(`wrote ${lines} lines, ${bytes} bytes (${lines ? (bytes / lines).toFixed(0) : 0} bytes/line) to ${pos[0]}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
