/**
 * Planning (pure): a rule + a window + its reference profile -> a backend-neutral aggregation plan.
 *
 * A plan is a list of queries, each over one "side" (the current window, or a live reference: a
 * past window or another segment) with the rule's filters (model, version, time range, segment)
 * and group_by. Both backends answer every query kind with the same answer shape (below), so
 * evaluate.ts never knows which backend ran. Most rules need one phase; distribution_shift on a
 * numeric field binned with Sturges bins over reference + current needs the current min/max first
 * (phase 1: stats) and the counts per bin second (phase 2: range), planned by `planPhase2`.
 *
 * Field paths are document paths (`features.amount`, `prediction.score`); a text feature is
 * `features.customer_note` in a rule and `text.customer_note` in the profile and the documents.
 */
import type { FieldProfile, ReferenceProfile } from '../reference/profile.ts';
import { defaultMethod, sturgesEdges, referenceQuantileEdges, type DriftMethod as StatsMethod } from '../stats/index.ts';
import type { TimeWindow } from './result.ts';
import { matchFields, referenceLabel, type DistributionShiftRule, type Rule } from './schema.ts';
import { emptyQualityAnswer, planQuality, type QualityAnswer, type QualitySpec } from './quality.ts';

// ---------------------------------------------------------------------------------------------
// queries

/** The documents a query looks at: closed-open [from, to) in UTC. */
export interface Side {
  model: string;
  version?: string;
  from: string;
  to: string;
  /** Fixed segment values (reference: { segment: ... }), e.g. { 'model.version': '1.4.2' }. */
  segment?: Record<string, string>;
}

export interface QueryBase {
  /** Unique in a tick: `<rule index>/<side>/<kind>/<field>`. */
  id: string;
  filter: Side;
  /** Segment fields (`model.version`, `host.name`, `labels.<name>`): one answer per segment. */
  groupBy: string[];
}

export type QuerySpec =
  /** Documents per segment. */
  | { kind: 'count' }
  /** Documents per segment, and how many name each of `names` in `missing`. */
  | { kind: 'missing'; names: string[] }
  /** Non-missing values of a field with their counts, most frequent first, at most `size`. */
  | { kind: 'terms'; field: string; size: number }
  /** Values of a field that are not in the reference set (nulls are never unseen). */
  | { kind: 'unseen'; field: string; size: number; reference: { model: string; version: string; field: string; values: string[] } }
  /** Sums of token_count / oov_count of a text field (`name` without `text.`). */
  | { kind: 'text'; field: string }
  /** Most frequent OOV tokens of a text field (documents containing each). */
  | { kind: 'oov_terms'; field: string; size: number }
  /**
   * count, min, max, sum, sum of squares of a numeric field. `numericOnly`: the field's type is not
   * known (a live reference without a profile), so it may be a keyword: its values that are not
   * numbers are left out (count 0 for a categorical field) instead of the engine refusing the search.
   */
  | { kind: 'stats'; field: string; numericOnly?: boolean }
  | { kind: 'percentiles'; field: string; percents: number[] }
  /** Counts per bin [e_i, e_{i+1}); the last bin has no upper bound (edges end at the max). */
  | { kind: 'range'; field: string; edges: number[] }
  /** Raw values (KS, Wasserstein), at most `limit`: a deterministic subset above it. */
  | { kind: 'values'; field: string; limit: number }
  /** model_quality: aggregates over the joined outcomes (agent/rules/quality.ts). */
  | QualitySpec;

export type Query = QueryBase & QuerySpec;
export type QueryKind = QuerySpec['kind'];

// ---------------------------------------------------------------------------------------------
// answers (identical from both backends)

