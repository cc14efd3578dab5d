/**
 * The rule schema: what a rule file (`rules/*.yml`, one rule per file) accepts, its defaults and docs.
 *
 * YAML keys are snake_case; each variant ends in a transform to the hand-written TS types below,
 * which are what the planner and backends consume (durations in ms, fields as document paths,
 * defaults filled in). `rules/schema.json` is generated from this file (gen-schema.ts).
 * The types and their order come from types.ts (`VARIANTS` must have one entry per type);
 * the keys every type shares are in schema-common.ts.
 * Cross-file checks (notifiers, window vs schedule, reference fields, duplicate names) live in load.ts.
 */
import { z } from 'zod';
import { camel } from '../config/schema.ts';
import { RULE_TYPES, type RuleType } from './types.ts';
import {
  DEFAULT_REFERENCE, STAT_RE, common, finishCommon, keyedRecord, share, typeKey,
  type Reference, type RuleCommon,
} from './schema-common.ts';
import { checkModelQuality, modelQualityKeys, type ModelQualityRule } from './quality-schema.ts';

export type { RuleType } from './types.ts';
export { RULE_TYPES } from './types.ts';
export type { Severity } from './result.ts';
export type { ModelQualityRule } from './quality-schema.ts';
export {
  CRON_HELP, RULE_NAME_RE, cronProblem, matchFields, normalizeField, referenceLabel,
  type Reference, type RuleCommon,
} from './schema-common.ts';

// ---------------------------------------------------------------------------------------------
// the loaded rule: what the planner gets

export interface UnseenCategoriesRule extends RuleCommon {
  type: 'unseen_categories';
  reference: Reference;
  /** Drifted when more unseen (non-null) values than this; default 0 unless max_unseen_share is set. */
  maxUnseenCount?: number;
  /** Drifted when unseen_share > this (TFDV: 1 - min_domain_mass). */
  maxUnseenShare?: number;
  /** Unseen values reported, most frequent first. */
  top: number;
}

export interface MissingSpikeRule extends RuleCommon {
  type: 'missing_spike';
  reference: Reference;
  /** Drifted when share > ref_share + max(ref_share * this, 1e-12) (Evidently: 0.1); share > 0 without a reference share. */
  maxRelativeIncrease: number;
  /** Also require share - ref_share >= this (our addition against flapping on tiny reference shares). */
  minAbsoluteIncrease: number;
  /** When set: drifted when share > this, instead of comparing with the reference. */
  maxShare?: number;
}

export interface OovRateRule extends RuleCommon {
  type: 'oov_rate';
  reference: Reference;
  /** Drifted when pooled oov_tokens / tokens > this. */
  maxOovShare: number;
  /** New words reported, most frequent first. */
  top: number;
}

export const DRIFT_METHODS = ['auto', 'psi', 'kl_div', 'jensenshannon', 'hellinger', 'wasserstein', 'ks', 'chisquare', 'z', 'l_infinity'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];

/**
 * Default threshold and drift direction per method (STATS.md §1.2: Evidently's legacy stat tests).
 * `p_le` / `p_lt`: the score is a p-value, drifted when p <= / < threshold; `ge` / `gt`: a distance.
 * l_infinity is TFDV's comparator (TFDV itself has no default; 0.1 matches agent/stats).
 */
export const METHOD_DEFAULTS: Record<Exclude<DriftMethod, 'auto'>, { threshold: number; drifted: 'p_le' | 'p_lt' | 'ge' | 'gt' }> = {
  ks: { threshold: 0.05, drifted: 'p_le' },
  chisquare: { threshold: 0.05, drifted: 'p_lt' },
  z: { threshold: 0.05, drifted: 'p_lt' },
  psi: { threshold: 0.1, drifted: 'ge' },
  kl_div: { threshold: 0.1, drifted: 'ge' },
  jensenshannon: { threshold: 0.1, drifted: 'ge' },
  hellinger: { threshold: 0.1, drifted: 'ge' },
  wasserstein: { threshold: 0.1, drifted: 'ge' },
  l_infinity: { threshold: 0.1, drifted: 'gt' },
};

