/**
 * driftbeat/stats: drift statistics with Evidently's meanings (legacy stat tests, the ones
 * Evidently 0.7's ValueDrift still calls), scipy's numbers and TFDV's L-infinity. Pure functions.
 *
 * Inputs are arrays of numbers or strings; null, undefined, NaN and ±Infinity are missing and are
 * dropped before any statistic, as Evidently does. A side left empty throws a StatsError with code
 * ERR_STATS_EMPTY: "An empty column '<name>' was provided for drift calculation in the reference
 * dataset." (Evidently's message). Strings in a numeric computation throw ERR_STATS_NOT_NUMERIC.
 *
 * What needs raw values and what works from counts (for the Elasticsearch backend):
 * - Raw values (order-based): `ks`, `wasserstein`, `wassersteinNormed`, and `hellinger` for 'num'
 *   (bins over the pooled *distinct* values). Above a size limit use `seededSample`; results
 *   computed on a sample carry `sampled: true` (driftTest sets it when `sampleLimit` applies).
 * - Counts: `psiFromCounts`, `klDivergenceFromCounts`, `jensenShannonFromCounts`,
 *   `hellingerFromCounts`, `chiSquareFromCounts`, `zTestFromCounts`, `lInfinityFromCounts` take
 *   counts per category (Map or record) or per bin (array). For numeric bins: get min, max and
 *   count of both windows combined, `sturgesEdges(min, max, count)`, then counts per bin
 *   ([e_i, e_{i+1}), the last bin closed; `histogramCounts` does this on raw values).
 *   Evidently bins only when the *reference* has more than 20 distinct values; otherwise it counts
 *   per value, so a backend needs the reference's distinct count first.
 *
 * Where we differ from Evidently, and why:
 * - numpy widens Sturges bins to width 1 for integer dtypes. JS numbers cannot tell an int64
 *   column from a float one, so by default every column is treated as float (an int column with a
 *   narrow range gets more bins than in Evidently). Pass `integerData: true` when the reference
 *   profile says the field is integer to get numpy's int behaviour.
 * - Value buckets follow first-seen order where Evidently iterates a Python set; sums then differ
 *   in the last bits (about 1e-15), not in meaning.
 * - KS's asymptotic branch (max(n1, n2) > 10000) sums scipy's double-double Smirnov series in log
 *   space: about 1e-10 relative to scipy, where the exact branch matches to ~1e-15.
 * - Chi-square with a single category on both sides gives p = NaN (0 degrees of freedom), as scipy
 *   and Evidently; it is not drift. Z with one shared value gives p = 1.
 * - Text columns: Evidently's default text drift is a domain classifier; we do not ship one.
 *   Text is the oov_rate rule's job, and our OOV vocabulary is the training data's tokens, not
 *   Evidently's NLTK English word list, so OOV shares are not comparable with Evidently's.
 * - Switches Evidently lacks (STATS.md §0.2): `zeroFill: 'evidently' | 'min_over_10' | 'none'`,
 *   `bins: 'evidently_sturges_combined' | 'reference_quantiles'`, Jensen-Shannon `base: 'e' | 2`
 *   and `output: 'distance' | 'divergence'`. Defaults are Evidently's.
 */
export {
  StatsError,
  dropMissing,
  isMissing,
  type Counts,
  type Value,
  type Values,
} from './clean.ts';
export { ks, ksPValue, ksStatisticSorted, roundHalfEven, KS_MAX_EXACT_N, type TestResult } from './ks.ts';
export { kolmogorovSf, smirnovSf } from './kstwo.ts';
export {
  binEdges,
  sturgesEdges,
  histogramCounts,
  referenceQuantileEdges,
  fillZeros,
  linspace,
  type EdgeOptions,
  type ZeroFill,
} from './binning.ts';
export {
  psi,
  klDivergence,
  jensenShannon,
  hellinger,
  lInfinity,
  wasserstein,
  wassersteinNormed,
  populationStd,
  histogramShares,
  psiFromCounts,
  klDivergenceFromCounts,
  jensenShannonFromCounts,
  hellingerFromCounts,
  lInfinityFromCounts,
  psiFromShares,
  klFromShares,
  jsFromShares,
  hellingerFromShares,
  NUMERIC_BINNING_MIN_DISTINCT,
  type ColumnType,
  type BinsMode,
  type HistogramOptions,
  type HistogramShares,
  type CountsOptions,
  type JsOutputOptions,
} from './distances.ts';
export { chiSquare, chiSquareFromCounts, zTest, zTestFromCounts } from './pvalues.ts';
export { chiSquareSf, normalCdf, gammaincc, logGamma } from './special.ts';
export { seededSample, SeededReservoir, seedFrom } from './sample.ts';
export {
  driftTest,
  defaultMethod,
  isDrifted,
  DEFAULT_THRESHOLDS,
  SCORE_KIND,
  DRIFT_METHODS,
  AUTO_SMALL_REFERENCE,
  type DriftMethod,
  type DriftColumnType,
  type DriftTestOptions,
  type DriftTestResult,
} from './drift.ts';
export {
  classification,
  classificationFromConfusion,
  classMetrics,
  confusionFromRows,
  sortLabels,
  rocAuc,
  rocAucBinned,
  rocAucFromHistograms,
  scoreBin,
  rowLogLoss,
  logLoss,
  regression,
  regressionFromSums,
  regressionRow,
  regressionSums,
  FLOAT64_EPS,
  type Label,
  type Confusion,
  type ClassMetrics,
  type ClassificationMetrics,
  type AucResult,
  type RegressionSums,
  type RegressionMetrics,
} from './quality.ts';
