/**
 * What a watch's condition gets, per rule type: the params its Painless script reads
 * (scripts.ts), the checks and the fields left unchecked (for metadata and the warnings), and a
 * plain compare / array_compare where one decides the same verdict as the agent. Pure.
 */
import type { estypes } from '@elastic/elasticsearch';
import { missingName, percentOf, queryId, type FieldPlan, type RulePlan } from '../../rules/plan.ts';
import type { DistributionShiftRule, Rule } from '../../rules/schema.ts';
import type { SidePlan } from './search.ts';
import { qualityParts } from './quality.ts';
import { shiftParts } from './shift.ts';

/** What a type's condition gets besides the common params, plus what stays unchecked. */
export interface ConditionParts {
  params: Record<string, unknown>;
  checks: string[];
  unchecked: { field: string; reason: string }[];
  notes: string[];
  profileUsed: boolean;
  /** A compare / array_compare condition deciding the same verdict, when there is one. */
  simple?: estypes.WatcherConditionContainer;
}

/** What every type's part builder reads. */
export interface PartsInput {
  plan: RulePlan;
  /** The plan's fields without a problem. */
  ok: FieldPlan[];
  cur: SidePlan;
  ref: SidePlan | undefined;
  /** A live reference (offset or segment): a second search in the chain. */
  live: boolean;
  indexPrefix: string;
  /** The aggregation name of a query id in a side's search, null when that side has none. */
  name: (side: SidePlan | undefined, id: string) => string | null;
}

type RuleOf<T extends Rule['type']> = Extract<Rule, { type: T }>;

function javaDoubleKey(p: number): string {
  // Elasticsearch keys percentiles by Java's Double.toString: 99 -> "99.0", 99.9 -> "99.9".
  return Number.isInteger(p) ? `${p}.0` : String(p);
}

function volumeParts(rule: RuleOf<'volume'>, { live }: PartsInput, parts: ConditionParts): void {
  parts.params = { min_count: rule.minCount ?? null, max_count: rule.maxCount ?? null, min_ratio: rule.minRatio ?? null, max_ratio: rule.maxRatio ?? null };
  if (rule.minCount !== undefined) parts.checks.push(`count < ${rule.minCount}`);
  if (rule.maxCount !== undefined) parts.checks.push(`count > ${rule.maxCount}`);
  if (rule.minRatio !== undefined) parts.checks.push(`count / reference count < ${rule.minRatio}`);
  if (rule.maxRatio !== undefined) parts.checks.push(`count / reference count > ${rule.maxRatio}`);
  const bounds = [rule.minCount !== undefined ? (['lt', rule.minCount] as const) : undefined, rule.maxCount !== undefined ? (['gt', rule.maxCount] as const) : undefined].filter((b) => b !== undefined);
  // One bound on the count and nothing else decides the same verdict as a plain compare.
  if (!live && bounds.length === 1 && rule.minSamples === 0) {
    const [op, value] = bounds[0]!;
    if (rule.groupBy.length === 0) parts.simple = { compare: { 'ctx.payload.hits.total': { [op]: value } } };
    else if (rule.groupBy.length === 1) parts.simple = { array_compare: { 'ctx.payload.aggregations.seg0.buckets': { path: 'doc_count', [op]: { quantifier: 'some', value } } } };
  }
}

function missingParts(rule: RuleOf<'missing_spike'>, { plan, ok, cur, ref, live, name }: PartsInput, parts: ConditionParts): void {
  const fields = [];
  const curId = queryId(plan, 'cur', 'missing');
  for (const f of ok) {
    let refShare: number | null = null;
    if (!live && rule.maxShare === undefined) {
      if (!f.profile) {
        parts.unchecked.push({ field: f.field, reason: 'the reference missing share comes from the profile: generate with the profile stored (driftbeat setup does) or set max_share' });
        continue;
      }
      refShare = f.profile.missing_share;
      parts.profileUsed = true;
    }
    fields.push({ field: f.field, name: missingName(f.path), agg: name(cur, curId), ref_agg: name(ref, queryId(plan, 'ref', 'missing')), ref_share: refShare });
  }
  parts.params = { fields, max_share: rule.maxShare ?? null, max_relative_increase: rule.maxRelativeIncrease, min_absolute_increase: rule.minAbsoluteIncrease };
  if (fields.length) {
    parts.checks.push(rule.maxShare !== undefined ? `missing share > ${rule.maxShare}` : `missing share > reference share x ${1 + rule.maxRelativeIncrease}${rule.minAbsoluteIncrease > 0 ? ` and at least ${rule.minAbsoluteIncrease} above it` : ''}`);
  }
}