export interface DistributionShiftRule extends RuleCommon {
  type: 'distribution_shift';
  reference: Reference;
  /** `auto` picks per field as Evidently does (STATS.md §1.3). */
  method: DriftMethod;
  /** Absent = the chosen method's default (METHOD_DEFAULTS). */
  threshold?: number;
  /** STATS.md §1.4 switches; defaults are Evidently's. */
  zeroFill: 'evidently' | 'min_over_10';
  bins: 'evidently_sturges_combined' | 'reference_quantiles';
  jsBase: 'e' | '2';
  jsOutput: 'distance' | 'divergence';
}

/** `mean`, `median`, `std`, `min`, `max` or a percentile `p<N>` (`p95`, `p99.9`). */
export type PredictionStat = string;
export interface Bounds { min?: number; max?: number }

export interface PredictionStatsRule extends RuleCommon {
  type: 'prediction_stats';
  reference: Reference;
  /** Statistics to compute, each with optional bounds (drifted when outside). */
  stats: Record<PredictionStat, Bounds>;
  /** Drifted when |mean - ref_mean| > k * ref_std / sqrt(n_current). */
  referenceMeanK?: number;
}

export interface VolumeRule extends RuleCommon {
  type: 'volume';
  /** Only with min_ratio/max_ratio: a past window (`offset`) or another segment. */
  reference?: Reference;
  minCount?: number;
  maxCount?: number;
  /** Drifted when count / reference_count < min_ratio or > max_ratio. */
  minRatio?: number;
  maxRatio?: number;
}

/** The loaded rule of each type; indexing by RuleType fails to compile while a type has no entry. */
interface RuleByType {
  unseen_categories: UnseenCategoriesRule;
  missing_spike: MissingSpikeRule;
  oov_rate: OovRateRule;
  distribution_shift: DistributionShiftRule;
  prediction_stats: PredictionStatsRule;
  volume: VolumeRule;
  model_quality: ModelQualityRule;
}
export type Rule = RuleByType[RuleType];
export type RuleOf<T extends RuleType> = Extract<Rule, { type: T }>;

/** What the schema produces; the loader adds `name` (default: file name) and `source`. */
export type ParsedRule<R extends Rule = Rule> = R extends Rule ? Omit<R, 'name' | 'source'> & { name?: string } : never;

// ---------------------------------------------------------------------------------------------
// the six types

const top = (n: number) => z.int().min(1).max(1000).default(n);

const UnseenCategoriesKeys = z.strictObject({
  type: typeKey('unseen_categories'),
  ...common(100),
  max_unseen_count: z.int().min(0).optional().describe('Drifted when more unseen values (nulls excluded) than this. Default 0 unless max_unseen_share or min_domain_mass is set.'),
  max_unseen_share: share.optional().describe('Drifted when the share of unseen values exceeds this.'),
  min_domain_mass: share.optional().describe('TFDV style: drifted when the share of unseen values exceeds 1 - min_domain_mass.'),
  top: top(10).describe('Unseen values reported, most frequent first.'),
});
const UnseenCategoriesSchema = camel(UnseenCategoriesKeys).check((ctx) => {
  if (ctx.value.maxUnseenShare !== undefined && ctx.value.minDomainMass !== undefined) {
    ctx.issues.push({ code: 'custom', message: 'expected max_unseen_share or min_domain_mass, received both', input: ctx.value.minDomainMass, path: ['min_domain_mass'] });
  }
}).transform((v): ParsedRule<UnseenCategoriesRule> => {
  const share = v.maxUnseenShare ?? (v.minDomainMass === undefined ? undefined : 1 - v.minDomainMass);
  const out: ParsedRule<UnseenCategoriesRule> = {
    type: 'unseen_categories', ...finishCommon(v, ['features.*']), reference: v.reference ?? DEFAULT_REFERENCE, top: v.top,
  };
  const count = v.maxUnseenCount ?? (share === undefined ? 0 : undefined);
  if (count !== undefined) out.maxUnseenCount = count;
  if (share !== undefined) out.maxUnseenShare = share;
  return out;
});

