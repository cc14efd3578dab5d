/**
 * The `model_quality` rule type: quality metrics from joined outcomes (agent/quality), against
 * absolute bounds or a reference (the validation metrics of the reference profile, a past window,
 * or another segment such as the champion version). Schema, plan and evaluation, pure.
 *
 *   type: model_quality
 *   model: fraud
 *   window: 1d
 *   schedule: '0 * * * *'
 *   label_delay: 6h             # windows end 6h (+ delay) before they are evaluated: labels have come in
 *   metrics:
 *     recall: { min: 0.6 }      # of the positive class
 *     f1: { max_drop: 0.1 }     # at most 0.1 below the reference's F1
 *     roc_auc: { min: 0.75 }
 *   reference: { segment: { model.version: '1.4.2' } }
 *
 * Windows are on *prediction* time (@timestamp of the outcome = the prediction's), so a window's
 * quality is that of the predictions made in it; label_delay waits for their labels. min_samples
 * counts labelled predictions. Every result carries the label coverage (labelled / predictions).
 *
 * Metrics (scikit-learn's definitions, agent/stats/quality.ts): accuracy, precision, recall, f1
 * (the positive class), *_macro, *_weighted, roc_auc (from 100 score bins; the error bound is in
 * the details), log_loss; mae, mse, rmse, mape, mean_error, r2; label_coverage.
 */
import type { ReferenceProfile } from '../reference/profile.ts';
import {
  classificationFromConfusion,
  classMetrics,
  regressionFromSums,
  rocAucFromHistograms,
  type RegressionSums,
} from '../stats/quality.ts';
import type { RuleResult, TimeWindow } from './result.ts';
import { referenceLabel } from './schema.ts';
import { QUALITY_SCORE_BINS, type ModelQualityRule, type QualityBounds, type QualityMetric } from './quality-schema.ts';
import { emptyQualityAnswer, queryId, refKeyFor, type Answers, type FieldPlan, type Payload, type Query, type QualityAnswer, type QualitySpec, type RulePlan, type Side } from './query.ts';

export { emptyQualityAnswer, type QualityAnswer, type QualitySpec } from './query.ts';
import { breaches, threshold as th, type Threshold } from './threshold.ts';

export { QUALITY_SCORE_BINS, QUALITY_METRICS, CLASSIFICATION_METRICS, REGRESSION_METRICS, type QualityMetric, type QualityBounds, type ModelQualityRule } from './quality-schema.ts';

// ---------------------------------------------------------------------------------------------
// plan

export function planQuality(rule: ModelQualityRule, window: TimeWindow, profile: ReferenceProfile | undefined, index: number): RulePlan {
  const current: Side = { model: rule.model, from: window.from, to: window.to };
  if (rule.version !== undefined) current.version = rule.version;
  const ref = rule.reference;
  let reference: Side | undefined;
  if (ref?.kind === 'offset') reference = { ...current, from: new Date(Date.parse(window.from) - ref.offset).toISOString(), to: new Date(Date.parse(window.to) - ref.offset).toISOString() };
  else if (ref?.kind === 'segment') reference = { model: rule.model, from: window.from, to: window.to, segment: { ...ref.segment } };
  const fields: FieldPlan[] = Object.keys(rule.metrics).map((m) => ({ field: `quality.${m}`, path: m }));
  const plan: RulePlan = {
    rule: rule as never, index, window, current, fields, phase1: [],
    referenceLabel: ref ? referenceLabel(ref, rule.model, ref.kind === 'profile' ? (ref.version ?? rule.version ?? profile?.version) : rule.version) : '',
    refGroupBy: ref?.kind === 'segment' ? rule.groupBy.filter((g) => !(g in ref.segment)) : rule.groupBy,
  };
  if (reference) plan.reference = reference;
  if (profile) plan.profile = profile;
  if (ref?.kind === 'profile' && !profile?.source.validation_metrics) {
    for (const f of fields) {
      const b = rule.metrics[f.path as QualityMetric]!;
      if (b.maxDrop !== undefined || b.maxIncrease !== undefined) f.problem = `the reference profile${profile ? ` ${profile.model}@${profile.version}` : ''} has no validation metrics; rebuild it with --metrics ${f.path}=<value>, or compare with reference: { offset: 7d }`;
    }
  }
  const spec: QualitySpec = { kind: 'quality', task: rule.task, bins: QUALITY_SCORE_BINS };
  const push = (side: 'cur' | 'ref', q: Record<string, unknown>) => plan.phase1.push({ id: queryId(plan, side, q.kind as never), filter: side === 'cur' ? current : reference!, groupBy: side === 'cur' ? rule.groupBy : plan.refGroupBy, ...q } as unknown as Query);
  push('cur', { kind: 'count' });
  push('cur', { ...spec });
  if (reference) push('ref', { ...spec });
  return plan;
}

