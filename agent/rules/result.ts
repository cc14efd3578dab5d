/**
 * What one evaluation of a rule produces: one RuleResult per rule x field x segment.
 * Written to `driftbeat-results` (or the embedded store), printed by `rules test --json`, and
 * fed to the alert lifecycle (agent/alerts). Shared contract between rules/, alerts/, notify/.
 */
export type RuleType = 'unseen_categories' | 'missing_spike' | 'oov_rate' | 'distribution_shift' | 'prediction_stats' | 'volume' | 'model_quality';

import type { Threshold } from './threshold.ts';

export type { Threshold } from './threshold.ts';

export type Severity = 'info' | 'warning' | 'critical';

/** ok: checked, fine. drifted: the rule's condition holds. no_data: below min_samples. error: could not evaluate. */
export type ResultStatus = 'ok' | 'drifted' | 'no_data' | 'error';

export interface TimeWindow {
  /** ISO 8601 UTC, inclusive. */
  from: string;
  /** ISO 8601 UTC, exclusive. */
  to: string;
}

export interface RuleResult {
  rule: string;
  type: RuleType;
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

/** Stable key of an alert: rule + field + segment (DESIGN.md section 7). */
export function alertKey(r: Pick<RuleResult, 'rule' | 'field' | 'segment'>): string {
  return `${r.rule}|${r.field}|${r.segment}`;
}