function unseenParts(rule: RuleOf<'unseen_categories'>, { plan, ok, cur, ref, live, indexPrefix, name }: PartsInput, parts: ConditionParts): void {
  const fields = [];
  for (const f of ok) {
    const kind = live ? 'terms' : 'unseen';
    const agg = name(cur, queryId(plan, 'cur', kind, f.path));
    if (!agg) {
      parts.unchecked.push({ field: f.field, reason: f.problem ?? 'no reference categories (build a profile or give the rule a version)' });
      continue;
    }
    fields.push({ field: f.field, agg, present: live ? null : `${agg}_present`, ref_agg: name(ref, queryId(plan, 'ref', 'terms', f.path)) });
  }
  parts.params = { fields, max_unseen_count: rule.maxUnseenCount ?? null, max_unseen_share: rule.maxUnseenShare ?? null, top: rule.top };
  if (fields.length) {
    if (rule.maxUnseenCount !== undefined) parts.checks.push(`unseen values > ${rule.maxUnseenCount}`);
    if (rule.maxUnseenShare !== undefined) parts.checks.push(`unseen share > ${rule.maxUnseenShare}`);
  }
  if (!live && fields.length) parts.notes.push(`reference categories are looked up at run time (a terms lookup on ${indexPrefix}-reference), so the watch follows a rebuilt profile of the same version`);
  if (!live && fields.length === 1 && rule.maxUnseenShare === undefined && rule.minSamples === 0 && rule.groupBy.length === 0) {
    parts.simple = { compare: { [`ctx.payload.aggregations.${fields[0]!.agg}.doc_count`]: { gt: rule.maxUnseenCount ?? 0 } } };
  }
}

function oovParts(rule: RuleOf<'oov_rate'>, { plan, ok, cur, name }: PartsInput, parts: ConditionParts): void {
  const fields = ok.map((f) => {
    const id = queryId(plan, 'cur', 'text', f.path);
    const agg = name(cur, id)!;
    return { field: f.field, tokens: `${agg}_tokens`, oov: `${agg}_oov`, words: name(cur, queryId(plan, 'cur', 'oov_terms', f.path)) };
  });
  parts.params = { fields, max_oov_share: rule.maxOovShare, top: rule.top };
  if (fields.length) parts.checks.push(`OOV tokens / tokens > ${rule.maxOovShare}`);
}

function statsParts(rule: RuleOf<'prediction_stats'>, { plan, ok, cur, ref, live, name }: PartsInput, parts: ConditionParts): void {
  const bounds = Object.entries(rule.stats)
    .filter(([, b]) => b.min !== undefined || b.max !== undefined)
    .map(([stat, b]) => {
      const p = percentOf(stat);
      return { stat, percentile: p === undefined ? null : javaDoubleKey(p), min: b.min ?? null, max: b.max ?? null };
    });
  const fields = [];
  let k: number | null = rule.referenceMeanK ?? null;
  for (const f of ok) {
    let refMean: number | null = null;
    let refStd: number | null = null;
    if (k !== null && !live) {
      if (f.profile?.numeric) {
        refMean = f.profile.numeric.mean;
        refStd = f.profile.numeric.std;
        parts.profileUsed = true;
      } else {
        parts.unchecked.push({ field: f.field, reason: `reference_mean_k ${k}: the reference mean and std come from the profile; generate with the profile stored` });
      }
    }
    fields.push({
      field: f.field,
      stats: name(cur, queryId(plan, 'cur', 'stats', f.path)),
      pct: name(cur, queryId(plan, 'cur', 'percentiles', f.path)),
      ref_stats: name(ref, queryId(plan, 'ref', 'stats', f.path)),
      ref_mean: refMean,
      ref_std: refStd,
    });
  }
  if (k !== null && !live && fields.every((f) => f.ref_mean === null)) k = null;
  parts.params = { fields, bounds, k };
  if (fields.length && bounds.length) parts.checks.push(...bounds.map((b) => `${b.stat}${b.min !== null ? ` < ${b.min}` : ''}${b.min !== null && b.max !== null ? ' or' : ''}${b.max !== null ? ` > ${b.max}` : ''}`));
  if (fields.length && k !== null) parts.checks.push(`|mean - reference mean| > ${k} standard errors`);
}

/** The condition's parts of a rule planned for a watch (see the module comment). */
export function conditionParts(rule: Rule, plan: RulePlan, cur: SidePlan, ref: SidePlan | undefined, indexPrefix: string): ConditionParts {
  const unchecked = plan.fields.filter((f) => f.problem).map((f) => ({ field: f.field, reason: f.problem! }));
  const input: PartsInput = {
    plan, ok: plan.fields.filter((f) => !f.problem), cur, ref, live: plan.reference !== undefined, indexPrefix,
    name: (side, id) => side?.names.get(id) ?? null,
  };
  const parts: ConditionParts = { params: {}, checks: [], unchecked, notes: [], profileUsed: false };
  switch (rule.type) {
    case 'volume': volumeParts(rule, input, parts); break;
    case 'missing_spike': missingParts(rule, input, parts); break;
    case 'unseen_categories': unseenParts(rule, input, parts); break;
    case 'oov_rate': oovParts(rule, input, parts); break;
    case 'prediction_stats': statsParts(rule, input, parts); break;
    case 'distribution_shift': shiftParts(rule as DistributionShiftRule, input, parts); break;
    case 'model_quality': qualityParts(rule, input, parts); break;
  }
  return parts;
}
