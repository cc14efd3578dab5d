/**
 * Evaluation (pure): a plan + the backend's answers -> one RuleResult per field x segment, with the
 * verdict computed by agent/stats in Evidently's terms (STATS.md) and the details a person needs
 * to act (unseen values with counts, top new words, NA shares, the categories that moved most).
 *
 * Too little data is `no_data` (min_samples, per segment), never a false alarm. A query that failed
 * makes the results that needed it `error`; the rule's other fields still get their verdicts.
 */
import type { RuleResult } from './result.ts';
import { breaches, missingThreshold, threshold as th, type Threshold } from './threshold.ts';
import type { MissingSpikeRule, OovRateRule, PredictionStatsRule, RuleOf, UnseenCategoriesRule, VolumeRule } from './schema.ts';
import { percentOf } from './plan.ts';
import { missingName, queryId, refKeyFor, type Answers, type Bucket, type FieldPlan, type Payload, type RulePlan } from './query.ts';
import type { RuleType } from './types.ts';
import { evaluateQuality } from './quality.ts';
import { distribution } from './evaluate-drift.ts';
import { FieldFailure, answer, answerById, base, errorResult, finite, statisticName, verdict, type Ctx } from './evaluate-context.ts';

export { errorResult } from './evaluate-context.ts';

/** Evaluates a planned rule; never throws (failures become status error). */
export function evaluatePlan(plan: RulePlan, answers: Answers, now: Date = new Date()): RuleResult[] {
  if (plan.rule.type === 'model_quality') return evaluateQuality(plan, answers, now);
  const ctx: Ctx = { plan, answers, evaluatedAt: now.toISOString() };
  const out: RuleResult[] = [];
  let counts: Map<string, Payload> | undefined;
  const countAnswer = answers.get(queryId(plan, 'cur', 'count'));
  if (countAnswer instanceof Error || countAnswer === undefined) {
    const msg = countAnswer instanceof Error ? countAnswer.message : 'the backend gave no answer';
    return plan.fields.map((f) => errorResult(ctx, f.field, '', 0, msg));
  }
  counts = countAnswer;
  const segments = counts.size ? [...counts.keys()].sort() : [''];
  for (const seg of segments) {
    const c = counts.get(seg);
    const n = c?.kind === 'count' ? c.count : 0;
    for (const fp of plan.fields) {
      if (fp.problem) {
        out.push(errorResult(ctx, fp.field, seg, n, fp.problem));
        continue;
      }
      if (n < plan.rule.minSamples) {
        const r = base(ctx, fp.field, seg, n);
        r.status = 'no_data';
        r.statistic = statisticName(plan);
        r.details = { reason: `${n} document(s) in the window, fewer than min_samples ${plan.rule.minSamples}` };
        out.push(r);
        continue;
      }
      try {
        out.push(evaluateField(ctx, fp, seg, n));
      } catch (err) {
        out.push(errorResult(ctx, fp.field, seg, n, (err as Error).message));
      }
    }
  }
  return out;
}

/** Error results for every field of a plan (a rule that could not run at all). */
export function planErrorResults(plan: RulePlan, message: string, now: Date = new Date()): RuleResult[] {
  const ctx = { plan, evaluatedAt: now.toISOString() };
  return (plan.fields.length ? plan.fields : [{ field: '*' } as FieldPlan]).map((f) => errorResult(ctx, f.field, '', 0, message));
}

type Evaluator<T extends RuleType> = (ctx: Ctx, rule: RuleOf<T>, fp: FieldPlan, seg: string, n: number) => RuleResult;

/** The evaluation of one field x segment, one entry per type of types.ts (model_quality: quality.ts). */
const EVALUATORS: { [T in Exclude<RuleType, 'model_quality'>]: Evaluator<T> } = {
  unseen_categories: unseen,
  missing_spike: missing,
  oov_rate: oov,
  distribution_shift: distribution,
  prediction_stats: predictionStats,
  volume: (ctx, rule, _fp, seg, n) => volume(ctx, rule, seg, n),
};

function evaluateField(ctx: Ctx, fp: FieldPlan, seg: string, n: number): RuleResult {
  const rule = ctx.plan.rule as RuleOf<Exclude<RuleType, 'model_quality'>>;
  return (EVALUATORS[rule.type] as Evaluator<typeof rule.type>)(ctx, rule as never, fp, seg, n);
}

