/**
 * The threshold of a result as one value object: the number, the side that breaches and what the
 * number is. Evaluation decides a verdict with `breaches`, and every place that shows a threshold
 * (`rules test`, `alerts list`, Slack, email, webhook, log, results documents) shows the same
 * object with `formatThreshold`, so the number shown is the number used and `<`/`>`/`≤`/`≥` are
 * the comparison made. Pure (the drift directions are checked against stats isDrifted).
 */

import { isDrifted, SCORE_KIND, type DriftMethod } from '../stats/index.ts';
import type { Threshold, ThresholdDirection, ThresholdUnit } from '../results/result.ts';

export type { Threshold, ThresholdDirection, ThresholdUnit } from '../results/result.ts';

export function threshold(value: number, direction: ThresholdDirection, unit: ThresholdUnit): Threshold {
  return { value, direction, unit };
}

/** Whether `x` is on the breaching side of `t`. */
export function breaches(t: Threshold, x: number): boolean {
  switch (t.direction) {
    case 'above': return x > t.value;
    case 'at_or_above': return x >= t.value;
    case 'below': return x < t.value;
    case 'at_or_below': return x <= t.value;
  }
}

const SYMBOL: Record<ThresholdDirection, string> = { above: '>', at_or_above: '≥', below: '<', at_or_below: '≤' };

function num(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 0.001 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

/**
 * The breaching condition as people read it: `< 500`, `≥ 0.1`, `> 0.0398`, and for p-values
 * `p < 0.05`. A number from a store written before thresholds were objects is shown bare.
 */
export function formatThreshold(t: Threshold | number | null | undefined): string {
  if (t === null || t === undefined) return 'n/a';
  if (typeof t === 'number') return num(t);
  return `${t.unit === 'p_value' ? 'p ' : ''}${SYMBOL[t.direction]} ${num(t.value)}`;
}

/**
 * The NA share that breaches a missing_spike rule. Evidently's condition is share > reference x
 * (1 + max_relative_increase) (its approx() absolute tolerance of 1e-12 changes nothing for a
 * share of documents, so a zero reference share gives "> 0"); `min_absolute_increase` also asks
 * share >= reference + floor. Both hold exactly when share is past the larger of the two, which
 * is the threshold shown and used.
 */
export function missingThreshold(rule: { maxShare?: number | undefined; maxRelativeIncrease: number; minAbsoluteIncrease: number }, refShare: number | undefined): Threshold {
  if (rule.maxShare !== undefined) return threshold(rule.maxShare, 'above', 'share');
  if (refShare === undefined) return threshold(0, 'above', 'share');
  const relative = refShare + refShare * rule.maxRelativeIncrease;
  const floor = refShare + rule.minAbsoluteIncrease;
  return rule.minAbsoluteIncrease > 0 && floor > relative ? threshold(floor, 'at_or_above', 'share') : threshold(relative, 'above', 'share');
}

/** The threshold of a drift method, with the comparison stats/drift.ts isDrifted makes. */
export function driftThreshold(method: DriftMethod, value: number): Threshold {
  const unit = SCORE_KIND[method] === 'p_value' ? 'p_value' : 'distance';
  const direction = method === 'ks' ? 'at_or_below' : method === 'chisquare' || method === 'z' ? 'below' : method === 'l_infinity' ? 'above' : 'at_or_above';
  const t = threshold(value, direction, unit);
  // One definition of the comparison: the stats library's. A method added there must be added here.
  for (const probe of [value - 1e-9, value, value + 1e-9]) {
    if (breaches(t, probe) !== isDrifted(method, probe, value)) throw new Error(`threshold direction of method ${method} disagrees with isDrifted`);
  }
  return t;
}
