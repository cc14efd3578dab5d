/**
 * Binning and shares for the histogram-based statistics (PSI, KL, Jensen-Shannon), after
 * Evidently's `get_binned_data` (legacy/calculations/stattests/utils.py) and numpy's
 * `histogram_bin_edges(..., bins="sturges")` / `histogram(values, edges)`.
 *
 * Two-step use from aggregations (no raw values needed): get min, max and count of the reference
 * and current windows combined, call `sturgesEdges(min, max, count)`, then ask the backend for the
 * counts per bin ([e_i, e_{i+1}) and a closed last bin) and pass them to the `*FromCounts` functions.
 */
import { StatsError, countTotal, type Side } from './clean.ts';

export interface EdgeOptions {
  /**
   * numpy widens Sturges bins to width 1 when the array's dtype is an integer type. JS numbers
   * cannot tell 3 from 3.0, so we treat every column as float (more bins than numpy on an int64
   * column with a narrow range) unless the caller knows the column is integer and sets this.
   */
  integerData?: boolean;
}

/**
 * Sturges edges exactly as numpy for a sample with the given min, max and size:
 * width = (max-min)/(log2(size)+1), bins = ceil((max-min)/width) (not ceil(log2 size + 1): the
 * float division decides, e.g. size 1024 gives 11 bins), edges = linspace(min, max, bins+1).
 * max == min gives the single bin [min-0.5, max+0.5].
 */
export function sturgesEdges(min: number, max: number, size: number, options: EdgeOptions = {}): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new StatsError('ERR_STATS_RANGE', `autodetected range of [${min}, ${max}] is not finite`);
  }
  if (!(size >= 1)) throw new StatsError('ERR_STATS_EMPTY', 'Sturges bins need at least one value.');
  if (max < min) throw new StatsError('ERR_STATS_RANGE', `min ${min} is greater than max ${max}`);
  const ptp = max - min;
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  let width = ptp / (Math.log2(size) + 1);
  let nBins = 1;
  if (width) {
    if (options.integerData && width < 1) width = 1;
    nBins = Math.ceil((last - first) / width);
  }
  return linspace(first, last, nBins + 1);
}

/** numpy.linspace(start, stop, num, endpoint=True) for num >= 2, bit for bit. */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  out[num - 1] = stop;
  for (let i = 1; i < num; i++) {
    if (!(out[i - 1]! < out[i]!)) {
      throw new StatsError('ERR_STATS_RANGE', `Too many bins for data range. Cannot create ${div} finite-sized bins.`);
    }
  }
  return out;
}

/**
 * Evidently's numeric edges: Sturges over the reference and current samples combined
 * (np.histogram_bin_edges(concat(ref, cur), bins="sturges")). Needs raw values, or just
 * min/max/count through `sturgesEdges`.
 */
export function binEdges(reference: ReadonlyArray<number>, current: ReadonlyArray<number>, options: EdgeOptions = {}): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const arr of [reference, current]) {
    for (const v of arr) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return sturgesEdges(min, max, reference.length + current.length, options);
}

/** Index of the last edge <= v (edges ascending), or -1. */
function upperIndex(edges: ReadonlyArray<number>, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * np.histogram(values, bins=edges)[0]: bins [e_i, e_{i+1}), the last one closed; values outside
 * [e_0, e_last] are not counted. Returns edges.length - 1 counts.
 */
export function histogramCounts(values: ReadonlyArray<number>, edges: ReadonlyArray<number>): number[] {
  const nb = edges.length - 1;
  if (nb < 1) throw new StatsError('ERR_STATS_RANGE', 'histogramCounts needs at least two edges.');
  const counts = new Array<number>(nb).fill(0);
  const first = edges[0]!;
  const last = edges[nb]!;
  for (const v of values) {
    if (!(v >= first && v <= last)) continue;
    const i = v === last ? nb - 1 : upperIndex(edges, v);
    counts[Math.min(i, nb - 1)]!++;
  }
  return counts;
}

/** numpy.quantile(sorted, q) with the default 'linear' method. */
function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = pos - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/**
 * Our alternative to Evidently's combined Sturges bins (switch `bins: 'reference_quantiles'`):
 * edges at the reference's quantiles i/nBins, duplicates removed, outer edges widened to ±Infinity
 * so every current value lands in a bin. The bins stay fixed across windows.
 */
export function referenceQuantileEdges(reference: ReadonlyArray<number>, nBins = 10): number[] {
  if (reference.length === 0) throw new StatsError('ERR_STATS_EMPTY', 'reference quantile bins need reference values.');
  if (!Number.isInteger(nBins) || nBins < 1) throw new StatsError('ERR_STATS_BINS', `nBins must be a positive integer, got ${nBins}.`);
  const sorted = Float64Array.from(reference).sort();
  const inner: number[] = [];
  for (let i = 1; i < nBins; i++) {
    const q = quantileSorted(sorted, i / nBins);
    if (inner.length === 0 || q > inner[inner.length - 1]!) inner.push(q);
  }
  return [-Infinity, ...inner, Infinity];
}

export type ZeroFill = 'evidently' | 'min_over_10' | 'none';

/**
 * Replaces zero shares, per array and without renormalising, as Evidently's `feel_zeroes`:
 * 'evidently': min non-zero share / 1e6 when that minimum is <= 1e-4, else 1e-4;
 * 'min_over_10': min non-zero share / 10 (the fix proposed in evidently#1862); 'none': untouched.
 */
export function fillZeros(shares: ReadonlyArray<number>, mode: ZeroFill, side: Side = 'reference'): number[] {
  const out = [...shares];
  if (mode === 'none') return out;
  let m = Infinity;
  for (const s of out) if (s !== 0 && s < m) m = s;
  if (m === Infinity) throw new StatsError('ERR_STATS_EMPTY', `The ${side} shares are all zero; nothing to compare.`);
  const fill = mode === 'min_over_10' ? m / 10 : m <= 0.0001 ? m / 1e6 : 0.0001;
  for (let i = 0; i < out.length; i++) if (out[i] === 0) out[i] = fill;
  return out;
}

/**
 * Aligned shares of two count maps over the union of their keys (reference keys first).
 * Categories counted zero on both sides are dropped (Evidently only sees values that occur);
 * with `keepEmpty` (histogram bins) they stay, as np.histogram keeps empty bins.
 */
export function alignedShares(
  ref: ReadonlyMap<unknown, number>,
  cur: ReadonlyMap<unknown, number>,
  keepEmpty = false,
): { keys: unknown[]; reference: number[]; current: number[] } {
  const refTotal = countTotal(ref, 'reference');
  const curTotal = countTotal(cur, 'current');
  const keys = [...new Set([...ref.keys(), ...cur.keys()])].filter(
    (k) => keepEmpty || (ref.get(k) ?? 0) > 0 || (cur.get(k) ?? 0) > 0,
  );
  return {
    keys,
    reference: keys.map((k) => (ref.get(k) ?? 0) / refTotal),
    current: keys.map((k) => (cur.get(k) ?? 0) / curTotal),
  };
}
