/**
 * Planning (pure): a rule + a window + its reference profile -> a backend-neutral aggregation plan.
 *
 * A plan is a list of queries, each over one "side" (the current window, or a live reference: a
 * past window or another segment) with the rule's filters (model, version, time range, segment)
 * and group_by. Both backends answer every query kind with the same answer shape (query.ts), so
 * evaluate.ts never knows which backend ran. Each rule type has its planner (`PLANNERS`). Most rules need one phase; distribution_shift on a
 * numeric field binned with Sturges bins over reference + current needs the current min/max first
 * (phase 1: stats) and the counts per bin second (phase 2: range), planned by `planPhase2`.
 *
 * Field paths are document paths (`features.amount`, `prediction.score`); a text feature is
 * `features.customer_note` in a rule and `text.customer_note` in the profile and the documents.
 */
import type { FieldProfile, ReferenceProfile } from '../reference/profile.ts';
import { defaultMethod, sturgesEdges, referenceQuantileEdges, type DriftMethod as StatsMethod } from '../stats/index.ts';
import type { TimeWindow } from './result.ts';
import { matchFields, referenceLabel, type DistributionShiftRule, type Rule, type RuleOf } from './schema.ts';
import { planQuality } from './quality.ts';
import { ruleTypeInfo, suits, type FieldType, type RuleType } from './types.ts';
import {
  DEFAULT_TERMS_SIZE, DEFAULT_VALUES_LIMIT, missingName, parseSegmentKey, queryId, rangeId, refKeyFor, segmentKey,
  type Answers, type FieldPlan, type Payload, type PlanOptions, type Query, type QuerySpec, type RulePlan, type SegmentAnswers, type Side,
} from './query.ts';

/** The planner's contract (queries, answers, plans, Backend) is query.ts; re-exported for its users. */
export * from './query.ts';

function profileField(profile: ReferenceProfile | undefined, path: string): FieldProfile | undefined {
  if (!profile) return undefined;
  const name = path.startsWith('features.') ? path.slice('features.'.length) : undefined;
  return profile.fields.find((f) => f.field === path || (name !== undefined && f.field === `text.${name}`));
}

/** Document paths of a profile, in rule terms (`text.x` -> `features.x`). */
export function profilePaths(profile: ReferenceProfile): string[] {
  return profile.fields.map((f) => (f.field.startsWith('text.') ? `features.${f.field.slice(5)}` : f.field));
}

function isGlob(f: string): boolean {
  return /[*?]/.test(f);
}

/** The fields a rule checks, resolved against the profile (globs, defaults, suitability). */
function resolveFields(rule: Rule, profile: ReferenceProfile | undefined): FieldPlan[] {
  if (rule.type === 'volume') return [{ field: '*', path: '*' }];
  const out: FieldPlan[] = [];
  const available = profile ? profilePaths(profile) : [];
  const seen = new Set<string>();
  for (const f of rule.fields) {
    const paths = isGlob(f) ? matchFields([f], available) : [f];
    if (isGlob(f) && !profile) {
      out.push({ field: f, path: f, problem: `field pattern "${f}" needs a reference profile to expand; list the fields by name or build a profile (driftbeat reference build)` });
      continue;
    }
    for (const path of paths) {
      if (seen.has(path)) continue;
      seen.add(path);
      const fp = profileField(profile, path);
      const type = fp?.type;
      const field = fp?.kind === 'text' ? fp.field : path;
      const plan: FieldPlan = { field, path };
      if (fp) plan.profile = fp;
      if (type) plan.type = type;
      if (profile && !fp && rule.reference?.kind === 'profile') {
        plan.problem = `field "${path}" is not in the reference profile ${profile.model}@${profile.version}; check the name or rebuild the profile`;
      } else if (type && !suits(rule.type, type)) {
        if (isGlob(f) || rule.fieldsDefaulted) continue;
        plan.problem = `field "${path}" is ${type}; a ${rule.type} rule needs a ${ruleTypeInfo(rule.type).kindName} field`;
      }
      // Without a profile the rule type says what the field must be (distribution_shift decides from the data).
      const implied: FieldType | undefined = ruleTypeInfo(rule.type).implied;
      if (!type && !plan.problem && implied) plan.type = implied;
      out.push(plan);
    }
  }
  return out;
}

/** Percent of a statistic name (`median` -> 50, `p99.9` -> 99.9), undefined for the others. */
export function percentOf(stat: string): number | undefined {
  if (stat === 'median') return 50;
  const m = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  return m ? Number(m[1]) : undefined;
}