const MissingSpikeKeys = z.strictObject({
  type: typeKey('missing_spike'),
  ...common(100),
  max_relative_increase: z.number().min(0).default(0.1).describe('Drifted when share > reference_share * (1 + this) (Evidently: 0.1); share > 0 when the reference has none.'),
  min_absolute_increase: share.default(0).describe('Also require share - reference_share >= this, e.g. 0.01, so tiny reference shares do not flap.'),
  max_share: share.optional().describe('Instead of the reference: drifted when share > this.'),
});
const MissingSpikeSchema = camel(MissingSpikeKeys).transform((v): ParsedRule<MissingSpikeRule> => {
  const out: ParsedRule<MissingSpikeRule> = {
    type: 'missing_spike', ...finishCommon(v, ['features.*']), reference: v.reference ?? DEFAULT_REFERENCE,
    maxRelativeIncrease: v.maxRelativeIncrease, minAbsoluteIncrease: v.minAbsoluteIncrease,
  };
  if (v.maxShare !== undefined) out.maxShare = v.maxShare;
  return out;
});

const OovRateKeys = z.strictObject({
  type: typeKey('oov_rate'),
  ...common(100),
  max_oov_share: share.default(0.05).describe('Drifted when OOV tokens / all tokens exceeds this.'),
  top: top(20).describe('New words reported, most frequent first.'),
});
const OovRateSchema = camel(OovRateKeys).transform((v): ParsedRule<OovRateRule> => ({
  type: 'oov_rate', ...finishCommon(v, ['features.*']), reference: v.reference ?? DEFAULT_REFERENCE,
  maxOovShare: v.maxOovShare, top: v.top,
}));

const DistributionShiftKeys = z.strictObject({
  type: typeKey('distribution_shift'),
  ...common(100),
  method: z.enum(DRIFT_METHODS).default('auto').describe('auto: ks/chisquare/z up to 1000 reference rows, wasserstein/jensenshannon above (as Evidently).'),
  threshold: z.number().min(0).optional().describe('Default per method: p-value 0.05 (ks, chisquare, z), distance 0.1 (others, l_infinity drifts on > 0.1).'),
  zero_fill: z.enum(['evidently', 'min_over_10']).default('evidently').describe('Empty-bin share for psi and kl_div: Evidently 1e-4 (or min/1e6), or min/10.'),
  bins: z.enum(['evidently_sturges_combined', 'reference_quantiles']).default('evidently_sturges_combined').describe('Numeric bins: Sturges over reference + current (Evidently), or reference quantiles (stable over time).'),
  js_base: z.enum(['e', '2']).default('e').describe('Logarithm base of jensenshannon.'),
  js_output: z.enum(['distance', 'divergence']).default('distance').describe('jensenshannon as the distance (Evidently, square root) or the divergence.'),
});
const DistributionShiftSchema = camel(DistributionShiftKeys).check((ctx) => {
  const t = ctx.value.threshold;
  const m = ctx.value.method;
  if (t !== undefined && (m === 'ks' || m === 'chisquare' || m === 'z') && t > 1) {
    ctx.issues.push({ code: 'custom', message: `expected a p-value between 0 and 1 for method ${m}, received ${t}`, input: t, path: ['threshold'] });
  }
}).transform((v): ParsedRule<DistributionShiftRule> => {
  const out: ParsedRule<DistributionShiftRule> = {
    type: 'distribution_shift', ...finishCommon(v, ['features.*']), reference: v.reference ?? DEFAULT_REFERENCE,
    method: v.method, zeroFill: v.zeroFill, bins: v.bins, jsBase: v.jsBase, jsOutput: v.jsOutput,
  };
  if (v.threshold !== undefined) out.threshold = v.threshold;
  return out;
});

