/**
 * Distance-type drift scores, with Evidently's definitions (legacy/calculations/stattests/):
 * PSI, KL divergence, Jensen-Shannon, Hellinger, normed Wasserstein, plus TFDV's L-infinity.
 *
 * Which need raw values: `wasserstein` and `wassersteinNormed` (order-based; sample above a limit
 * with `seededSample`). PSI, KL, JS, Hellinger and L-infinity are exact from counts: per category,
 * or per bin once the edges are known (`sturgesEdges` from min/max/count). The raw-value forms
 * below only count and then call the same share-based core as the `*FromCounts` forms.
 */
import {
  present,
  presentNumbers,
  sortedNumbers,
  toCountMap,
  valueCounts,
  type Counts,
  type Values,
} from './clean.ts';
import {
  alignedShares,
  binEdges,
  fillZeros,
  histogramCounts,
  referenceQuantileEdges,
  sturgesEdges,
  type EdgeOptions,
  type ZeroFill,
} from './binning.ts';

export type ColumnType = 'num' | 'cat';
export type BinsMode = 'evidently_sturges_combined' | 'reference_quantiles';

export interface HistogramOptions extends EdgeOptions {
  /** 'num' bins numeric columns with more than 20 distinct reference values; 'cat' counts per value. */
  type: ColumnType;
  /** Default 'evidently' for PSI and KL, and always 'none' for Jensen-Shannon unless set. */
  zeroFill?: ZeroFill;
  /** Default 'evidently_sturges_combined' (bins change with every window); 'reference_quantiles' keeps them fixed. */
  bins?: BinsMode;
  /** Number of quantile bins for bins: 'reference_quantiles'. Default 10. */
  quantileBins?: number;
  /** Column name, only used in error messages. */
  column?: string;
}

export interface CountsOptions {
  zeroFill?: ZeroFill;
  /**
   * The counts are histogram bins: bins empty on both sides are kept (and zero-filled), as
   * np.histogram keeps them. Default: true for arrays, false for Maps and records (categories).
   */
  binned?: boolean;
}

export interface JsOutputOptions {
  /** Log base: 'e' (default, Evidently) or 2 (bounded by 1, as NannyML and TFDV). */
  base?: 'e' | number;
  /** 'distance' = √JSD (default, scipy/Evidently); 'divergence' = JSD (TFDV). */
  output?: 'distance' | 'divergence';
}

/** Evidently's numeric branch: more than 20 distinct reference values (decided on the reference only). */
export const NUMERIC_BINNING_MIN_DISTINCT = 20;

export interface HistogramShares {
  /** Category values, or bin indices when binned. */
  keys: unknown[];
  /** Bin edges when the numeric branch was taken. */
  edges?: number[];
  reference: number[];
  current: number[];
}

/**
 * The shares Evidently's get_binned_data computes (before zero fill): numeric columns with more
 * than 20 distinct reference values go into Sturges bins over both samples combined (or reference
 * quantile bins), everything else into one bucket per value. Missing values are dropped first.
 */
export function histogramShares(reference: Values, current: Values, options: HistogramOptions): HistogramShares {
  const ref = present(reference, 'reference', options.column);
  const cur = present(current, 'current', options.column);
  const refCounts = valueCounts(ref);
  if (options.type === 'num' && refCounts.size > NUMERIC_BINNING_MIN_DISTINCT) {
    const r = presentNumbers(ref, 'reference', options.column);
    const c = presentNumbers(cur, 'current', options.column);
    const edges =
      options.bins === 'reference_quantiles' ? referenceQuantileEdges(r, options.quantileBins ?? 10) : binEdges(r, c, options);
    const rc = histogramCounts(r, edges);
    const cc = histogramCounts(c, edges);
    return {
      keys: rc.map((_, i) => i),
      edges,
      reference: rc.map((n) => n / r.length),
      current: cc.map((n) => n / c.length),
    };
  }
  if (options.type === 'num') {
    presentNumbers(ref, 'reference', options.column);
    presentNumbers(cur, 'current', options.column);
  }
  const { keys, reference: rs, current: cs } = alignedShares(refCounts, valueCounts(cur));
  return { keys, reference: rs, current: cs };
}

function sharesFromCounts(refCounts: Counts, curCounts: Counts, binned?: boolean) {
  const keepEmpty = binned ?? Array.isArray(refCounts);
  return alignedShares(toCountMap(refCounts), toCountMap(curCounts), keepEmpty);
}

/** scipy.special.rel_entr. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

function sum(a: ReadonlyArray<number>): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

/** Σ (r − c)·ln(r/c) on shares as given (not renormalised), as Evidently's psi. */
export function psiFromShares(reference: ReadonlyArray<number>, current: ReadonlyArray<number>): number {
  let s = 0;
  for (let i = 0; i < reference.length; i++) s += (reference[i]! - current[i]!) * Math.log(reference[i]! / current[i]!);
  return s;
}