function refCount(ctx: Ctx, seg: string): number {
  const a = answerById(ctx, queryId(ctx.plan, 'ref', 'count'), refKeyFor(ctx.plan, seg));
  return a?.kind === 'count' ? a.count : 0;
}

// ---------------------------------------------------------------------------------------------

function volume(ctx: Ctx, rule: VolumeRule, seg: string, n: number): RuleResult {
  const r = base(ctx, '*', seg, n);
  const problems: string[] = [];
  const minT = rule.minCount !== undefined ? th(rule.minCount, 'below', 'count') : undefined;
  const maxT = rule.maxCount !== undefined ? th(rule.maxCount, 'above', 'count') : undefined;
  let statistic = 'count';
  let value = n;
  if (minT && breaches(minT, n)) problems.push(`count ${n} < min_count ${rule.minCount}`);
  if (maxT && breaches(maxT, n)) problems.push(`count ${n} > max_count ${rule.maxCount}`);
  // The bound shown is the one breached, else the lower one (what a "model down" rule watches).
  let shown: Threshold | null = (maxT && breaches(maxT, n) ? maxT : minT ?? maxT) ?? null;
  const details: Record<string, unknown> = { count: n };
  if (ctx.plan.reference) {
    const rc = refCount(ctx, seg);
    r.reference_count = rc;
    const ratio = rc > 0 ? n / rc : n > 0 ? Infinity : 1;
    details.reference_count = rc;
    details.ratio = finite(ratio);
    const minR = rule.minRatio !== undefined ? th(rule.minRatio, 'below', 'ratio') : undefined;
    const maxR = rule.maxRatio !== undefined ? th(rule.maxRatio, 'above', 'ratio') : undefined;
    const low = minR !== undefined && breaches(minR, ratio);
    const high = maxR !== undefined && breaches(maxR, ratio);
    if (low) problems.push(`count ${n} is ${ratio.toFixed(3)}x the reference ${rc}, below min_ratio ${rule.minRatio}`);
    if (high) problems.push(`count ${n} is ${rc > 0 ? `${ratio.toFixed(3)}x` : 'infinitely above'} the reference ${rc}, above max_ratio ${rule.maxRatio}`);
    if ((low || high) && problems.length === 1) {
      statistic = 'count_ratio';
      value = ratio;
      shown = (low ? minR : maxR) ?? null;
    } else if (!shown) {
      shown = minR ?? maxR ?? null;
      if (shown) {
        statistic = 'count_ratio';
        value = ratio;
      }
    }
  }
  if (problems.length) details.violations = problems;
  r.statistic = statistic;
  r.value = finite(value);
  r.threshold = shown;
  r.details = details;
  return verdict(r, problems.length > 0);
}

function missing(ctx: Ctx, rule: MissingSpikeRule, fp: FieldPlan, seg: string, n: number): RuleResult {
  const name = missingName(fp.path);
  const m = answer(ctx, 'cur', 'missing', '', seg);
  const total = m?.total ?? n;
  const count = m?.counts[name] ?? 0;
  const share = total > 0 ? count / total : 0;
  const r = base(ctx, fp.field, seg, total);
  let refShare: number | undefined;
  if (ctx.plan.reference) {
    const rm = answer(ctx, 'ref', 'missing', '', refKeyFor(ctx.plan, seg));
    if (rm && rm.total > 0) {
      refShare = (rm.counts[name] ?? 0) / rm.total;
      r.reference_count = rm.total;
    } else {
      r.reference_count = 0;
    }
  } else if (fp.profile) {
    refShare = fp.profile.missing_share;
    r.reference_count = fp.profile.count;
  }
  const threshold = missingThreshold(rule, refShare);
  const drifted = breaches(threshold, share);
  r.statistic = 'missing_share';
  r.value = share;
  r.threshold = threshold;
  r.details = { missing_count: count, documents: total, missing_share: share, reference_missing_share: refShare ?? null, ...(rule.minAbsoluteIncrease > 0 ? { min_absolute_increase: rule.minAbsoluteIncrease } : {}) };
  return verdict(r, drifted);
}

function bucketSum(b: { buckets: Bucket[]; other: number }): number {
  return b.buckets.reduce((s, x) => s + x.count, 0) + b.other;
}

