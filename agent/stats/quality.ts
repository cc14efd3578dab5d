/**
 * Model quality from ground truth, with scikit-learn's definitions (Evidently calls scikit-learn
 * for these). Pure functions, in two layers:
 * - from aggregates (what a backend returns): a confusion matrix of counts, score histograms per
 *   class, and sums of per-row errors. These are what the model_quality rule uses on both backends.
 * - from rows (arrays of actual and predicted values): thin wrappers that build the aggregates, so
 *   the row path and the aggregate path cannot disagree; tests compare them with scikit-learn.
 *
 * Definitions (scikit-learn 1.9):
 * - labels are the sorted union of actual and predicted classes (`unique_labels`): numeric order
 *   when every label is a number, else code-unit order (numpy's for ASCII strings).
 * - precision = tp/(tp+fp), recall = tp/(tp+fn), F1 = 2tp/(2tp+fp+fn); a zero denominator gives 0
 *   (`zero_division="warn"` returns 0). macro = unweighted mean over labels; weighted = mean
 *   weighted by support (count of actual rows per class).
 * - ROC AUC (binary): exact from raw scores via mid-ranks (`roc_auc_score`). From histograms it is
 *   the Mann-Whitney count with pairs inside one bin counted as ties (1/2); the true value lies
 *   within `errorBound` = Σ_b pos_b·neg_b / (2·P·N) of it, and this bound is returned with it.
 *   With 100 equal-width bins and well-spread scores the bound is typically below 0.005.
 * - log loss: mean of -ln(clip(p_actual, eps, 1-eps)), eps = 2.220446049250313e-16 (float64 eps,
 *   as `log_loss` since 1.5); binary scores are the positive class's probability.
 * - error = prediction - actual (Evidently's sign: positive means over-prediction); MAE, RMSE =
 *   sqrt(mean squared error), MAPE = mean(|error| / max(|actual|, eps)) as a fraction (not %),
 *   mean error, R² = 1 - SS_res/SS_tot with SS_tot = Σy² - (Σy)²/n; SS_tot = 0 gives 1 when
 *   SS_res = 0 else 0 (`force_finite=True`). From sums, R² loses precision when the actual values'
 *   variance is tiny next to their mean (relative error ~1e-16·mean²/variance).
 */
import { StatsError } from './clean.ts';

export const FLOAT64_EPS = 2.220446049250313e-16;

export type Label = string | number | boolean;
/** Confusion counts: actual class -> predicted class -> count. */
export type Confusion = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** rows whose actual class is this one */
  support: number;
}

export interface ClassificationMetrics {
  samples: number;
  accuracy: number;
  labels: string[];
  /** matrix[i][j]: actual labels[i], predicted labels[j] (sklearn's confusion_matrix) */
  matrix: number[][];
  perClass: ClassMetrics[];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
}