/** Decides method and route of a distribution_shift field from its profile. */
function routeField(rule: DistributionShiftRule, fp: FieldPlan): void {
  const p = fp.profile;
  const type = fp.type;
  if (type === 'cat' || type === 'bool') {
    fp.route = 'counts';
    fp.method = rule.method;
    if (rule.method === 'ks' || rule.method === 'wasserstein') fp.problem = `method ${rule.method} needs a numeric field; "${fp.path}" is ${type}`;
    return;
  }
  if (!p) return; // no profile: decided in phase 2 from the data
  const nRef = p.count - p.missing_count;
  const distinct = p.distinct_count;
  const method: StatsMethod = rule.method === 'auto' ? defaultMethod('num', nRef, distinct) : rule.method;
  fp.method = method;
  if (method === 'chisquare' || method === 'z') fp.route = 'counts';
  else if (method === 'psi' || method === 'kl_div' || method === 'jensenshannon') fp.route = distinct > 20 ? 'bins' : 'counts';
  else fp.route = 'raw';
  if (fp.route === 'counts' && !p.categories?.length) {
    // A numeric profile keeps counts per value only for a few distinct values (reference build).
    fp.problem = `method ${method} compares counts per value, and "${fp.path}" is numeric with ${distinct} distinct values in the profile ${p.model}@${p.version}, which keeps no counts per value for so many; ` +
      `use method: ks, wasserstein, psi (binned) or auto (Evidently registers ${method} for categorical columns only)`;
    return;
  }
  if (fp.route === 'raw' && !(p.sample && p.sample.length)) {
    fp.problem = `method ${method} needs raw reference values and the profile of "${fp.path}" has no sample; rebuild the profile`;
  }
}

/** The query helpers of one plan being built (planRule), handed to the type's planner. */
interface Planning<R extends Rule = Rule> {
  rule: R;
  plan: RulePlan;
  /** Fields without a problem. */
  ok: FieldPlan[];
  /** The sides a query can be on: the current window, and the live reference when there is one. */
  sides: ('cur' | 'ref')[];
  reference: Side | undefined;
  termsSize: number;
  valuesLimit: number;
  /** Adds a phase-1 query on a side. */
  q: (side: 'cur' | 'ref', spec: QuerySpec, field?: string) => void;
}

type Planner<T extends RuleType> = (p: Planning<RuleOf<T>>) => void;

function planMissing({ ok, sides, q }: Planning<RuleOf<'missing_spike'>>): void {
  const names = ok.map((f) => missingName(f.path));
  if (names.length) for (const s of sides) q(s, { kind: 'missing', names });
}

function planUnseen({ rule, ok, sides, reference, termsSize, q }: Planning<RuleOf<'unseen_categories'>>): void {
  for (const f of ok) {
    if (!reference && f.profile) {
      const values = (f.profile.categories ?? []).map((c) => c.value);
      q('cur', { kind: 'unseen', field: f.path, size: rule.top, reference: { model: f.profile.model, version: f.profile.version, field: f.profile.field, values } }, f.path);
    } else if (!reference) {
      f.problem = `no reference categories for "${f.path}": build a profile (driftbeat reference build) or use reference: { offset: 7d }`;
    } else {
      for (const s of sides) q(s, { kind: 'terms', field: f.path, size: termsSize }, f.path);
    }
  }
}

function planOov({ rule, ok, sides, q }: Planning<RuleOf<'oov_rate'>>): void {
  for (const f of ok) {
    const name = f.path.startsWith('features.') ? f.path.slice(9) : f.path;
    for (const s of sides) q(s, { kind: 'text', field: name }, f.path);
    q('cur', { kind: 'oov_terms', field: name, size: rule.top }, f.path);
  }
}

function planPredictionStats({ rule, ok, sides, q }: Planning<RuleOf<'prediction_stats'>>): void {
  const percents = Object.keys(rule.stats).map(percentOf).filter((p): p is number => p !== undefined);
  for (const f of ok) {
    for (const s of sides) {
      q(s, { kind: 'stats', field: f.path }, f.path);
      if (percents.length) q(s, { kind: 'percentiles', field: f.path, percents }, f.path);
    }
  }
}

function planDistribution({ rule, ok, sides, reference, termsSize, valuesLimit, q }: Planning<RuleOf<'distribution_shift'>>): void {
  for (const f of ok) {
    routeField(rule, f);
    if (f.problem) continue;
    if (!reference && !f.profile) {
      f.problem = `no reference for "${f.path}": build a profile (driftbeat reference build) or use reference: { offset: 7d }`;
      continue;
    }
    const route = reference && !f.route ? undefined : f.route;
    const onSides = reference ? sides : (['cur'] as const);
    if (route === undefined) {
      // No profile to decide on: phase 1 looks at the data of both sides.
      for (const s of onSides) {
        q(s, { kind: 'terms', field: f.path, size: termsSize }, f.path);
        q(s, { kind: 'stats', field: f.path, numericOnly: true }, f.path);
      }
    } else if (route === 'counts') {
      for (const s of onSides) q(s, { kind: 'terms', field: f.path, size: termsSize }, f.path);
    } else if (route === 'bins') {
      for (const s of onSides) q(s, { kind: 'stats', field: f.path }, f.path);
    } else {
      for (const s of onSides) q(s, { kind: 'values', field: f.path, limit: valuesLimit }, f.path);
    }
  }
}