// ---------------------------------------------------------------------------------------------
// evaluate

type MetricValues = Partial<Record<QualityMetric, number>> & { aucErrorBound?: number };

/** Every metric a quality answer gives, plus the confusion matrix and per-class figures for the details. */
export function qualityMetrics(a: QualityAnswer, task: 'classification' | 'regression', positive: string, predictions: number): { values: MetricValues; details: Record<string, unknown> } {
  const values: MetricValues = { label_coverage: predictions > 0 ? a.labelled / predictions : 0 };
  const details: Record<string, unknown> = {};
  if (a.labelled === 0) return { values, details };
  if (task === 'regression') {
    const r = regressionFromSums(a.sums);
    Object.assign(values, { mae: r.mae, mse: r.mse, rmse: r.rmse, mape: r.mape, mean_error: r.meanError, r2: r.r2 });
    return { values, details };
  }
  const m = classificationFromConfusion(new Map(Object.entries(a.confusion).map(([k, row]) => [k, new Map(Object.entries(row))])));
  const p = classMetrics(m, positive);
  Object.assign(values, {
    accuracy: m.accuracy, precision: p.precision, recall: p.recall, f1: p.f1,
    precision_macro: m.macro.precision, recall_macro: m.macro.recall, f1_macro: m.macro.f1,
    precision_weighted: m.weighted.precision, recall_weighted: m.weighted.recall, f1_weighted: m.weighted.f1,
  });
  if (a.scored > 0) {
    const auc = rocAucFromHistograms(a.pos, a.neg);
    if (Number.isFinite(auc.auc)) {
      values.roc_auc = auc.auc;
      values.aucErrorBound = auc.errorBound;
    }
    values.log_loss = a.logLossSum / a.scored;
  }
  details.confusion_matrix = { labels: m.labels, matrix: m.matrix };
  details.per_class = m.perClass;
  return { values, details };
}

function answerOf(answers: Answers, id: string, seg: string): Payload | undefined {
  const a = answers.get(id);
  if (a instanceof Error) throw a;
  return a?.get(seg);
}

/** Which bound is breached (or the binding one when none is): [breached, threshold]. */
function judge(value: number, b: QualityBounds, ref: number | undefined): { breached: boolean; threshold: Threshold | null; why?: string } {
  const checks: { threshold: Threshold; why: string }[] = [];
  if (b.min !== undefined) checks.push({ threshold: th(b.min, 'below', 'value'), why: `below min ${b.min}` });
  if (b.max !== undefined) checks.push({ threshold: th(b.max, 'above', 'value'), why: `above max ${b.max}` });
  if (ref !== undefined && b.maxDrop !== undefined) checks.push({ threshold: th(ref - b.maxDrop, 'below', 'value'), why: `more than ${b.maxDrop} below the reference ${ref}` });
  if (ref !== undefined && b.maxIncrease !== undefined) checks.push({ threshold: th(ref + b.maxIncrease, 'above', 'value'), why: `more than ${b.maxIncrease} above the reference ${ref}` });
  const hit = checks.find((c) => breaches(c.threshold, value));
  if (hit) return { breached: true, ...hit };
  return { breached: false, threshold: checks[0]?.threshold ?? null };
}

