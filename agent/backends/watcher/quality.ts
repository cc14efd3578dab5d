/**
 * model_quality in a watch: the agent's own outcome searches (backends/elasticsearch/quality.ts:
 * terms x terms on quality.actual_class / predicted_class, the histogram on quality.score_bin with
 * sums of actual_positive and log_loss, the regression sums) chained after the count of
 * predictions, and the Painless of quality-script.ts computing the metrics from them. Pure.
 *
 * Every metric of the rule type is computed by the watch as the agent computes it: accuracy,
 * precision / recall / F1 of the positive class, macro and weighted, ROC AUC from the same 100
 * score bins (so with the same binning error as the agent, reported as auc_error_bound; neither
 * computes the exact AUC from raw scores), log loss, MAE, MSE, RMSE, MAPE, mean error, R², label
 * coverage. What the watch does not do: put the confusion matrix and per-class figures in the
 * message (the agent's result details have them), compare with a profile's validation metrics
 * unless generated with the profile stored, `for`, recoveries.
 */
import { QUALITY_SCORE_BINS } from '../../rules/quality-schema.ts';
import type { Query, RulePlan } from '../../rules/plan.ts';
import type { ModelQualityRule } from '../../rules/schema.ts';
import type { ConditionParts, PartsInput } from './conditions.ts';

/** Said in every model_quality watch's notes and in the README's rule reference. */
export const QUALITY_WATCH_NOTE = 'every metric is computed by the watch from the same aggregations as the agent (ROC AUC from the same 100 score bins, with the same binning error); the confusion matrix and per-class figures stay in the agent\'s results, not in the message';

/**
 * The outcome searches of a model_quality plan, after `current` (the count of predictions):
 * `outcomes`, and with a live reference `reference` (the reference side has no count: label
 * coverage is the current window's).
 */
export function qualityInputs(plan: RulePlan): { name: string; side: 'cur' | 'ref'; query: Query }[] {
  if (plan.rule.type !== 'model_quality') return [];
  return plan.phase1.filter((q) => q.kind === 'quality').map((q) => {
    const side = q.id.split('/')[1] === 'ref' ? 'ref' : 'cur';
    return { name: side === 'cur' ? 'outcomes' : 'reference', side, query: q };
  });
}

function describe(m: { metric: string; min: number | null; max: number | null; max_drop: number | null; max_increase: number | null }, reference: string): string[] {
  const out: string[] = [];
  if (m.min !== null) out.push(`${m.metric} < ${m.min}`);
  if (m.max !== null) out.push(`${m.metric} > ${m.max}`);
  if (m.max_drop !== null) out.push(`${m.metric} < ${reference} ${m.metric} - ${m.max_drop}`);
  if (m.max_increase !== null) out.push(`${m.metric} > ${reference} ${m.metric} + ${m.max_increase}`);
  return out;
}

export function qualityParts(rule: ModelQualityRule, { plan, ok }: PartsInput, parts: ConditionParts): void {
  const fromProfile = rule.reference?.kind === 'profile';
  const refMetrics = fromProfile ? (plan.profile?.source.validation_metrics ?? null) : null;
  const metrics = ok.map((f) => {
    const b = rule.metrics[f.path as keyof ModelQualityRule['metrics']]!;
    return { metric: f.path, field: f.field, min: b.min ?? null, max: b.max ?? null, max_drop: b.maxDrop ?? null, max_increase: b.maxIncrease ?? null };
  });
  if (refMetrics && metrics.some((m) => m.max_drop !== null || m.max_increase !== null)) parts.profileUsed = true;
  parts.params = { task: rule.task, positive: rule.positive, bins: QUALITY_SCORE_BINS, metrics, ref_metrics: refMetrics };
  const reference = fromProfile ? "the profile's validation" : `the reference (${plan.referenceLabel})`;
  parts.checks.push(...metrics.flatMap((m) => describe(m, reference)));
  if (metrics.length) {
    parts.notes.push(QUALITY_WATCH_NOTE);
    parts.notes.push(`min_samples ${rule.minSamples} counts labelled predictions; windows are on prediction time and end label_delay + delay before the trigger`);
  }
}
