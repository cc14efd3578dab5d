/**
 * The threshold of a result as one value object: the number, the side that breaches and what the
 * number is. Evaluation decides a verdict with `breaches`, and every place that shows a threshold
 * (`rules test`, `alerts list`, Slack, email, webhook, log, results documents) shows the same
 * object with `formatThreshold`, so the number shown is the number used and `<`/`>`/`≤`/`≥` are
 * the comparison made. Pure.
 */

/** The side of `value` that breaches: above (x > value), at_or_above (x >= value), below, at_or_below. */
export type ThresholdDirection = 'above' | 'at_or_above' | 'below' | 'at_or_below';

/**
 * What the number is: a share (0..1), a count of documents or values, a ratio to a reference
 * count, a p-value (drift when the p-value is small), a distance or divergence, a number of
 * standard errors, or a value of the field itself (prediction_stats bounds).
 */
export type ThresholdUnit = 'share' | 'count' | 'ratio' | 'p_value' | 'distance' | 'standard_errors' | 'value';

export interface Threshold {
  value: number;
  direction: ThresholdDirection;
  unit: ThresholdUnit;
}

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