export function evaluateQuality(plan: RulePlan, answers: Answers, now: Date = new Date()): RuleResult[] {
  const rule = plan.rule as unknown as ModelQualityRule;
  const evaluatedAt = now.toISOString();
  const curId = queryId(plan, 'cur', 'quality' as never);
  const base = (field: string, segment: string, n: number): RuleResult => {
    const r: RuleResult = {
      rule: rule.name, type: 'model_quality', model: rule.model, field, segment, window: plan.window, status: 'ok',
      statistic: field.slice('quality.'.length), value: null, threshold: null, drifted: false, reference_count: null,
      current_count: n, severity: rule.severity, details: {}, reference: plan.referenceLabel, evaluated_at: evaluatedAt,
    };
    if (rule.version !== undefined) r.version = rule.version;
    return r;
  };
  const cur = answers.get(curId);
  const counts = answers.get(queryId(plan, 'cur', 'count'));
  if (cur instanceof Error || cur === undefined || counts instanceof Error) {
    const msg = cur instanceof Error ? cur.message : counts instanceof Error ? counts.message : 'the backend gave no answer';
    return plan.fields.map((f) => ({ ...base(f.field, '', 0), status: 'error', error: msg }));
  }
  const segments = [...new Set([...cur.keys(), ...(counts?.keys() ?? [])])].sort();
  if (!segments.length) segments.push('');
  const out: RuleResult[] = [];
  for (const seg of segments) {
    const c = counts?.get(seg);
    const predictions = c?.kind === 'count' ? c.count : 0;
    const a = (cur.get(seg) ?? emptyQualityAnswer(QUALITY_SCORE_BINS)) as QualityAnswer;
    const { values, details } = qualityMetrics(a, rule.task, rule.positive, predictions);
    let refValues: MetricValues | undefined;
    let refLabelled: number | null = null;
    let refError: string | undefined;
    try {
      if (plan.reference) {
        const ra = answerOf(answers, queryId(plan, 'ref', 'quality' as never), refKeyFor(plan, seg)) as QualityAnswer | undefined;
        refLabelled = ra?.labelled ?? 0;
        if (ra && ra.labelled >= rule.minSamples && ra.labelled > 0) refValues = qualityMetrics(ra, rule.task, rule.positive, ra.labelled).values;
      } else if (rule.reference?.kind === 'profile') {
        refValues = plan.profile?.source.validation_metrics as MetricValues | undefined;
      }
    } catch (err) {
      refError = (err as Error).message;
    }
    const common = { labelled: a.labelled, predictions, label_coverage: values.label_coverage, label_delay_ms: rule.labelDelay };
    for (const fp of plan.fields) {
      const r = base(fp.field, seg, a.labelled);
      r.reference_count = refLabelled;
      const metric = fp.path as QualityMetric;
      if (fp.problem || refError) {
        out.push({ ...r, status: 'error', error: fp.problem ?? refError!, details: common });
        continue;
      }
      if (a.labelled < rule.minSamples || (a.labelled === 0 && metric !== 'label_coverage')) {
        out.push({ ...r, status: 'no_data', details: { ...common, reason: `${a.labelled} labelled prediction(s) in the window, fewer than min_samples ${rule.minSamples}` } });
        continue;
      }
      const value = values[metric];
      if (value === undefined || !Number.isFinite(value)) {
        out.push({ ...r, status: 'no_data', details: { ...common, reason: metric === 'roc_auc' || metric === 'log_loss' ? 'no scores, or only one class among the labels (ROC AUC is undefined)' : `${metric} is undefined for this window` } });
        continue;
      }
      const b = rule.metrics[metric]!;
      const refValue = refValues?.[metric];
      const needsRef = b.maxDrop !== undefined || b.maxIncrease !== undefined;
      if (needsRef && refValue === undefined && b.min === undefined && b.max === undefined) {
        out.push({ ...r, value, status: 'no_data', details: { ...common, reason: `no reference value of ${metric} (${refLabelled ?? 0} labelled reference prediction(s), fewer than min_samples ${rule.minSamples})` } });
        continue;
      }
      const j = judge(value, b, refValue);
      r.value = value;
      r.threshold = j.threshold;
      r.drifted = j.breached;
      r.status = j.breached ? 'drifted' : 'ok';
      r.details = { ...common, ...details, ...(refValue !== undefined ? { reference_value: refValue } : {}), ...(metric === 'roc_auc' ? { auc_error_bound: values.aucErrorBound, score_bins: QUALITY_SCORE_BINS } : {}), ...(j.why ? { breach: `${metric} ${value} ${j.why}` } : {}) };
      out.push(r);
    }
  }
  return out;
}
