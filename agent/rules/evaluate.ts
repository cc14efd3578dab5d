/**
 * Evaluation (pure): a plan + the backend's answers -> one RuleResult per field x segment, with the
 * verdict computed by agent/stats in Evidently's terms (STATS.md) and the details a person needs
 * to act (unseen values with counts, top new words, NA shares, the categories that moved most).
 *
 * Too little data is `no_data` (min_samples, per segment), never a false alarm. A query that failed
 * makes the results that needed it `error`; the rule's other fields still get their verdicts.
 */
import {
  chiSquareFromCounts,
  defaultMethod,
  driftTest,
  hellingerFromCounts,
  histogramCounts,
  isDrifted,
  jensenShannonFromCounts,
  klDivergenceFromCounts,
  lInfinityFromCounts,
  psiFromCounts,
  zTestFromCounts,
  DEFAULT_THRESHOLDS,
  SCORE_KIND,
  type DriftMethod,
} from '../stats/index.ts';
import type { ResultStatus, RuleResult } from './result.ts';
import { breaches, threshold as th, type Threshold } from './threshold.ts';
import type {
  DistributionShiftRule,
  MissingSpikeRule,
  OovRateRule,
  PredictionStatsRule,
  UnseenCategoriesRule,
  VolumeRule,
} from './schema.ts';
import {
  binEdgesFor,
  missingName,
  percentOf,
  queryId,
  rangeId,
  refKeyFor,
  type Answers,
  type Bucket,
  type FieldPlan,
  type Payload,
  type QueryKind,
  type RulePlan,
} from './plan.ts';
import { evaluateQuality } from './quality.ts';

class FieldFailure extends Error {}

interface Ctx {
  plan: RulePlan;
  answers: Answers;
  evaluatedAt: string;
}

function answer<K extends Payload['kind']>(ctx: Ctx, side: 'cur' | 'ref', kind: K, field: string, seg: string): Extract<Payload, { kind: K }> | undefined {
  return answerById(ctx, queryId(ctx.plan, side, kind as QueryKind, field), seg) as Extract<Payload, { kind: K }> | undefined;
}

function answerById(ctx: Ctx, id: string, seg: string): Payload | undefined {
  const a = ctx.answers.get(id);
  if (a instanceof Error) throw new FieldFailure(a.message);
  return a?.get(seg);
}

function base(ctx: Ctx, field: string, segment: string, currentCount: number): RuleResult {
  const r = ctx.plan.rule;
  const out: RuleResult = {
    rule: r.name, type: r.type, model: r.model, field, segment, window: ctx.plan.window,
    status: 'ok', statistic: '', value: null, threshold: null, drifted: false,
    reference_count: null, current_count: currentCount, severity: r.severity, details: {},
    reference: ctx.plan.referenceLabel, evaluated_at: ctx.evaluatedAt,
  };
  if (r.version !== undefined) out.version = r.version;
  return out;
}