/** scipy.stats.entropy(r, c): both renormalised, natural log, KL(r‖c). */
export function klFromShares(reference: ReadonlyArray<number>, current: ReadonlyArray<number>): number {
  const sr = sum(reference);
  const sc = sum(current);
  let s = 0;
  for (let i = 0; i < reference.length; i++) s += relEntr(reference[i]! / sr, current[i]! / sc);
  return s;
}

/** scipy.spatial.distance.jensenshannon(r, c, base): √(JSD) by default. */
export function jsFromShares(reference: ReadonlyArray<number>, current: ReadonlyArray<number>, options: JsOutputOptions = {}): number {
  const sr = sum(reference);
  const sc = sum(current);
  let left = 0;
  let right = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = reference[i]! / sr;
    const q = current[i]! / sc;
    const m = (p + q) / 2;
    left += relEntr(p, m);
    right += relEntr(q, m);
  }
  let js = left + right;
  if (options.base !== undefined && options.base !== 'e') js /= Math.log(options.base);
  return options.output === 'divergence' ? js / 2 : Math.sqrt(js / 2);
}

/** sqrt(1 − clip(Σ√(p·q), 0, 1)), Evidently's categorical Hellinger. */
export function hellingerFromShares(reference: ReadonlyArray<number>, current: ReadonlyArray<number>): number {
  let bc = 0;
  for (let i = 0; i < reference.length; i++) bc += Math.sqrt(reference[i]! * current[i]!);
  bc = Math.min(Math.max(bc, 0), 1);
  return Math.sqrt(1 - bc);
}

/** max_k |p(k) − q(k)|, each side normalised by its own total (TFDV LInftyDistance, kSeparateTotal). */
export function lInfinityFromShares(reference: ReadonlyArray<number>, current: ReadonlyArray<number>): number {
  let d = 0;
  for (let i = 0; i < reference.length; i++) d = Math.max(d, Math.abs(reference[i]! - current[i]!));
  return d;
}

// ---- raw values ----------------------------------------------------------------------------

/** Population Stability Index, Evidently's `psi` (zero fill 'evidently' unless set). Default threshold 0.1, drift on >=. */
export function psi(reference: Values, current: Values, options: HistogramOptions): number {
  const s = histogramShares(reference, current, options);
  const mode = options.zeroFill ?? 'evidently';
  return psiFromShares(fillZeros(s.reference, mode, 'reference'), fillZeros(s.current, mode, 'current'));
}

/** KL(reference‖current), Evidently's `kl_div` (natural log, zero fill 'evidently' unless set). */
export function klDivergence(reference: Values, current: Values, options: HistogramOptions): number {
  const s = histogramShares(reference, current, options);
  const mode = options.zeroFill ?? 'evidently';
  return klFromShares(fillZeros(s.reference, mode, 'reference'), fillZeros(s.current, mode, 'current'));
}

/**
 * Evidently's `jensenshannon`: scipy's Jensen-Shannon *distance* √JSD with the natural log (max
 * √ln2 ≈ 0.8326), no zero fill. `base: 2` and `output: 'divergence'` give the other conventions.
 */
export function jensenShannon(reference: Values, current: Values, options: HistogramOptions & JsOutputOptions): number {
  const s = histogramShares(reference, current, options);
  const mode = options.zeroFill ?? 'none';
  return jsFromShares(fillZeros(s.reference, mode, 'reference'), fillZeros(s.current, mode, 'current'), options);
}

/**
 * Evidently's `hellinger`. Categorical: on value shares. Numeric: Sturges edges over the *distinct*
 * values of both samples, np.histogram densities, BC = Σ √(h1·h2)·width (Evidently's own rule,
 * not the >20-distinct binning of PSI/KL/JS).
 */
export function hellinger(reference: Values, current: Values, options: { type: ColumnType; column?: string } & EdgeOptions): number {
  if (options.type === 'cat') {
    const ref = present(reference, 'reference', options.column);
    const cur = present(current, 'current', options.column);
    const s = alignedShares(valueCounts(ref), valueCounts(cur));
    return hellingerFromShares(s.reference, s.current);
  }
  const ref = presentNumbers(reference, 'reference', options.column);
  const cur = presentNumbers(current, 'current', options.column);
  const keys = [...new Set([...ref, ...cur])];
  let min = Infinity;
  let max = -Infinity;
  for (const k of keys) {
    if (k < min) min = k;
    if (k > max) max = k;
  }
  const edges = sturgesEdges(min, max, keys.length, options);
  const h1 = density(histogramCounts(ref, edges), edges);
  const h2 = density(histogramCounts(cur, edges), edges);
  const width = (edges[edges.length - 1]! - edges[0]!) / (edges.length - 1);
  let bc = 0;
  for (let i = 0; i < h1.length; i++) bc += Math.sqrt(h1[i]! * h2[i]!) * width;
  bc = Math.min(Math.max(bc, 0), 1);
  return Math.sqrt(1 - bc);
}

