/**
 * The contract between the planner (plan.ts, quality.ts), the backends (agent/backends: the
 * `Backend` interface they implement) and evaluation (evaluate.ts): queries, their answers
 * (identical from both backends), and plans. Types and small pure helpers only; the rule engine
 * depends on this interface, never on a backend, and the composition happens at the edge
 * (agent/outputs.ts).
 */
import type { FieldProfile, ReferenceProfile } from '../reference/profile.ts';
import type { DriftMethod as StatsMethod, RegressionSums } from '../stats/index.ts';
import type { TimeWindow } from './result.ts';
import type { Rule } from './schema.ts';
import type { FieldType } from './types.ts';

export type { FieldType } from './types.ts';

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
// model_quality's query and answer

/** Aggregates over the outcomes of a side: confusion counts, score histogram, log-loss sum, regression sums. */
export interface QualitySpec { kind: 'quality'; task: 'classification' | 'regression'; bins: number }

export interface QualityAnswer {
  kind: 'quality';
  labelled: number;
  /** actual class -> predicted class -> count */
  confusion: Record<string, Record<string, number>>;
  /** Rows with a score, per score bin, whose actual class is (pos) / is not (neg) the positive class. */
  pos: number[];
  neg: number[];
  logLossSum: number;
  scored: number;
  sums: RegressionSums;
}

export function emptyQualityAnswer(bins: number): QualityAnswer {
  return {
    kind: 'quality', labelled: 0, confusion: {}, pos: new Array(bins).fill(0), neg: new Array(bins).fill(0), logLossSum: 0, scored: 0,
    sums: { n: 0, error: 0, absError: 0, squaredError: 0, absPctError: 0, actual: 0, actualSquared: 0 },
  };
}

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