const BoundsSchema = z.strictObject({
  min: z.number().optional().describe('Drifted when the statistic is below this.'),
  max: z.number().optional().describe('Drifted when the statistic is above this.'),
}).check((ctx) => {
  const { min, max } = ctx.value;
  if (min !== undefined && max !== undefined && min > max) {
    ctx.issues.push({ code: 'custom', message: `expected min <= max, received min ${min} and max ${max}`, input: ctx.value, path: ['min'] });
  }
});

const PredictionStatsKeys = z.strictObject({
  type: typeKey('prediction_stats'),
  ...common(100),
  stats: keyedRecord(STAT_RE, (s) => `expected mean, median, std, min, max or a percentile such as p95, received "${s}"`, 'statistic', BoundsSchema.nullable()).optional().describe('Statistics with optional bounds: { mean: { min: 0.01, max: 0.2 }, p99: { max: 0.97 }, std: {} }.'),
  reference_mean_k: z.number().positive().optional().describe('Drifted when the mean is more than k standard errors (reference std / sqrt(n)) from the reference mean; 3 is usual.'),
});
const PredictionStatsSchema = camel(PredictionStatsKeys).check((ctx) => {
  const v = ctx.value;
  const bounded = Object.values(v.stats ?? {}).some((b) => b && (b.min !== undefined || b.max !== undefined));
  if (!bounded && v.referenceMeanK === undefined) {
    ctx.issues.push({ code: 'custom', message: 'expected bounds on at least one statistic (stats: { mean: { max: 0.2 } }) or reference_mean_k, received neither', input: v, path: [v.stats ? 'stats' : 'type'] });
  }
}).transform((v): ParsedRule<PredictionStatsRule> => {
  const stats: Record<string, Bounds> = {};
  for (const [k, b] of Object.entries(v.stats ?? {})) {
    const out: Bounds = {};
    if (b?.min !== undefined) out.min = b.min;
    if (b?.max !== undefined) out.max = b.max;
    stats[k] = out;
  }
  if (v.referenceMeanK !== undefined && !stats.mean) stats.mean = {};
  const out: ParsedRule<PredictionStatsRule> = {
    type: 'prediction_stats', ...finishCommon(v, ['prediction.*']), reference: v.reference ?? DEFAULT_REFERENCE, stats,
  };
  if (v.referenceMeanK !== undefined) out.referenceMeanK = v.referenceMeanK;
  return out;
});