function unseen(ctx: Ctx, rule: UnseenCategoriesRule, fp: FieldPlan, seg: string, n: number): RuleResult {
  let present: number;
  let unseenCount: number;
  let top: Bucket[];
  let otherUnseen: number;
  let refCountValue: number | null = null;
  const details: Record<string, unknown> = {};
  if (ctx.plan.reference) {
    const cur = answer(ctx, 'cur', 'terms', fp.path, seg);
    const ref = answer(ctx, 'ref', 'terms', fp.path, refKeyFor(ctx.plan, seg));
    const known = new Set((ref?.buckets ?? []).map((b) => b.key));
    const all = (cur?.buckets ?? []).filter((b) => !known.has(b.key));
    present = cur ? bucketSum(cur) : 0;
    unseenCount = all.reduce((s, b) => s + b.count, 0);
    top = all.slice(0, rule.top);
    otherUnseen = unseenCount - top.reduce((s, b) => s + b.count, 0);
    refCountValue = ref ? bucketSum(ref) : 0;
    details.reference_categories = known.size;
    if (ref && ref.other > 0) details.reference_truncated = true;
    // Values beyond the terms size (capped under search.max_buckets) are neither known nor unseen.
    if (cur && cur.other > 0) details.current_truncated = true;
  } else {
    const u = answer(ctx, 'cur', 'unseen', fp.path, seg);
    present = u?.present ?? 0;
    unseenCount = u?.unseen ?? 0;
    top = u?.buckets ?? [];
    otherUnseen = u?.other ?? 0;
    refCountValue = fp.profile ? fp.profile.count : null;
    details.reference_categories = fp.profile?.categories?.length ?? 0;
    // A truncated category list makes rare training values look unseen: say so.
    if (fp.profile?.categories_truncated) details.reference_truncated = true;
  }
  const share = present > 0 ? unseenCount / present : 0;
  const r = base(ctx, fp.field, seg, present);
  r.reference_count = refCountValue;
  const byCount = rule.maxUnseenCount !== undefined && unseenCount > rule.maxUnseenCount;
  const byShare = rule.maxUnseenShare !== undefined && share > rule.maxUnseenShare;
  if (rule.maxUnseenShare !== undefined) {
    r.statistic = 'unseen_share';
    r.value = share;
    r.threshold = th(rule.maxUnseenShare, 'above', 'share');
  } else {
    r.statistic = 'unseen_count';
    r.value = unseenCount;
    r.threshold = th(rule.maxUnseenCount ?? 0, 'above', 'count');
  }
  r.details = {
    unseen_values: top.map((b) => ({ value: b.key, count: b.count })),
    unseen_count: unseenCount,
    unseen_share: share,
    values_checked: present,
    documents: n,
    ...(otherUnseen > 0 ? { other_unseen_count: otherUnseen } : {}),
    ...details,
  };
  return verdict(r, byCount || byShare);
}

function oov(ctx: Ctx, rule: OovRateRule, fp: FieldPlan, seg: string, n: number): RuleResult {
  const t = answer(ctx, 'cur', 'text', fp.path, seg);
  const words = answer(ctx, 'cur', 'oov_terms', fp.path, seg);
  const tokens = t?.tokens ?? 0;
  const oovTokens = t?.oov ?? 0;
  const share = tokens > 0 ? oovTokens / tokens : 0;
  const r = base(ctx, fp.field, seg, t?.docs ?? 0);
  const details: Record<string, unknown> = {
    oov_share: share,
    oov_tokens: oovTokens,
    tokens,
    documents_with_text: t?.docs ?? 0,
    documents: n,
    top_oov_words: (words?.buckets ?? []).map((b) => ({ word: b.key, documents: b.count })),
  };
  if (ctx.plan.reference) {
    const rt = answer(ctx, 'ref', 'text', fp.path, refKeyFor(ctx.plan, seg));
    r.reference_count = rt?.docs ?? 0;
    details.reference_oov_share = rt && rt.tokens > 0 ? rt.oov / rt.tokens : null;
  } else if (fp.profile) {
    r.reference_count = fp.profile.count;
    details.reference_vocabulary_size = fp.profile.vocabulary?.length ?? 0;
  }
  r.statistic = 'oov_share';
  r.value = share;
  r.threshold = th(rule.maxOovShare, 'above', 'share');
  r.details = details;
  return verdict(r, breaches(r.threshold, share));
}

interface Moments { count: number; mean: number; std: number; stdPopulation: number; min: number | null; max: number | null }

