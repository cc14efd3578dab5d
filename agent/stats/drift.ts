/**
 * One column's drift verdict, as Evidently's get_one_column_drift: missing values dropped, the
 * default test chosen by `_get_default_stattest` when method is 'auto', Evidently's default
 * thresholds and comparison directions.
 */
import { StatsError, present, presentNumbers, type Values } from './clean.ts';
import { ks } from './ks.ts';
import { chiSquare, zTest } from './pvalues.ts';
import {
  hellinger,
  jensenShannon,
  klDivergence,
  lInfinity,
  psi,
  wassersteinNormed,
  type BinsMode,
  type JsOutputOptions,
} from './distances.ts';
import type { ZeroFill } from './binning.ts';
import { seededSample } from './sample.ts';

export type DriftMethod = 'ks' | 'wasserstein' | 'psi' | 'kl_div' | 'jensenshannon' | 'hellinger' | 'chisquare' | 'z' | 'l_infinity';
export type DriftColumnType = 'num' | 'cat' | 'text';

export const DRIFT_METHODS: readonly DriftMethod[] = [
  'ks', 'wasserstein', 'psi', 'kl_div', 'jensenshannon', 'hellinger', 'chisquare', 'z', 'l_infinity',
];

/** Evidently's default thresholds (StatTest.default_threshold); l_infinity's 0.1 is our default (TFDV has none). */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  psi: 0.1,
  kl_div: 0.1,
  jensenshannon: 0.1,
  hellinger: 0.1,
  l_infinity: 0.1,
};

/** Whether the score is a p-value (drift when small) or a distance (drift when large). */
export const SCORE_KIND: Readonly<Record<DriftMethod, 'p_value' | 'distance'>> = {
  ks: 'p_value',
  chisquare: 'p_value',
  z: 'p_value',
  wasserstein: 'distance',
  psi: 'distance',
  kl_div: 'distance',
  jensenshannon: 'distance',
  hellinger: 'distance',
  l_infinity: 'distance',
};

/** Evidently's comparisons: KS p <= thr, chi-square and Z p < thr, distances >= thr; TFDV's L∞ > thr. */
export function isDrifted(method: DriftMethod, score: number, threshold: number): boolean {
  switch (method) {
    case 'ks':
      return score <= threshold;
    case 'chisquare':
    case 'z':
      return score < threshold;
    case 'l_infinity':
      return score > threshold;
    default:
      return score >= threshold;
  }
}

/** Reference size up to which Evidently uses p-value tests (n_ref == 1000 still takes them). */
export const AUTO_SMALL_REFERENCE = 1000;

/**
 * Evidently's default test (registry.py `_get_default_stattest`), from the sizes after dropping
 * missing values: n_ref <= 1000: num with <= 5 distinct pooled values -> chisquare (> 2) or z,
 * other num -> ks, cat -> chisquare (> 2) or z; n_ref > 1000: num <= 5 distinct -> jensenshannon,
 * other num -> wasserstein, cat -> jensenshannon.
 */
export function defaultMethod(type: 'num' | 'cat', nReference: number, nDistinctPooled: number): DriftMethod {
  if (nReference <= AUTO_SMALL_REFERENCE) {
    if (type === 'num' && nDistinctPooled > 5) return 'ks';
    return nDistinctPooled > 2 ? 'chisquare' : 'z';
  }
  if (type === 'num' && nDistinctPooled > 5) return 'wasserstein';
  return 'jensenshannon';
}

export interface DriftTestOptions extends JsOutputOptions {
  type: DriftColumnType;
  method?: 'auto' | DriftMethod;
  /** Default: DEFAULT_THRESHOLDS[method]. */
  threshold?: number;
  /** Column name for error messages. */
  column?: string;
  /** PSI/KL/JS switches (see distances.ts). */
  zeroFill?: ZeroFill;
  bins?: BinsMode;
  quantileBins?: number;
  integerData?: boolean;
  /**
   * KS and Wasserstein use raw values; above this many on a side they run on a seeded sample of
   * this size and the result says `sampled: true`. Default: no limit.
   */
  sampleLimit?: number;
  /** Seed of the sample (a number, or a string such as `rule|field`). Default 0. */
  seed?: number | string;
}