function verdict(r: RuleResult, drifted: boolean): RuleResult {
  r.drifted = drifted;
  r.status = drifted ? 'drifted' : 'ok';
  return r;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

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

function statisticName(plan: RulePlan): string {
  const r = plan.rule;
  switch (r.type) {
    case 'unseen_categories': return r.maxUnseenShare !== undefined ? 'unseen_share' : 'unseen_count';
    case 'missing_spike': return 'missing_share';
    case 'oov_rate': return 'oov_share';
    case 'distribution_shift': return r.method;
    case 'prediction_stats': return Object.keys(r.stats)[0] ?? 'mean';
    case 'volume': return 'count';
    case 'model_quality': return Object.keys(r.metrics)[0] ?? 'accuracy';
  }
}

/** A result with status error (the message says what to do). */
export function errorResult(ctx: Ctx | { plan: RulePlan; evaluatedAt: string }, field: string, segment: string, currentCount: number, message: string): RuleResult {
  const r = base({ answers: new Map(), ...ctx }, field, segment, currentCount);
  r.status = 'error';
  r.statistic = statisticName(ctx.plan);
  r.error = message;
  return r;
}

/** Error results for every field of a plan (a rule that could not run at all). */
export function planErrorResults(plan: RulePlan, message: string, now: Date = new Date()): RuleResult[] {
  const ctx = { plan, evaluatedAt: now.toISOString() };
  return (plan.fields.length ? plan.fields : [{ field: '*' } as FieldPlan]).map((f) => errorResult(ctx, f.field, '', 0, message));
}

function evaluateField(ctx: Ctx, fp: FieldPlan, seg: string, n: number): RuleResult {
  const rule = ctx.plan.rule;
  switch (rule.type) {
    case 'volume': return volume(ctx, rule, seg, n);
    case 'missing_spike': return missing(ctx, rule, fp, seg, n);
    case 'unseen_categories': return unseen(ctx, rule, fp, seg, n);
    case 'oov_rate': return oov(ctx, rule, fp, seg, n);
    case 'prediction_stats': return predictionStats(ctx, rule, fp, seg, n);
    case 'distribution_shift': return distribution(ctx, rule, fp, seg, n);
    case 'model_quality': throw new FieldFailure('model_quality is evaluated by evaluateQuality (quality.ts)');
  }
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

/**
 * The NA share that breaches a missing_spike rule. Evidently's condition is share > reference x
 * (1 + max_relative_increase) (its approx() absolute tolerance of 1e-12 changes nothing for a
 * share of documents, so a zero reference share gives "> 0"); `min_absolute_increase` also asks
 * share >= reference + floor. Both hold exactly when share is past the larger of the two, which
 * is the threshold shown and used.
 */
export function missingThreshold(rule: Pick<MissingSpikeRule, 'maxShare' | 'maxRelativeIncrease' | 'minAbsoluteIncrease'>, refShare: number | undefined): Threshold {
  if (rule.maxShare !== undefined) return th(rule.maxShare, 'above', 'share');
  if (refShare === undefined) return th(0, 'above', 'share');
  const relative = refShare + refShare * rule.maxRelativeIncrease;
  const floor = refShare + rule.minAbsoluteIncrease;
  return rule.minAbsoluteIncrease > 0 && floor > relative ? th(floor, 'at_or_above', 'share') : th(relative, 'above', 'share');
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
  const violations: { statistic: string; value: number | null; min?: number; max?: number; text: string }[] = [];
  for (const [stat, b] of Object.entries(rule.stats)) {
    const v = values[stat] ?? null;
    if (v === null) continue;
    const over = b.max !== undefined && v > b.max;
    if (over || (b.min !== undefined && v < b.min)) {
      violations.push({ statistic: stat, value: v, ...b, text: over ? `${stat} ${fmtValue(v)} > max ${b.max}` : `${stat} ${fmtValue(v)} < min ${b.min}` });
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

// ---------------------------------------------------------------------------------------------
// distribution_shift

function countsMap(b: { buckets: Bucket[] } | undefined): Map<string, number> {
  return new Map((b?.buckets ?? []).map((x) => [x.key, x.count]));
}

function scoreFromCounts(method: DriftMethod, ref: Map<string, number> | number[], cur: Map<string, number> | number[], rule: DistributionShiftRule): number {
  const zeroFill = rule.zeroFill;
  switch (method) {
    case 'psi': return psiFromCounts(ref, cur, { zeroFill });
    case 'kl_div': return klDivergenceFromCounts(ref, cur, { zeroFill });
    case 'jensenshannon': return jensenShannonFromCounts(ref, cur, { base: rule.jsBase === '2' ? 2 : 'e', output: rule.jsOutput });
    case 'hellinger': return hellingerFromCounts(ref, cur);
    case 'l_infinity': return lInfinityFromCounts(ref, cur);
    case 'chisquare': return chiSquareFromCounts(ref, cur).pValue;
    case 'z': return zTestFromCounts(ref, cur).pValue;
    default: throw new FieldFailure(`method ${method} needs raw values, not counts`);
  }
}

function shareChanges(ref: Map<string, number>, cur: Map<string, number>, top = 10): { value: string; reference_share: number; current_share: number }[] {
  const rt = [...ref.values()].reduce((s, x) => s + x, 0) || 1;
  const ct = [...cur.values()].reduce((s, x) => s + x, 0) || 1;
  const keys = new Set([...ref.keys(), ...cur.keys()]);
  return [...keys]
    .map((k) => ({ value: k, reference_share: (ref.get(k) ?? 0) / rt, current_share: (cur.get(k) ?? 0) / ct }))
    .sort((a, b) => Math.abs(b.current_share - b.reference_share) - Math.abs(a.current_share - a.reference_share) || (a.value < b.value ? -1 : 1))
    .slice(0, top);
}

function distribution(ctx: Ctx, rule: DistributionShiftRule, fp: FieldPlan, seg: string, n: number): RuleResult {
  const plan = ctx.plan;
  const live = plan.reference !== undefined;
  const refSeg = refKeyFor(plan, seg);
  const details: Record<string, unknown> = { documents: n };
  let method: DriftMethod;
  let score: number;
  let curCount: number;
  let refN: number;
  if (fp.route === 'counts') {
    const curTerms = answer(ctx, 'cur', 'terms', fp.path, seg);
    const cur = countsMap(curTerms);
    let ref: Map<string, number>;
    if (live) {
      const rt = answer(ctx, 'ref', 'terms', fp.path, refSeg);
      ref = countsMap(rt);
      if (rt && rt.other > 0) details.reference_truncated = true;
    } else {
      ref = new Map((fp.profile?.categories ?? []).map((c) => [c.value, c.count]));
      if (fp.profile?.categories_truncated) details.reference_truncated = true;
    }
    if (curTerms && curTerms.other > 0) details.current_truncated = true;
    curCount = [...cur.values()].reduce((s, x) => s + x, 0);
    refN = [...ref.values()].reduce((s, x) => s + x, 0);
    if (curCount === 0) return noValues(ctx, fp, seg, 'current window');
    if (refN === 0) throw new FieldFailure(`the reference has no values of "${fp.path}"`);
    const type = fp.type === 'num' ? 'num' : 'cat';
    method = !fp.method || fp.method === 'auto' ? defaultMethod(type, refN, new Set([...ref.keys(), ...cur.keys()]).size) : fp.method;
    score = scoreFromCounts(method, ref, cur, rule);
    details.top_changes = shareChanges(ref, cur);
  } else if (fp.route === 'bins') {
    const edges = binEdgesFor(plan, fp, ctx.answers, seg);
    if (!edges) return noValues(ctx, fp, seg, 'current window');
    const cr = answerById(ctx, rangeId(plan, 'cur', fp.path, seg), '');
    const cur = cr?.kind === 'range' ? cr.counts : edges.slice(1).map(() => 0);
    let ref: number[];
    if (live) {
      const rr = answerById(ctx, rangeId(plan, 'ref', fp.path, seg), '');
      ref = rr?.kind === 'range' ? rr.counts : edges.slice(1).map(() => 0);
    } else {
      ref = histogramCounts(fp.profile?.sample ?? [], edges);
      if (fp.profile?.sampled) details.reference_sampled = true;
    }
    curCount = cur.reduce((s, x) => s + x, 0);
    refN = ref.reduce((s, x) => s + x, 0);
    if (curCount === 0) return noValues(ctx, fp, seg, 'current window');
    if (refN === 0) throw new FieldFailure(`the reference has no values of "${fp.path}"`);
    method = fp.method as DriftMethod;
    score = scoreFromCounts(method, ref, cur, rule);
    details.bins = { edges, reference_counts: ref, current_counts: cur };
  } else {
    const cv = answer(ctx, 'cur', 'values', fp.path, seg);
    const cur = cv?.values ?? [];
    let ref: number[];
    let refTotal: number;
    if (live) {
      const rv = answer(ctx, 'ref', 'values', fp.path, refSeg);
      ref = rv?.values ?? [];
      refTotal = rv?.total ?? 0;
      if (rv && rv.total > rv.values.length) details.reference_sampled = true;
    } else {
      ref = fp.profile?.sample ?? [];
      refTotal = fp.profile ? fp.profile.count - fp.profile.missing_count : ref.length;
      if (fp.profile?.sampled) details.reference_sampled = true;
    }
    if (cv && cv.total > cur.length) details.current_sampled = true;
    if (cur.length === 0) return noValues(ctx, fp, seg, 'current window');
    if (ref.length === 0) throw new FieldFailure(`the reference has no values of "${fp.path}"`);
    const t = driftTest(ref, cur, {
      type: 'num', method: (fp.method ?? 'auto') as DriftMethod | 'auto', column: fp.path,
      zeroFill: rule.zeroFill, bins: rule.bins, base: rule.jsBase === '2' ? 2 : 'e', output: rule.jsOutput,
      ...(rule.threshold !== undefined ? { threshold: rule.threshold } : {}),
    });
    method = t.method;
    score = t.score;
    curCount = cv?.total ?? cur.length;
    refN = refTotal;
  }
  const threshold = driftThreshold(method, rule.threshold ?? DEFAULT_THRESHOLDS[method]);
  const r = base(ctx, fp.field, seg, curCount);
  r.reference_count = refN;
  r.statistic = method;
  r.value = Number.isNaN(score) ? null : score;
  r.threshold = threshold;
  details.method = method;
  details.score_kind = SCORE_KIND[method];
  if (rule.method === 'auto') details.auto_method = true;
  r.details = details;
  return verdict(r, Number.isNaN(score) ? false : breaches(threshold, score));
}

function noValues(ctx: Ctx, fp: FieldPlan, seg: string, where: string): RuleResult {
  const r = base(ctx, fp.field, seg, 0);
  r.status = 'no_data' as ResultStatus;
  r.statistic = statisticName(ctx.plan);
  r.details = { reason: `no values of "${fp.path}" in the ${where}` };
  return r;
}

/** The threshold of a drift method, with the comparison stats/drift.ts isDrifted makes. */
export function driftThreshold(method: DriftMethod, value: number): Threshold {
  const unit = SCORE_KIND[method] === 'p_value' ? 'p_value' : 'distance';
  const direction = method === 'ks' ? 'at_or_below' : method === 'chisquare' || method === 'z' ? 'below' : method === 'l_infinity' ? 'above' : 'at_or_above';
  const t = th(value, direction, unit);
  // One definition of the comparison: the stats library's. A method added there must be added here.
  for (const probe of [value - 1e-9, value, value + 1e-9]) {
    if (breaches(t, probe) !== isDrifted(method, probe, value)) throw new Error(`threshold direction of method ${method} disagrees with isDrifted`);
  }
  return t;
}

function fmtValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
