/**
 * Evaluation of distribution_shift (pure): the reference and current distributions of a field by
 * its route (value counts, bins of phase 2, or raw values), the drift score of agent/stats in
 * Evidently's terms (STATS.md) and the details that show what moved.
 */
import {
  chiSquareFromCounts,
  defaultMethod,
  driftTest,
  hellingerFromCounts,
  histogramCounts,
  jensenShannonFromCounts,
  klDivergenceFromCounts,
  lInfinityFromCounts,
  psiFromCounts,
  zTestFromCounts,
  DEFAULT_THRESHOLDS,
  SCORE_KIND,
  type DriftMethod,
} from '../stats/index.ts';
import type { RuleResult } from './result.ts';
import { breaches, driftThreshold } from './threshold.ts';
import type { DistributionShiftRule } from './schema.ts';
import { binEdgesFor } from './plan.ts';
import { rangeId, refKeyFor, type Bucket, type FieldPlan } from './query.ts';
import { FieldFailure, answer, answerById, base, noValues, verdict, type Ctx } from './evaluate-context.ts';

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

/** A field's score on one route; a RuleResult instead when the current window has no values. */
interface Scored {
  method: DriftMethod;
  score: number;
  curCount: number;
  refN: number;
}

/** What a route is given: the field, its segment and the reference side's, and the details to fill. */
interface Route {
  ctx: Ctx;
  rule: DistributionShiftRule;
  fp: FieldPlan;
  seg: string;
  refSeg: string;
  live: boolean;
  details: Record<string, unknown>;
}

const sum = (xs: Iterable<number>): number => {
  let s = 0;
  for (const x of xs) s += x;
  return s;
};

/** Categories (or few-valued numbers): counts per value against the reference's counts. */
function byCounts({ ctx, rule, fp, seg, refSeg, live, details }: Route): Scored | RuleResult {
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
  const curCount = sum(cur.values());
  const refN = sum(ref.values());
  if (curCount === 0) return noValues(ctx, fp, seg, 'current window');
  if (refN === 0) throw new FieldFailure(`the reference has no values of "${fp.path}"`);
  const type = fp.type === 'num' ? 'num' : 'cat';
  const method = !fp.method || fp.method === 'auto' ? defaultMethod(type, refN, new Set([...ref.keys(), ...cur.keys()]).size) : fp.method;
  details.top_changes = shareChanges(ref, cur);
  return { method, score: scoreFromCounts(method, ref, cur, rule), curCount, refN };
}

/** Numbers in bins: the phase-2 range counts against the reference's (sample histogram or range counts). */
function byBins({ ctx, rule, fp, seg, live, details }: Route): Scored | RuleResult {
  const plan = ctx.plan;
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
  const curCount = sum(cur);
  const refN = sum(ref);
  if (curCount === 0) return noValues(ctx, fp, seg, 'current window');
  if (refN === 0) throw new FieldFailure(`the reference has no values of "${fp.path}"`);
  const method = fp.method as DriftMethod;
  details.bins = { edges, reference_counts: ref, current_counts: cur };
  return { method, score: scoreFromCounts(method, ref, cur, rule), curCount, refN };
}

/** Raw values (KS, Wasserstein): the current values against the reference sample or window. */
function byValues({ ctx, rule, fp, seg, refSeg, live, details }: Route): Scored | RuleResult {
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
  return { method: t.method, score: t.score, curCount: cv?.total ?? cur.length, refN: refTotal };
}

export function distribution(ctx: Ctx, rule: DistributionShiftRule, fp: FieldPlan, seg: string, n: number): RuleResult {
  const route: Route = { ctx, rule, fp, seg, refSeg: refKeyFor(ctx.plan, seg), live: ctx.plan.reference !== undefined, details: { documents: n } };
  const scored = fp.route === 'counts' ? byCounts(route) : fp.route === 'bins' ? byBins(route) : byValues(route);
  if ('status' in scored) return scored;
  const { method, score, curCount, refN } = scored;
  const details = route.details;
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