/**
 * The phase-1 queries each rule type adds besides the count per side (one entry per type of
 * types.ts; model_quality has its own plan, quality.ts).
 */
const PLANNERS: { [T in Exclude<RuleType, 'model_quality'>]: Planner<T> } = {
  unseen_categories: planUnseen,
  missing_spike: planMissing,
  oov_rate: planOov,
  distribution_shift: planDistribution,
  prediction_stats: planPredictionStats,
  volume: () => {},
};

/** The current side of a rule's window, and the live reference side (offset or segment) if any. */
function sidesOf(rule: Rule, window: TimeWindow): { current: Side; reference?: Side } {
  const current: Side = { model: rule.model, from: window.from, to: window.to };
  if (rule.version !== undefined) current.version = rule.version;
  const ref = rule.reference;
  if (ref?.kind === 'offset') {
    return { current, reference: { ...current, from: new Date(Date.parse(window.from) - ref.offset).toISOString(), to: new Date(Date.parse(window.to) - ref.offset).toISOString() } };
  }
  if (ref?.kind === 'segment') return { current, reference: { model: rule.model, from: window.from, to: window.to, segment: { ...ref.segment } } };
  return { current };
}

/**
 * Plans one rule over one window. `profile` is the reference profile (needed when the reference
 * is a profile, and used for field types and defaults otherwise); `index` makes query ids unique.
 */
export function planRule(rule: Rule, window: TimeWindow, profile: ReferenceProfile | undefined, index: number, options: PlanOptions = {}): RulePlan {
  if (rule.type === 'model_quality') return planQuality(rule, window, profile, index);
  const { current, reference } = sidesOf(rule, window);
  const ref = rule.reference;
  const version = ref?.kind === 'profile' ? (ref.version ?? rule.version ?? profile?.version) : (rule.version ?? profile?.version);
  const plan: RulePlan = {
    rule, index, window, current, profile,
    referenceLabel: ref ? referenceLabel(ref, rule.model, version) : '',
    fields: resolveFields(rule, profile),
    phase1: [],
    refGroupBy: ref?.kind === 'segment' ? rule.groupBy.filter((g) => !(g in ref.segment)) : rule.groupBy,
  };
  if (reference) plan.reference = reference;
  if (!profile) delete plan.profile;
  const q = (side: 'cur' | 'ref', spec: QuerySpec, field = ''): void => {
    const filter = side === 'cur' ? current : reference!;
    plan.phase1.push({ id: queryId(plan, side, spec.kind, field), filter, groupBy: side === 'cur' ? rule.groupBy : plan.refGroupBy, ...spec } as Query);
  };
  const sides: ('cur' | 'ref')[] = reference ? ['cur', 'ref'] : ['cur'];
  for (const s of sides) q(s, { kind: 'count' });
  const planning: Planning = {
    rule, plan, ok: plan.fields.filter((f) => !f.problem), sides, reference, q,
    termsSize: options.termsSize ?? DEFAULT_TERMS_SIZE,
    valuesLimit: options.valuesLimit ?? DEFAULT_VALUES_LIMIT,
  };
  (PLANNERS[rule.type] as Planner<typeof rule.type>)(planning as Planning<never>);
  return plan;
}

function segmentsOf(a: SegmentAnswers | Error | undefined): Map<string, Payload> {
  return a instanceof Error || a === undefined ? new Map() : a;
}

/** Combined min / max / count over the segments of the stats answers of both sides, per segment. */
function combinedRange(answers: Answers, ids: string[], seg: string): { min: number; max: number; count: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (const id of ids) {
    const p = segmentsOf(answers.get(id)).get(seg);
    if (!p || p.kind !== 'stats' || p.count === 0 || p.min === null || p.max === null) continue;
    min = Math.min(min, p.min);
    max = Math.max(max, p.max);
    count += p.count;
  }
  return count > 0 ? { min, max, count } : undefined;
}