/** sklearn's sorted label order: numeric when every label parses as a number, else code units. */
export function sortLabels(labels: Iterable<string>): string[] {
  const xs = [...new Set(labels)];
  const numeric = xs.every((x) => x.trim() !== '' && Number.isFinite(Number(x)));
  return numeric ? xs.sort((a, b) => Number(a) - Number(b)) : xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const div = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** Every classification metric from a confusion matrix of counts. */
export function classificationFromConfusion(confusion: Confusion): ClassificationMetrics {
  const seen = new Set<string>();
  for (const [a, row] of confusion) {
    seen.add(a);
    for (const p of row.keys()) seen.add(p);
  }
  const labels = sortLabels(seen);
  const matrix = labels.map((a) => labels.map((p) => confusion.get(a)?.get(p) ?? 0));
  const total = matrix.reduce((s, row) => s + row.reduce((t, c) => t + c, 0), 0);
  if (total === 0) throw new StatsError('ERR_STATS_EMPTY', 'No labelled predictions: the confusion matrix is empty.');
  const perClass = labels.map((label, i) => {
    const tp = matrix[i]![i]!;
    const support = matrix[i]!.reduce((s, c) => s + c, 0);
    const predicted = matrix.reduce((s, row) => s + row[i]!, 0);
    const fp = predicted - tp;
    const fn = support - tp;
    return { label, precision: div(tp, tp + fp), recall: div(tp, tp + fn), f1: div(2 * tp, 2 * tp + fp + fn), support };
  });
  const avg = (w: (c: ClassMetrics) => number) => {
    const ws = perClass.reduce((s, c) => s + w(c), 0);
    const mean = (k: 'precision' | 'recall' | 'f1') => div(perClass.reduce((s, c) => s + w(c) * c[k], 0), ws);
    return { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') };
  };
  const correct = labels.reduce((s, _, i) => s + matrix[i]![i]!, 0);
  return {
    samples: total,
    accuracy: correct / total,
    labels,
    matrix,
    perClass,
    macro: avg(() => 1),
    weighted: avg((c) => c.support),
  };
}

/** The metrics of one class (e.g. the positive class of a binary model), or zeros when absent. */
export function classMetrics(m: ClassificationMetrics, label: Label): ClassMetrics {
  const key = String(label);
  return m.perClass.find((c) => c.label === key) ?? { label: key, precision: 0, recall: 0, f1: 0, support: 0 };
}

export function confusionFromRows(actual: ReadonlyArray<Label>, predicted: ReadonlyArray<Label>): Map<string, Map<string, number>> {
  if (actual.length !== predicted.length) {
    throw new StatsError('ERR_STATS_LENGTH', `actual has ${actual.length} values, predicted ${predicted.length}`);
  }
  const out = new Map<string, Map<string, number>>();
  for (let i = 0; i < actual.length; i++) {
    const a = String(actual[i]);
    const p = String(predicted[i]);
    let row = out.get(a);
    if (!row) out.set(a, (row = new Map()));
    row.set(p, (row.get(p) ?? 0) + 1);
  }
  return out;
}

export function classification(actual: ReadonlyArray<Label>, predicted: ReadonlyArray<Label>): ClassificationMetrics {
  return classificationFromConfusion(confusionFromRows(actual, predicted));
}

export interface AucResult {
  auc: number;
  /** |true AUC - auc| <= errorBound (0 for the exact, raw-score computation) */
  errorBound: number;
  positives: number;
  negatives: number;
}

/** Binary ROC AUC from per-bin counts of positive and negative rows (bins in ascending score order). */
export function rocAucFromHistograms(pos: ReadonlyArray<number>, neg: ReadonlyArray<number>): AucResult {
  if (pos.length !== neg.length) throw new StatsError('ERR_STATS_LENGTH', `pos has ${pos.length} bins, neg ${neg.length}`);
  let negBelow = 0;
  let wins = 0;
  let ties = 0;
  for (let b = 0; b < pos.length; b++) {
    wins += pos[b]! * negBelow;
    ties += pos[b]! * neg[b]!;
    negBelow += neg[b]!;
  }
  const positives = pos.reduce((s, c) => s + c, 0);
  const negatives = negBelow;
  if (positives === 0 || negatives === 0) {
    // sklearn raises "Only one class present in y_true. ROC AUC score is not defined in that case."
    return { auc: Number.NaN, errorBound: 0, positives, negatives };
  }
  const pairs = positives * negatives;
  return { auc: (wins + ties / 2) / pairs, errorBound: ties / 2 / pairs, positives, negatives };
}

/** Bin index of a score in `bins` equal-width bins over [0, 1] (1 goes to the last bin; outside clamps). */
export function scoreBin(score: number, bins: number): number {
  const b = Math.floor(score * bins);
  return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

/** Exact binary ROC AUC from raw scores (sklearn roc_auc_score): each distinct score is a bin. */
export function rocAuc(actual: ReadonlyArray<Label>, scores: ReadonlyArray<number>, positive: Label = 1): AucResult {
  const key = String(positive);
  const order = scores.map((s, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const pos: number[] = [];
  const neg: number[] = [];
  let last = Number.NaN;
  for (const i of order) {
    if (scores[i] !== last) {
      pos.push(0);
      neg.push(0);
      last = scores[i]!;
    }
    const arr = String(actual[i]) === key ? pos : neg;
    arr[arr.length - 1]!++;
  }
  const r = rocAucFromHistograms(pos, neg);
  return { ...r, errorBound: 0 }; // ties between equal scores count 1/2 in sklearn too: exact
}

/** Histogram AUC from raw scores: what the backends compute, for tests and `rules test`. */
export function rocAucBinned(actual: ReadonlyArray<Label>, scores: ReadonlyArray<number>, bins: number, positive: Label = 1): AucResult {
  const pos = new Array<number>(bins).fill(0);
  const neg = new Array<number>(bins).fill(0);
  const key = String(positive);
  scores.forEach((s, i) => (String(actual[i]) === key ? pos : neg)[scoreBin(s, bins)]!++);
  return rocAucFromHistograms(pos, neg);
}

/** One row's log loss: -ln(clip(p, eps, 1-eps)) where p is the probability given to the actual class. */
export function rowLogLoss(probabilityOfActual: number): number {
  const p = Math.min(Math.max(probabilityOfActual, FLOAT64_EPS), 1 - FLOAT64_EPS);
  return -Math.log(p);
}

/** Binary log loss (sklearn log_loss(y, p) with p the positive class's probability). */
export function logLoss(actual: ReadonlyArray<Label>, scores: ReadonlyArray<number>, positive: Label = 1): number {
  if (actual.length === 0) throw new StatsError('ERR_STATS_EMPTY', 'log loss of no rows');
  const key = String(positive);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += rowLogLoss(String(actual[i]) === key ? scores[i]! : 1 - scores[i]!);
  return sum / actual.length;
}

/** Sums over labelled rows that give every regression metric; each is a plain `sum` aggregation. */
export interface RegressionSums {
  n: number;
  /** Σ (prediction - actual) */
  error: number;
  absError: number;
  squaredError: number;
  /** Σ |error| / max(|actual|, eps) */
  absPctError: number;
  actual: number;
  actualSquared: number;
}

export interface RegressionMetrics {
  samples: number;
  mae: number;
  rmse: number;
  mse: number;
  mape: number;
  meanError: number;
  r2: number;
}

/** The per-row regression fields an outcome document carries (summed by the backends). */
export function regressionRow(actual: number, prediction: number) {
  const error = prediction - actual;
  const absError = Math.abs(error);
  return { error, absError, squaredError: error * error, absPctError: absError / Math.max(Math.abs(actual), FLOAT64_EPS) };
}

export function regressionFromSums(s: RegressionSums): RegressionMetrics {
  if (s.n === 0) throw new StatsError('ERR_STATS_EMPTY', 'No labelled predictions for regression metrics.');
  const ssTot = s.actualSquared - (s.actual * s.actual) / s.n;
  const ssRes = s.squaredError;
  // sklearn force_finite: a constant target gives 1 for a perfect fit, else 0
  const r2 = ssTot <= 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
  const mse = ssRes / s.n;
  return {
    samples: s.n,
    mae: s.absError / s.n,
    rmse: Math.sqrt(mse),
    mse,
    mape: s.absPctError / s.n,
    meanError: s.error / s.n,
    r2,
  };
}

export function regressionSums(actual: ReadonlyArray<number>, predicted: ReadonlyArray<number>): RegressionSums {
  if (actual.length !== predicted.length) {
    throw new StatsError('ERR_STATS_LENGTH', `actual has ${actual.length} values, predicted ${predicted.length}`);
  }
  const s: RegressionSums = { n: 0, error: 0, absError: 0, squaredError: 0, absPctError: 0, actual: 0, actualSquared: 0 };
  for (let i = 0; i < actual.length; i++) {
    const r = regressionRow(actual[i]!, predicted[i]!);
    s.n++;
    s.error += r.error;
    s.absError += r.absError;
    s.squaredError += r.squaredError;
    s.absPctError += r.absPctError;
    s.actual += actual[i]!;
    s.actualSquared += actual[i]! * actual[i]!;
  }
  return s;
}

export function regression(actual: ReadonlyArray<number>, predicted: ReadonlyArray<number>): RegressionMetrics {
  return regressionFromSums(regressionSums(actual, predicted));
}