export interface CountAnswer { kind: 'count'; count: number }
export interface MissingAnswer { kind: 'missing'; total: number; counts: Record<string, number> }
export interface Bucket { key: string; count: number }
export interface TermsAnswer { kind: 'terms'; buckets: Bucket[]; /** Values beyond `size`. */ other: number }
export interface UnseenAnswer { kind: 'unseen'; /** Documents with a non-missing value. */ present: number; /** ... of which not in the reference set. */ unseen: number; buckets: Bucket[]; other: number }
export interface TextAnswer { kind: 'text'; docs: number; tokens: number; oov: number }
export interface OovTermsAnswer { kind: 'oov_terms'; buckets: Bucket[]; other: number }
export interface StatsAnswer { kind: 'stats'; count: number; min: number | null; max: number | null; sum: number; sumOfSquares: number }
export interface PercentilesAnswer { kind: 'percentiles'; /** Keyed by the percent as planned, e.g. "50", "99.9". */ values: Record<string, number | null> }
export interface RangeAnswer { kind: 'range'; counts: number[] }
export interface ValuesAnswer { kind: 'values'; /** Ascending. */ values: number[]; /** Values in the window (> values.length when limited). */ total: number }

export type Payload = CountAnswer | MissingAnswer | TermsAnswer | UnseenAnswer | TextAnswer | OovTermsAnswer | StatsAnswer | PercentilesAnswer | RangeAnswer | ValuesAnswer | QualityAnswer;

/** Per segment key (`segmentKey`), the answer of that segment; segments without documents may be absent. */
export type SegmentAnswers = Map<string, Payload>;
/** Per query id: the answer, or the error of that query (the rule then reports status error). */
export type Answers = Map<string, SegmentAnswers | Error>;

/** A backend runs queries; both backends give the same answers for the same data. */
export interface Backend {
  readonly name: 'elasticsearch' | 'embedded';
  /** Runs every query (Elasticsearch: one _msearch); a failing query is an Error in the map, not a rejection. */
  execute(queries: readonly Query[]): Promise<Answers>;
  /** The compiled form of the queries: Elasticsearch search bodies or SQL. */
  explain(queries: readonly Query[]): string;
  close(): Promise<void>;
}

/** The answer of a query over no documents (what Elasticsearch returns for an empty segment). */
export function emptyPayload(q: Query): Payload {
  switch (q.kind) {
    case 'count': return { kind: 'count', count: 0 };
    case 'missing': return { kind: 'missing', total: 0, counts: Object.fromEntries(q.names.map((n) => [n, 0])) };
    case 'terms': return { kind: 'terms', buckets: [], other: 0 };
    case 'oov_terms': return { kind: 'oov_terms', buckets: [], other: 0 };
    case 'unseen': return { kind: 'unseen', present: 0, unseen: 0, buckets: [], other: 0 };
    case 'text': return { kind: 'text', docs: 0, tokens: 0, oov: 0 };
    case 'stats': return { kind: 'stats', count: 0, min: null, max: null, sum: 0, sumOfSquares: 0 };
    case 'percentiles': return { kind: 'percentiles', values: Object.fromEntries(q.percents.map((p) => [String(p), null])) };
    case 'range': return { kind: 'range', counts: q.edges.slice(1).map(() => 0) };
    case 'values': return { kind: 'values', values: [], total: 0 };
    case 'quality': return emptyQualityAnswer(q.bins);
  }
}

/** `model.version=1.4.2,labels.region=eu`; '' without group_by. */
export function segmentKey(groupBy: readonly string[], values: readonly (string | number | null)[]): string {
  return groupBy.map((g, i) => `${g}=${String(values[i])}`).join(',');
}