const VolumeKeys = z.strictObject({
  type: typeKey('volume'),
  ...common(0),
  min_count: z.int().min(0).optional().describe('Drifted when fewer documents than this in the window.'),
  max_count: z.int().min(0).optional().describe('Drifted when more documents than this in the window.'),
  min_ratio: z.number().min(0).optional().describe('Drifted when count / reference count is below this (needs reference: { offset: 7d } or a segment).'),
  max_ratio: z.number().min(0).optional().describe('Drifted when count / reference count is above this.'),
});
const VolumeSchema = camel(VolumeKeys).check((ctx) => {
  const v = ctx.value;
  if (v.fields !== undefined) {
    ctx.issues.push({ code: 'custom', message: 'a volume rule counts documents and has no fields; remove fields', input: v.fields, path: ['fields'] });
  }
  if (v.minCount === undefined && v.maxCount === undefined && v.minRatio === undefined && v.maxRatio === undefined) {
    ctx.issues.push({ code: 'custom', message: 'expected at least one of min_count, max_count, min_ratio, max_ratio, received none', input: v, path: ['type'] });
  }
  for (const [lo, hi, a, b] of [[v.minCount, v.maxCount, 'min_count', 'max_count'], [v.minRatio, v.maxRatio, 'min_ratio', 'max_ratio']] as const) {
    if (lo !== undefined && hi !== undefined && lo > hi) {
      ctx.issues.push({ code: 'custom', message: `expected ${a} <= ${b}, received ${lo} > ${hi}`, input: lo, path: [a] });
    }
  }
  const ratios = v.minRatio !== undefined || v.maxRatio !== undefined;
  if (ratios && (v.reference === undefined || v.reference.kind === 'profile')) {
    ctx.issues.push({
      code: 'custom',
      message: 'min_ratio/max_ratio compare with a past window or another segment: set reference: { offset: 7d } or reference: { segment: { model.version: \'1.4.2\' } }',
      input: v.reference, path: [v.reference ? 'reference' : (v.minRatio !== undefined ? 'min_ratio' : 'max_ratio')],
    });
  } else if (!ratios && v.reference !== undefined) {
    ctx.issues.push({ code: 'custom', message: 'reference is used only with min_ratio/max_ratio; remove it or add a ratio', input: v.reference, path: ['reference'] });
  }
}).transform((v): ParsedRule<VolumeRule> => {
  const out: ParsedRule<VolumeRule> = { type: 'volume', ...finishCommon(v, []) };
  if (v.minCount !== undefined) out.minCount = v.minCount;
  if (v.maxCount !== undefined) out.maxCount = v.maxCount;
  if (v.minRatio !== undefined) out.minRatio = v.minRatio;
  if (v.maxRatio !== undefined) out.maxRatio = v.maxRatio;
  return out;
});

// model_quality: keys and checks live in quality-schema.ts.
const ModelQualityKeys = z.strictObject({ ...modelQualityKeys(), ...common(100) });
const ModelQualitySchema = camel(ModelQualityKeys).check((ctx) => {
  checkModelQuality(ctx.value, (path, message) => ctx.issues.push({ code: 'custom', message, input: ctx.value, path }));
}).transform((v): ParsedRule<ModelQualityRule> => {
  const out: ParsedRule<ModelQualityRule> = {
    type: 'model_quality', ...finishCommon(v, []), task: v.task, positive: v.positive, metrics: v.metrics, labelDelay: v.labelDelay,
  };
  // Windows on prediction time wait for their labels as well as for late documents.
  out.delay = v.delay + v.labelDelay;
  return out;
});

/** Each type's keys (for "did you mean" hints) and schema, one entry per type of types.ts. */
const VARIANTS = {
  unseen_categories: { keys: UnseenCategoriesKeys, schema: UnseenCategoriesSchema },
  missing_spike: { keys: MissingSpikeKeys, schema: MissingSpikeSchema },
  oov_rate: { keys: OovRateKeys, schema: OovRateSchema },
  distribution_shift: { keys: DistributionShiftKeys, schema: DistributionShiftSchema },
  prediction_stats: { keys: PredictionStatsKeys, schema: PredictionStatsSchema },
  volume: { keys: VolumeKeys, schema: VolumeSchema },
  model_quality: { keys: ModelQualityKeys, schema: ModelQualitySchema },
} satisfies { [T in RuleType]: { keys: z.ZodObject; schema: z.ZodType<ParsedRule<RuleOf<T>>> } };
type Variant = (typeof VARIANTS)[RuleType]['schema'];

/** One rule file. Validate the `type` first (load.ts does) for a clear message on an unknown type. */
export const RuleSchema = z.discriminatedUnion('type', RULE_TYPES.map((t) => VARIANTS[t].schema) as [Variant, ...Variant[]]).meta({
  title: 'driftbeat rule',
  description: 'One drift rule per file (DESIGN.md §5). Validate with `driftbeat rules validate`.',
});

/** The snake_case keys each type accepts (for "did you mean" hints). */
export const KEYS_BY_TYPE = Object.fromEntries(RULE_TYPES.map((t) => [t, Object.keys(VARIANTS[t].keys.shape)])) as unknown as Record<RuleType, readonly string[]>;
