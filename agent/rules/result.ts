/**
 * What one evaluation of a rule produces: one RuleResult per rule x field x segment.
 * Written to `driftbeat-results` (or the embedded store), printed by `rules test --json`, and
 * fed to the alert lifecycle (agent/alerts). Shared contract between rules/, alerts/, notify/.
 * The stored shape is agent/results/result.ts's; here its `type` is one of the rule types.
 */
import type { RuleResult as StoredResult } from '../results/result.ts';
import type { RuleType } from './types.ts';

export type { RuleType } from './types.ts';
export type { ResultStatus, Severity, Threshold, TimeWindow } from '../results/result.ts';

export type RuleResult = StoredResult<RuleType>;

/** Stable key of an alert: rule + field + segment (DESIGN.md section 7). */
export function alertKey(r: Pick<RuleResult, 'rule' | 'field' | 'segment'>): string {
  return `${r.rule}|${r.field}|${r.segment}`;
}