/** The inverse of segmentKey. */
export function parseSegmentKey(key: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (key === '') return out;
  for (const part of key.split(',')) {
    const i = part.indexOf('=');
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** Most frequent first, then by key (as Elasticsearch orders terms buckets). */
export function sortBuckets(b: Bucket[]): Bucket[] {
  return b.sort((x, y) => y.count - x.count || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/** Document path -> long-table kind and name: `features.a.b` -> feature `a.b`. */
export function splitField(field: string): { kind: 'feature' | 'prediction'; name: string } {
  if (field.startsWith('prediction.')) return { kind: 'prediction', name: field.slice('prediction.'.length) };
  if (field.startsWith('features.')) return { kind: 'feature', name: field.slice('features.'.length) };
  return { kind: 'feature', name: field };
}

/** The name a field has in a document's `missing` list. */
export function missingName(field: string): string {
  if (field.startsWith('features.')) return field.slice('features.'.length);
  return field;
}

// ---------------------------------------------------------------------------------------------
// plans

export type FieldType = 'num' | 'cat' | 'bool' | 'text';
/** How distribution_shift gets its numbers: value counts, bins (two phases) or raw values. */
export type Route = 'counts' | 'bins' | 'raw';

export interface FieldPlan {
  /** Document path as in RuleResult.field: `features.amount`, `prediction.score`, `text.customer_note`. */
  field: string;
  /** The path queries use (`features.customer_note` for text: the `text.<name>` is derived). */
  path: string;
  type?: FieldType;
  profile?: FieldProfile;
  /** distribution_shift: the method (auto resolved when the profile decides it) and the route. */
  method?: StatsMethod | 'auto';
  route?: Route;
  /** Set when the field cannot be evaluated: its result is status error with this message. */
  problem?: string;
}

export interface RulePlan {
  rule: Rule;
  index: number;
  window: TimeWindow;
  current: Side;
  /** A live reference (offset or segment); absent when the reference is a profile or none. */
  reference?: Side;
  /** group_by of the reference side: a segment reference's own fields are fixed, not grouped. */
  refGroupBy: string[];
  profile?: ReferenceProfile;
  /** RuleResult.reference. */
  referenceLabel: string;
  fields: FieldPlan[];
  phase1: Query[];
}

export interface PlanOptions {
  /** Raw values pulled per side for KS / Wasserstein before a deterministic subset is taken. */
  valuesLimit?: number;
  /** Category buckets asked for when all of them are needed. */
  termsSize?: number;
}

/**
 * Raw values per side: KS is exact up to 10,000 values a side (scipy's method='auto'), and
 * Elasticsearch returns at most 10,000 hits by default (index.max_result_window).
 */
export const DEFAULT_VALUES_LIMIT = 10_000;
export const DEFAULT_TERMS_SIZE = 10_000;

/** Id of a query of a rule: side `cur` or `ref`, kind, field. */
export function queryId(plan: Pick<RulePlan, 'index'>, side: 'cur' | 'ref', kind: QueryKind, field = ''): string {
  return `${plan.index}/${side}/${kind}/${field}`;
}

function profileField(profile: ReferenceProfile | undefined, path: string): FieldProfile | undefined {
  if (!profile) return undefined;
  const name = path.startsWith('features.') ? path.slice('features.'.length) : undefined;
  return profile.fields.find((f) => f.field === path || (name !== undefined && f.field === `text.${name}`));
}

/** Document paths of a profile, in rule terms (`text.x` -> `features.x`). */
export function profilePaths(profile: ReferenceProfile): string[] {
  return profile.fields.map((f) => (f.field.startsWith('text.') ? `features.${f.field.slice(5)}` : f.field));
}

const SUITS: Record<Rule['type'], (t: FieldType | undefined) => boolean> = {
  unseen_categories: (t) => t === 'cat' || t === 'bool',
  missing_spike: () => true,
  oov_rate: (t) => t === 'text',
  distribution_shift: (t) => t === 'num' || t === 'cat' || t === 'bool',
  prediction_stats: (t) => t === 'num',
  volume: () => true,
  model_quality: () => true,
};
const KIND_NAME: Record<Rule['type'], string> = {
  unseen_categories: 'categorical (or boolean)',
  missing_spike: 'any',
  oov_rate: 'text',
  distribution_shift: 'numeric, categorical or boolean',
  prediction_stats: 'numeric',
  volume: 'any',
  model_quality: 'any',
};

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
      } else if (type && !SUITS[rule.type](type)) {
        if (isGlob(f) || rule.fieldsDefaulted) continue;
        plan.problem = `field "${path}" is ${type}; a ${rule.type} rule needs a ${KIND_NAME[rule.type]} field`;
      }
      // Without a profile the rule type says what the field must be (distribution_shift decides from the data).
      const implied: FieldType | undefined = rule.type === 'oov_rate' ? 'text' : rule.type === 'prediction_stats' ? 'num' : rule.type === 'unseen_categories' ? 'cat' : undefined;
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
  if (fp.route === 'raw' && !(p.sample && p.sample.length)) {
    fp.problem = `method ${method} needs raw reference values and the profile of "${fp.path}" has no sample; rebuild the profile`;
  }
}

/**
 * Plans one rule over one window. `profile` is the reference profile (needed when the reference
 * is a profile, and used for field types and defaults otherwise); `index` makes query ids unique.
 */
export function planRule(rule: Rule, window: TimeWindow, profile: ReferenceProfile | undefined, index: number, options: PlanOptions = {}): RulePlan {
  if (rule.type === 'model_quality') return planQuality(rule, window, profile, index);
  const valuesLimit = options.valuesLimit ?? DEFAULT_VALUES_LIMIT;
  const termsSize = options.termsSize ?? DEFAULT_TERMS_SIZE;
  const current: Side = { model: rule.model, from: window.from, to: window.to };
  if (rule.version !== undefined) current.version = rule.version;
  const ref = rule.reference;
  let reference: Side | undefined;
  if (ref?.kind === 'offset') {
    reference = { ...current, from: new Date(Date.parse(window.from) - ref.offset).toISOString(), to: new Date(Date.parse(window.to) - ref.offset).toISOString() };
  } else if (ref?.kind === 'segment') {
    reference = { model: rule.model, from: window.from, to: window.to, segment: { ...ref.segment } };
  }
  const version = ref?.kind === 'profile' ? (ref.version ?? rule.version ?? profile?.version) : (rule.version ?? profile?.version);
  const plan: RulePlan = {
    rule, index, window, current, profile: ref?.kind === 'profile' || !ref ? profile : profile,
    referenceLabel: ref ? referenceLabel(ref, rule.model, version) : '',
    fields: resolveFields(rule, profile),
    phase1: [],
    refGroupBy: ref?.kind === 'segment' ? rule.groupBy.filter((g) => !(g in ref.segment)) : rule.groupBy,
  };
  if (reference) plan.reference = reference;
  if (!profile) delete plan.profile;
  const groupBy = rule.groupBy;
  const q = (side: 'cur' | 'ref', spec: QuerySpec, field = ''): void => {
    const filter = side === 'cur' ? current : reference!;
    plan.phase1.push({ id: queryId(plan, side, spec.kind, field), filter, groupBy: side === 'cur' ? groupBy : plan.refGroupBy, ...spec } as Query);
  };
  const sides: ('cur' | 'ref')[] = reference ? ['cur', 'ref'] : ['cur'];
  for (const s of sides) q(s, { kind: 'count' });
  const ok = plan.fields.filter((f) => !f.problem);
  switch (rule.type) {
    case 'volume':
      break;
    case 'missing_spike': {
      const names = ok.map((f) => missingName(f.path));
      if (names.length) for (const s of sides) q(s, { kind: 'missing', names });
      break;
    }
    case 'unseen_categories':
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
      break;
    case 'oov_rate':
      for (const f of ok) {
        const name = f.path.startsWith('features.') ? f.path.slice(9) : f.path;
        for (const s of sides) q(s, { kind: 'text', field: name }, f.path);
        q('cur', { kind: 'oov_terms', field: name, size: rule.top }, f.path);
      }
      break;
    case 'prediction_stats': {
      const percents = Object.keys(rule.stats).map(percentOf).filter((p): p is number => p !== undefined);
      for (const f of ok) {
        for (const s of sides) {
          q(s, { kind: 'stats', field: f.path }, f.path);
          if (percents.length) q(s, { kind: 'percentiles', field: f.path, percents }, f.path);
        }
      }
      break;
    }
    case 'distribution_shift':
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
      break;
  }
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

/** Id of the phase-2 range query of a field, side and (current) segment. */
export function rangeId(plan: Pick<RulePlan, 'index'>, side: 'cur' | 'ref', field: string, seg: string): string {
  return `${queryId(plan, side, 'range', field)}#${seg}`;
}

/** The reference side's segment key for a current segment (a segment reference's fields dropped). */
export function refKeyFor(plan: Pick<RulePlan, 'rule' | 'refGroupBy'>, seg: string): string {
  if (plan.refGroupBy.length === plan.rule.groupBy.length) return seg;
  const values = parseSegmentKey(seg);
  return segmentKey(plan.refGroupBy, plan.refGroupBy.map((g) => values[g] ?? null));
}

function firstSeg(a: SegmentAnswers | Error | undefined): Payload | undefined {
  const m = segmentsOf(a);
  return m.get('') ?? m.values().next().value;
}