/** Mean and standard deviations from sums (the same arithmetic on both backends' answers). */
function moments(s: { count: number; sum: number; sumOfSquares: number; min: number | null; max: number | null }): Moments {
  const mean = s.count > 0 ? s.sum / s.count : NaN;
  const varPop = s.count > 0 ? Math.max(0, s.sumOfSquares / s.count - mean * mean) : NaN;
  const varSample = s.count > 1 ? (varPop * s.count) / (s.count - 1) : NaN;
  return { count: s.count, mean, std: Math.sqrt(varSample), stdPopulation: Math.sqrt(varPop), min: s.min, max: s.max };
}

function predictionStats(ctx: Ctx, rule: PredictionStatsRule, fp: FieldPlan, seg: string, n: number): RuleResult {
  const s = answer(ctx, 'cur', 'stats', fp.path, seg);
  const pct = answer(ctx, 'cur', 'percentiles', fp.path, seg);
  const m = moments(s ?? { count: 0, sum: 0, sumOfSquares: 0, min: null, max: null });
  const r = base(ctx, fp.field, seg, m.count);
  const values: Record<string, number | null> = {};
  for (const stat of Object.keys(rule.stats)) {
    const p = percentOf(stat);
    if (p !== undefined) values[stat] = pct?.values[String(p)] ?? null;
    else if (stat === 'mean') values[stat] = finite(m.mean);
    else if (stat === 'std') values[stat] = finite(m.std);
    else if (stat === 'min') values[stat] = m.min;
    else if (stat === 'max') values[stat] = m.max;
  }
  const violations: { statistic: string; value: number | null; min?: number; max?: number }[] = [];
  for (const [stat, b] of Object.entries(rule.stats)) {
    const v = values[stat] ?? null;
    if (v === null) continue;
    const over = b.max !== undefined && v > b.max;
    if (over || (b.min !== undefined && v < b.min)) {
      violations.push({ statistic: stat, value: v, ...b });
    }
  }
  const details: Record<string, unknown> = { statistics: values, count: m.count, documents: n };
  let refMean: number | undefined;
  let refStd: number | undefined;
  if (ctx.plan.reference) {
    const rs = answer(ctx, 'ref', 'stats', fp.path, refKeyFor(ctx.plan, seg));
    if (rs && rs.count > 0) {
      const rm = moments(rs);
      refMean = rm.mean;
      refStd = rm.std;
      r.reference_count = rs.count;
    } else {
      r.reference_count = 0;
    }
  } else if (fp.profile?.numeric) {
    refMean = fp.profile.numeric.mean;
    refStd = fp.profile.numeric.std;
    r.reference_count = fp.profile.count - fp.profile.missing_count;
  }
  let kViolation: { value: number; threshold: number } | undefined;
  if (rule.referenceMeanK !== undefined) {
    if (refMean === undefined || refStd === undefined) throw new FieldFailure(`reference_mean_k needs the reference mean and std of "${fp.path}"; the reference has none`);
    const se = refStd / Math.sqrt(Math.max(m.count, 1));
    const dist = Math.abs(m.mean - refMean);
    details.reference_mean = refMean;
    details.reference_std = refStd;
    details.standard_error = se;
    details.mean_distance_in_se = se > 0 ? dist / se : null;
    if (dist > rule.referenceMeanK * se) kViolation = { value: m.mean, threshold: rule.referenceMeanK };
  }
  if (violations.length) details.violations = violations;
  if (kViolation) details.mean_outside_reference = { k: rule.referenceMeanK, mean: m.mean, reference_mean: refMean };
  const first = violations[0];
  if (first) {
    r.statistic = first.statistic;
    r.value = first.value;
    r.threshold = first.value !== null && first.max !== undefined && first.value > first.max ? th(first.max, 'above', 'value') : first.min !== undefined ? th(first.min, 'below', 'value') : null;
  } else if (kViolation) {
    r.statistic = 'mean_se_distance';
    r.value = finite(Number(details.mean_distance_in_se));
    r.threshold = rule.referenceMeanK !== undefined ? th(rule.referenceMeanK, 'above', 'standard_errors') : null;
  } else {
    const stat = Object.keys(rule.stats)[0] ?? 'mean';
    const b = rule.stats[stat] ?? {};
    r.statistic = stat;
    r.value = values[stat] ?? null;
    r.threshold = b.max !== undefined ? th(b.max, 'above', 'value') : b.min !== undefined ? th(b.min, 'below', 'value') : null;
  }
  r.details = details;
  return verdict(r, violations.length > 0 || kViolation !== undefined);
}

