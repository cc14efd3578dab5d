/**
 * The shape of a rule result as it is stored: one per rule x field x segment x window.
 * Owned here, by the layer that writes it, so that results/ never reads rules/: the rule engine
 * fills it (agent/rules/result.ts narrows `type` to its rule types), results/ writes it as is.
 */

export type Severity = 'info' | 'warning' | 'critical';

/**
 * ok: checked, fine. drifted: the rule's condition holds. no_data: below min_samples.
 * no_reference: the segment's version has no profile to compare with (segments.ts). error: could not evaluate.
 */
export type ResultStatus = 'ok' | 'drifted' | 'no_data' | 'no_reference' | 'error';

export interface TimeWindow {
  /** ISO 8601 UTC, inclusive. */
  from: string;
  /** ISO 8601 UTC, exclusive. */
  to: string;
}

/** The side of `value` that breaches: above (x > value), at_or_above (x >= value), below, at_or_below. */
export type ThresholdDirection = 'above' | 'at_or_above' | 'below' | 'at_or_below';

/**
 * What the number is: a share (0..1), a count of documents or values, a ratio to a reference
 * count, a p-value (drift when the p-value is small), a distance or divergence, a number of
 * standard errors, or a value of the field itself (prediction_stats bounds).
 */
export type ThresholdUnit = 'share' | 'count' | 'ratio' | 'p_value' | 'distance' | 'standard_errors' | 'value';

/** The breaching condition of a result (agent/rules/threshold.ts decides and formats it). */
export interface Threshold {
  value: number;
  direction: ThresholdDirection;
  unit: ThresholdUnit;
}

/** `Type`: the rule type names (agent/rules/types.ts); any string here, where results are only written. */
export interface RuleResult<Type extends string = string> {
  rule: string;
  type: Type;
  model: string;
  version?: string;
  /** Field checked (e.g. `features.country`, `prediction.score`, `text.customer_note`); `*` for volume. */
  field: string;
  /** Segment key, e.g. `model.version=1.4.2`; '' when the rule has no group_by. */
  segment: string;
  window: TimeWindow;
  status: ResultStatus;
  /** Name of the statistic (psi, ks, unseen_share, missing_share, oov_share, mean, count, ...). */
  statistic: string;
  value: number | null;
  /** The breaching condition ({ value, direction, unit }, threshold.ts); null when the result has no verdict. */
  threshold: Threshold | null;
  drifted: boolean;
  reference_count: number | null;
  current_count: number;
  severity: Severity;
  /** What a person needs to act: unseen values with counts, top OOV words, NA shares, bins, ... */
  details: Record<string, unknown>;
  /** Where the reference came from: `profile:fraud@1.4.2`, `offset:7d`, `segment:model.version=1.3.0`. */
  reference: string;
  /** Set when status is error. */
  error?: string;
  evaluated_at: string;
}