export interface DriftTestResult {
  method: DriftMethod;
  score: number;
  threshold: number;
  drifted: boolean;
  /** 'p_value' (ks, chisquare, z) or 'distance' (the others), as Evidently's drift_score. */
  scoreKind: 'p_value' | 'distance';
  /** Present and true when an order-based statistic ran on a seeded sample. */
  sampled?: true;
  referenceCount: number;
  currentCount: number;
}

const NUM_ONLY: ReadonlySet<DriftMethod> = new Set(['ks', 'wasserstein']);

/**
 * Drift of one column between a reference and a current sample. Missing values (null, undefined,
 * NaN, ±Infinity) are dropped first; an empty side throws ERR_STATS_EMPTY with Evidently's
 * message. Type 'text' throws: text drift is the oov_rate rule's job.
 */
export function driftTest(reference: Values, current: Values, options: DriftTestOptions): DriftTestResult {
  const { type, column } = options;
  if (type === 'text') {
    throw new StatsError(
      'ERR_STATS_TEXT',
      `Column${column === undefined ? '' : ` '${column}'`} is text: text drift is measured by the oov_rate rule ` +
        "(out-of-vocabulary share), not by a distribution test. Use type 'cat' or 'num', or an oov_rate rule.",
    );
  }
  if (type !== 'num' && type !== 'cat') {
    throw new StatsError('ERR_STATS_TYPE', `Unknown column type ${JSON.stringify(type)}; expected 'num', 'cat' or 'text'.`);
  }
  const ref = type === 'num' ? presentNumbers(reference, 'reference', column) : present(reference, 'reference', column);
  const cur = type === 'num' ? presentNumbers(current, 'current', column) : present(current, 'current', column);
  const requested = options.method ?? 'auto';
  const method: DriftMethod =
    requested === 'auto' ? defaultMethod(type, ref.length, new Set([...ref, ...cur]).size) : requested;
  if (!DRIFT_METHODS.includes(method)) {
    throw new StatsError('ERR_STATS_METHOD', `Unknown drift method ${JSON.stringify(method)}; expected 'auto' or one of ${DRIFT_METHODS.join(', ')}.`);
  }
  if (NUM_ONLY.has(method) && type !== 'num') {
    throw new StatsError(
      'ERR_STATS_METHOD_TYPE',
      `Method '${method}' needs a numeric column${column === undefined ? '' : ` ('${column}' is categorical)`}; ` +
        "use chisquare, z, psi, kl_div, jensenshannon, hellinger or l_infinity for categories.",
    );
  }
  const threshold = options.threshold ?? DEFAULT_THRESHOLDS[method];
  let sampled = false;
  const limited = (values: Array<number | string>, side: string): Array<number | string> => {
    const limit = options.sampleLimit;
    if (limit === undefined || values.length <= limit) return values;
    sampled = true;
    return seededSample(values, limit, `${String(options.seed ?? 0)}|${side}`);
  };
  const hist = { type, column, zeroFill: options.zeroFill, bins: options.bins, quantileBins: options.quantileBins, integerData: options.integerData };
  let score: number;
  switch (method) {
    case 'ks':
      score = ks(limited(ref, 'reference'), limited(cur, 'current')).pValue;
      break;
    case 'wasserstein':
      score = wassersteinNormed(limited(ref, 'reference'), limited(cur, 'current'), { column });
      break;
    case 'psi':
      score = psi(ref, cur, hist);
      break;
    case 'kl_div':
      score = klDivergence(ref, cur, hist);
      break;
    case 'jensenshannon':
      score = jensenShannon(ref, cur, { ...hist, base: options.base, output: options.output });
      break;
    case 'hellinger':
      score = hellinger(ref, cur, { type, column, integerData: options.integerData });
      break;
    case 'chisquare':
      score = chiSquare(ref, cur).pValue;
      break;
    case 'z':
      score = zTest(ref, cur).pValue;
      break;
    case 'l_infinity':
      score = lInfinity(ref, cur);
      break;
  }
  const result: DriftTestResult = {
    method,
    score,
    threshold,
    drifted: isDrifted(method, score, threshold),
    scoreKind: SCORE_KIND[method],
    referenceCount: ref.length,
    currentCount: cur.length,
  };
  if (sampled) result.sampled = true;
  return result;
}