/** np.histogram(..., density=True): n / diff(edges) / n.sum(). */
function density(counts: number[], edges: number[]): number[] {
  const total = sum(counts);
  return counts.map((n, i) => n / (edges[i + 1]! - edges[i]!) / total);
}

/** TFDV's L-infinity distance of the normalised value frequencies. TFDV fires on > threshold. */
export function lInfinity(reference: Values, current: Values): number {
  const s = alignedShares(valueCounts(present(reference, 'reference')), valueCounts(present(current, 'current')));
  return lInfinityFromShares(s.reference, s.current);
}

/**
 * 1-D Wasserstein (earth mover's) distance of the two empirical distributions, as
 * scipy.stats.wasserstein_distance(u, v) without weights: Σ |U(x) − V(x)|·Δx over the pooled
 * sorted values. Needs raw values.
 */
export function wasserstein(reference: Values, current: Values): number {
  const u = sortedNumbers(presentNumbers(reference, 'reference'));
  const v = sortedNumbers(presentNumbers(current, 'current'));
  return wassersteinSorted(u, v);
}

export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const nu = u.length;
  const nv = v.length;
  let i = 0;
  let j = 0;
  let total = 0;
  let prev = Math.min(u[0]!, v[0]!);
  // Walk the pooled values in order; between consecutive pooled values both CDFs are constant.
  while (i < nu || j < nv) {
    const x = j >= nv || (i < nu && u[i]! <= v[j]!) ? u[i]! : v[j]!;
    total += Math.abs(i / nu - j / nv) * (x - prev);
    if (j >= nv || (i < nu && u[i]! <= v[j]!)) i++;
    else j++;
    prev = x;
  }
  return total;
}

/** Population standard deviation (ddof = 0), as np.std on a pandas Series. */
export function populationStd(values: ReadonlyArray<number>): number {
  const n = values.length;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return Math.sqrt(ss / n);
}

/**
 * Evidently's `wasserstein` stat test: wasserstein_distance(ref, cur) / max(std(ref), 0.001),
 * with the population std of the reference. Default threshold 0.1, drift on >=.
 */
export function wassersteinNormed(reference: Values, current: Values, options: { type?: 'num'; column?: string } = {}): number {
  const r = presentNumbers(reference, 'reference', options.column);
  const c = presentNumbers(current, 'current', options.column);
  return wassersteinSorted(sortedNumbers(r), sortedNumbers(c)) / Math.max(populationStd(r), 0.001);
}

// ---- counts ----------------------------------------------------------------------------------

/** PSI from counts per category or per bin (no raw values needed). */
export function psiFromCounts(refCounts: Counts, curCounts: Counts, options: CountsOptions = {}): number {
  const s = sharesFromCounts(refCounts, curCounts, options.binned);
  const mode = options.zeroFill ?? 'evidently';
  return psiFromShares(fillZeros(s.reference, mode, 'reference'), fillZeros(s.current, mode, 'current'));
}

/** KL divergence from counts per category or per bin. */
export function klDivergenceFromCounts(refCounts: Counts, curCounts: Counts, options: CountsOptions = {}): number {
  const s = sharesFromCounts(refCounts, curCounts, options.binned);
  const mode = options.zeroFill ?? 'evidently';
  return klFromShares(fillZeros(s.reference, mode, 'reference'), fillZeros(s.current, mode, 'current'));
}

/** Jensen-Shannon from counts per category or per bin. */
export function jensenShannonFromCounts(refCounts: Counts, curCounts: Counts, options: CountsOptions & JsOutputOptions = {}): number {
  const s = sharesFromCounts(refCounts, curCounts, options.binned);
  const mode = options.zeroFill ?? 'none';
  return jsFromShares(fillZeros(s.reference, mode, 'reference'), fillZeros(s.current, mode, 'current'), options);
}

/**
 * Hellinger from counts. For categories this is Evidently's formula exactly. For a numeric column
 * it matches Evidently when the bins are `sturgesEdges(min, max, distinctCount)` of the pooled
 * distinct values (equal-width bins make density·width equal the share).
 */
export function hellingerFromCounts(refCounts: Counts, curCounts: Counts): number {
  const s = sharesFromCounts(refCounts, curCounts, true);
  return hellingerFromShares(s.reference, s.current);
}

/** L-infinity from counts (TFDV uses the rank histogram counts). Two empty maps give 0. */
export function lInfinityFromCounts(refCounts: Counts, curCounts: Counts): number {
  const r = toCountMap(refCounts);
  const c = toCountMap(curCounts);
  if (r.size === 0 && c.size === 0) return 0;
  const s = alignedShares(r, c, true);
  return lInfinityFromShares(s.reference, s.current);
}