/** The Sturges (or reference-quantile) edges of a binned field for one segment, or undefined. */
export function binEdgesFor(plan: RulePlan, fp: FieldPlan, answers: Answers, seg: string): number[] | undefined {
  const rule = plan.rule as DistributionShiftRule;
  const p = fp.profile;
  if (!plan.reference && p) {
    const sample = p.sample ?? [];
    if (rule.bins === 'reference_quantiles') return sample.length ? referenceQuantileEdges(sample, 10) : undefined;
    const cur = combinedRange(answers, [queryId(plan, 'cur', 'stats', fp.path)], seg);
    const n = p.count - p.missing_count;
    if (!p.numeric || n <= 0) return cur ? sturgesEdges(cur.min, cur.max, cur.count) : undefined;
    if (!cur) return undefined;
    return sturgesEdges(Math.min(cur.min, p.numeric.min), Math.max(cur.max, p.numeric.max), n + cur.count, { integerData: false });
  }
  const cur = combinedRange(answers, [queryId(plan, 'cur', 'stats', fp.path)], seg);
  const ref = combinedRange(answers, [queryId(plan, 'ref', 'stats', fp.path)], refKeyFor(plan, seg));
  if (!cur || !ref) return undefined;
  return sturgesEdges(Math.min(cur.min, ref.min), Math.max(cur.max, ref.max), cur.count + ref.count);
}

/**
 * Phase 2 of a plan: counts per bin where phase 1 gave the min/max of binned fields, and, for a
 * live reference without a profile, the route decided from the data. Empty when nothing is needed.
 * A binned field under group_by gets one range query per segment (the edges differ).
 */
export function planPhase2(plan: RulePlan, answers: Answers, options: PlanOptions = {}): Query[] {
  if (plan.rule.type !== 'distribution_shift') return [];
  const rule = plan.rule;
  const out: Query[] = [];
  const valuesLimit = options.valuesLimit ?? DEFAULT_VALUES_LIMIT;
  const sides: ('cur' | 'ref')[] = plan.reference ? ['cur', 'ref'] : ['cur'];
  for (const fp of plan.fields) {
    if (fp.problem) continue;
    if (plan.reference && !fp.route) {
      // Decide from the data: numeric when every value is a number.
      const cur = firstSeg(answers.get(queryId(plan, 'cur', 'stats', fp.path)));
      const terms = firstSeg(answers.get(queryId(plan, 'cur', 'terms', fp.path)));
      const refTerms = firstSeg(answers.get(queryId(plan, 'ref', 'terms', fp.path)));
      const present = terms && terms.kind === 'terms' ? terms.buckets.reduce((s, b) => s + b.count, 0) + terms.other : 0;
      const numeric = cur && cur.kind === 'stats' && cur.count > 0 && cur.count === present;
      fp.type = numeric ? 'num' : 'cat';
      const refDistinct = refTerms && refTerms.kind === 'terms' ? refTerms.buckets.length + (refTerms.other > 0 ? DEFAULT_TERMS_SIZE : 0) : 0;
      const nRef = refTerms && refTerms.kind === 'terms' ? refTerms.buckets.reduce((s, b) => s + b.count, 0) + refTerms.other : 0;
      if (!numeric) {
        fp.route = 'counts';
        fp.method = rule.method;
        continue;
      }
      const method: StatsMethod = rule.method === 'auto' ? defaultMethod('num', nRef, refDistinct) : rule.method;
      fp.method = method;
      if (method === 'chisquare' || method === 'z') fp.route = 'counts';
      else if (method === 'psi' || method === 'kl_div' || method === 'jensenshannon') fp.route = refDistinct > 20 ? 'bins' : 'counts';
      else fp.route = 'raw';
      if (fp.route === 'raw') {
        for (const s of sides) out.push({ id: queryId(plan, s, 'values', fp.path), filter: (s === 'cur' ? plan.current : plan.reference)!, groupBy: s === 'cur' ? rule.groupBy : plan.refGroupBy, kind: 'values', field: fp.path, limit: valuesLimit });
        continue;
      }
      if (fp.route === 'counts') continue;
    }
    if (fp.route !== 'bins') continue;
    for (const seg of segmentsOf(answers.get(queryId(plan, 'cur', 'stats', fp.path))).keys()) {
      const edges = binEdgesFor(plan, fp, answers, seg);
      if (!edges) continue;
      for (const s of sides) {
        const base = s === 'cur' ? plan.current : plan.reference!;
        const key = s === 'cur' ? seg : refKeyFor(plan, seg);
        // A segment of a group_by becomes a fixed filter of its own range query (the edges differ per segment).
        const filter: Side = { ...base, segment: { ...(base.segment ?? {}), ...parseSegmentKey(key) } };
        out.push({ id: rangeId(plan, s, fp.path, seg), filter, groupBy: [], kind: 'range', field: fp.path, edges });
      }
    }
  }
  return out;
}

function firstSeg(a: SegmentAnswers | Error | undefined): Payload | undefined {
  const m = segmentsOf(a);
  return m.get('') ?? m.values().next().value;
}
