/**
 * The rule schema: what a rule file (`rules/*.yml`, one rule per file) accepts, its defaults and docs.
 *
 * YAML keys are snake_case; each variant ends in a transform to the hand-written TS types below,
 * which are what the planner and backends consume (durations in ms, fields as document paths,
 * defaults filled in). `rules/schema.json` is generated from this file (gen-schema.ts).
 * Cross-file checks (notifiers, window vs schedule, reference fields, duplicate names) live in load.ts.
 */
import { z } from 'zod';
import { validateDetailed } from 'node-cron';
import type { SourcePosition } from '../errors.ts';
import { camel, duration } from '../config/schema.ts';
import { wildcard } from '../lib/glob.ts';
import type { RuleType, Severity } from './result.ts';
import { checkModelQuality, modelQualityKeys, type ModelQualityRule } from './quality-schema.ts';

export type { RuleType, Severity } from './result.ts';
export type { ModelQualityRule } from './quality-schema.ts';

export const RULE_TYPES = ['unseen_categories', 'missing_spike', 'oov_rate', 'distribution_shift', 'prediction_stats', 'volume', 'model_quality'] as const satisfies readonly RuleType[];

// ---------------------------------------------------------------------------------------------
// the loaded rule: what the planner gets

/** Where a rule compares against (DESIGN.md §5). */
export type Reference =
  /** The training profile of `version` (default: the rule's version, else each segment's own version). */
  | { kind: 'profile'; version?: string }
  /** The same-length window `offset` ms earlier, same model and segment. */
  | { kind: 'offset'; offset: number }
  /** The same window of another segment, e.g. `{ 'model.version': '1.4.2' }` (a champion version). */
  | { kind: 'segment'; segment: Record<string, string> };

export interface RuleCommon {
  name: string;
  description?: string;
  enabled: boolean;
  model: string;
  /** Only documents of this model version are checked; absent = all versions. */
  version?: string;
  /**
   * Document paths or globs (`*` any characters, `?` one): `features.amount`, `features.*`, `prediction.score`.
   * A bare name in the file means a feature (`amount` -> `features.amount`). Empty for volume.
   */
  fields: string[];
  /** True when `fields` is the type's default: keep only fields of the suitable kind, silently. */
  fieldsDefaulted: boolean;
  /** Window length in ms. */
  window: number;
  /** Cron expression, 5 or 6 fields, evaluated in UTC (see window.ts). */
  schedule: string;
  /** Allowance for late data in ms: the evaluation of a window waits this long after the window's end (window.ts). */
  delay: number;
  /** Windows with fewer documents (per segment) give status `no_data`, not a verdict. */
  minSamples: number;
  /** Segment fields: `model.version`, `host.name`, `labels.<name>`. */
  groupBy: string[];
  severity: Severity;
  /** Names of notifiers of the config. */
  notify: string[];
  /** Re-send every `realert` ms while firing; absent = only on firing and on recovery. */
  realert?: number;
  /** Consecutive breached windows before the alert fires. */
  for: number;
  /** The rule's file (line 1, col 1). */
  source: SourcePosition;
}

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

export type Rule = UnseenCategoriesRule | MissingSpikeRule | OovRateRule | DistributionShiftRule | PredictionStatsRule | VolumeRule | ModelQualityRule;
export type RuleOf<T extends RuleType> = Extract<Rule, { type: T }>;

/** What the schema produces; the loader adds `name` (default: file name) and `source`. */
export type ParsedRule<R extends Rule = Rule> = R extends Rule ? Omit<R, 'name' | 'source'> & { name?: string } : never;

// ---------------------------------------------------------------------------------------------
// helpers

const nonEmpty = z.string().min(1);

export const RULE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SEGMENT_FIELD_RE = /^(model\.version|host\.name|labels\.[A-Za-z0-9_][A-Za-z0-9_.-]*)$/;
const STAT_RE = /^(mean|median|std|min|max|p(100|\d{1,2}(\.\d+)?))$/;

/** YAML reads `1.5` as a number: ask for quotes instead of silently turning 1.50 into "1.5". */
function versionString() {
  return z.union([z.string().min(1), z.number()]).transform((v, ctx) => {
    if (typeof v === 'number') {
      ctx.addIssue({ code: 'custom', message: `expected a string, received number ${v} (quote versions in YAML: '${v}')`, input: v });
      return z.NEVER;
    }
    return v;
  }).meta({ type: 'string', description: "model version, quoted: '1.4.2'" });
}

function pattern(re: RegExp, message: (s: string) => string, description: string) {
  return z.string().refine((s) => re.test(s), { error: (iss) => message(String(iss.input)) })
    .meta({ pattern: re.source, description });
}

/** A record whose keys must match `re`; a bad key is reported at that key (zod's own says only "Invalid key in record"). */
function keyedRecord<V extends z.ZodType>(re: RegExp, message: (k: string) => string, description: string, value: V) {
  return z.record(z.string().meta({ pattern: re.source, description }), value).superRefine((rec, ctx) => {
    for (const k of Object.keys(rec)) {
      if (!re.test(k)) ctx.addIssue({ code: 'custom', message: message(k), input: k, path: [k] });
    }
  // Keys are checked even when a value failed, so both problems are reported in one pass.
  }, { when: (payload) => payload.value !== null && typeof payload.value === 'object' });
}

/** Cron via node-cron's own parser, so that whatever node-cron accepts, window.ts understands. */
export const CRON_HELP = '5 or 6 fields: [second] minute hour day-of-month month day-of-week, in UTC, e.g. "*/5 * * * *"';
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (!expr.trim().startsWith('@') && (fields.length < 5 || fields.length > 6)) {
    return `invalid cron expression "${expr}": expected ${CRON_HELP}, received ${fields.length} field(s)`;
  }
  const r = validateDetailed(expr);
  if (r.valid) return undefined;
  const e = r.errors[0];
  // node-cron's own words are good except its generic "is a invalid expression for <field>".
  const what = !e ? 'not a cron expression' : /invalid expression/.test(e.message) ? `${e.field} "${e.value ?? ''}" is out of range or malformed` : e.message;
  return `invalid cron expression "${expr}": ${what} (${CRON_HELP})`;
}
const cron = z.string().check((ctx) => {
  const p = cronProblem(ctx.value);
  if (p) ctx.issues.push({ code: 'custom', message: p, input: ctx.value });
}).meta({ description: `cron schedule: ${CRON_HELP}`, examples: ['*/5 * * * *', '5 * * * *', '0 */15 * * * *'] });

/** Bare names are features; `text.<name>` (the tokenized form) is the feature too. */
export function normalizeField(f: string): string {
  if (f.startsWith('features.') || f.startsWith('prediction.')) return f;
  if (f.startsWith('text.')) return `features.${f.slice(5)}`;
  return `features.${f}`;
}

/** The fields of `available` matched by any of `globs` (`*` any characters, `?` one), in the order of `available`. */
export function matchFields(globs: readonly string[], available: readonly string[]): string[] {
  const res = globs.map((g) => wildcard(g));
  return available.filter((f) => res.some((re) => re.test(f)));
}

/** `profile:fraud@1.4.2`, `offset:7d`, `segment:model.version=1.3.0` (RuleResult.reference). */
export function referenceLabel(ref: Reference, model: string, version?: string): string {
  switch (ref.kind) {
    case 'profile': {
      const v = ref.version ?? version;
      return `profile:${model}${v ? `@${v}` : ''}`;
    }
    case 'offset':
      return `offset:${formatMs(ref.offset)}`;
    case 'segment':
      return `segment:${Object.entries(ref.segment).map(([k, v]) => `${k}=${v}`).join(',')}`;
  }
}

function formatMs(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

// ---------------------------------------------------------------------------------------------
// reference

const ReferenceSchema = camel(
  z.strictObject({
    profile: z.union([
      z.literal(true),
      z.strictObject({ version: versionString().optional().describe('Profile of this version instead of the rule\'s.') }),
    ]).optional().describe('The training profile (the default): true, or { version: \'1.4.2\' }.'),
    offset: duration('7d').optional().describe('A past window of the same length this far back, e.g. 7d (same weekday and hour).'),
    segment: keyedRecord(SEGMENT_FIELD_RE, (s) => `expected model.version, host.name or labels.<name>, received "${s}"`, 'segment field', versionString()).optional().describe("Another segment in the same window, e.g. { model.version: '1.4.2' } (a champion version)."),
  }),
).check((ctx) => {
  const r = ctx.value;
  const given = (['profile', 'offset', 'segment'] as const).filter((k) => r[k] !== undefined);
  if (given.length !== 1) {
    ctx.issues.push({ code: 'custom', message: `expected exactly one of profile, offset or segment, received ${given.length === 0 ? 'none' : given.join(' and ')}`, input: r, path: [] });
  } else if (r.segment !== undefined && Object.keys(r.segment).length === 0) {
    ctx.issues.push({ code: 'custom', message: "expected at least one segment field, e.g. { model.version: '1.4.2' }", input: r.segment, path: ['segment'] });
  } else if (r.offset === 0) {
    ctx.issues.push({ code: 'custom', message: 'expected an offset > 0, e.g. 7d', input: r.offset, path: ['offset'] });
  }
}).transform((r): Reference => {
  if (r.offset !== undefined) return { kind: 'offset', offset: r.offset };
  if (r.segment !== undefined) return { kind: 'segment', segment: r.segment };
  const v = r.profile === true || r.profile === undefined ? undefined : r.profile.version;
  return v === undefined ? { kind: 'profile' } : { kind: 'profile', version: v };
}).describe('What the current window is compared with; exactly one of profile, offset, segment. Default: { profile: true }.');

const DEFAULT_REFERENCE: Reference = { kind: 'profile' };

// ---------------------------------------------------------------------------------------------
// common keys

const share = z.number().min(0).max(1);

function common(minSamplesDefault: number) {
  return {
    name: pattern(RULE_NAME_RE, (s) => `expected letters, digits, '_', '-' or '.', starting with a letter or digit, received "${s}"`, 'rule name')
      .optional().describe('Unique rule name; default: the file name without extension.'),
    description: z.string().optional().describe('Shown in alert messages.'),
    enabled: z.boolean().default(true),
    model: nonEmpty.describe('Model name (model.name of the documents).'),
    version: versionString().optional().describe('Check only this model version; default: all versions.'),
    fields: z.array(nonEmpty).min(1).optional()
      .describe('Field names or globs: amount (a feature), features.*, prediction.score, prediction.*. Default: all fields of the reference that suit the rule type.'),
    window: duration('1h').describe('Length of each evaluated window, e.g. 1h. At least the schedule interval.'),
    schedule: cron,
    delay: duration('1m').prefault('1m').describe('Allowance for late data: how long after the window ends (at its scheduled time) the evaluation waits. It never moves the window.'),
    reference: ReferenceSchema.optional(),
    min_samples: z.int().min(0).default(minSamplesDefault).describe('Fewer documents in a window (per segment) give no_data instead of a verdict.'),
    group_by: z.array(pattern(SEGMENT_FIELD_RE, (s) => `expected model.version, host.name or labels.<name>, received "${s}"`, 'segment field'))
      .default([]).describe('Evaluate each segment separately: model.version, host.name, labels.<name>.'),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    notify: z.array(nonEmpty).default([]).describe('Names of notifiers defined in the config (notifiers:).'),
    realert: duration('1h').optional().describe('Send again this often while the alert keeps firing; default: only on firing and recovery.'),
    for: z.int().min(1).default(1).describe('Consecutive breached windows before the alert fires.'),
  };
}

type CommonOut = {
  name?: string; description?: string; enabled: boolean; model: string; version?: string; fields?: string[];
  window: number; schedule: string; delay: number; reference?: Reference; minSamples: number; groupBy: string[];
  severity: Severity; notify: string[]; realert?: number; for: number;
};

/** Common keys with defaults applied; `defaultFields` is the type's default when `fields` is absent. */
function finishCommon(v: CommonOut, defaultFields: string[]): Omit<RuleCommon, 'name' | 'source'> & { name?: string; reference?: Reference } {
  const out: Omit<RuleCommon, 'name' | 'source'> & { name?: string; reference?: Reference } = {
    enabled: v.enabled,
    model: v.model,
    fields: v.fields ? v.fields.map(normalizeField) : defaultFields,
    fieldsDefaulted: v.fields === undefined,
    window: v.window,
    schedule: v.schedule,
    delay: v.delay,
    minSamples: v.minSamples,
    groupBy: v.groupBy,
    severity: v.severity,
    notify: v.notify,
    for: v.for,
  };
  if (v.name !== undefined) out.name = v.name;
  if (v.description !== undefined) out.description = v.description;
  if (v.version !== undefined) out.version = v.version;
  if (v.realert !== undefined) out.realert = v.realert;
  if (v.reference !== undefined) out.reference = v.reference;
  return out;
}

// ---------------------------------------------------------------------------------------------
// the six types

const top = (n: number) => z.int().min(1).max(1000).default(n);

const UnseenCategoriesKeys = z.strictObject({
  type: z.literal('unseen_categories').describe('Values of categorical fields that the reference never saw.'),
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
  type: z.literal('missing_spike').describe('Share of missing values (null, NaN, "", NA strings) per field against the reference share.'),
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
  type: z.literal('oov_rate').describe('Share of out-of-vocabulary tokens in text fields (vocabulary of the reference profile).'),
  ...common(100),
  max_oov_share: share.default(0.05).describe('Drifted when OOV tokens / all tokens exceeds this.'),
  top: top(20).describe('New words reported, most frequent first.'),
});
const OovRateSchema = camel(OovRateKeys).transform((v): ParsedRule<OovRateRule> => ({
  type: 'oov_rate', ...finishCommon(v, ['features.*']), reference: v.reference ?? DEFAULT_REFERENCE,
  maxOovShare: v.maxOovShare, top: v.top,
}));

const DistributionShiftKeys = z.strictObject({
  type: z.literal('distribution_shift').describe('Drift of input and prediction distributions (Evidently stat tests).'),
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
  type: z.literal('prediction_stats').describe('Statistics of predictions (or numeric inputs) against bounds or the reference mean.'),
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
  type: z.literal('volume').describe('Too few (model down) or too many (traffic spike) predictions per window.'),
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

// model_quality: keys, checks and docs live in quality.ts.
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

/** One rule file. Validate the `type` first (load.ts does) for a clear message on an unknown type. */
export const RuleSchema = z.discriminatedUnion('type', [
  UnseenCategoriesSchema,
  MissingSpikeSchema,
  OovRateSchema,
  DistributionShiftSchema,
  PredictionStatsSchema,
  VolumeSchema,
  ModelQualitySchema,
]).meta({
  title: 'driftbeat rule',
  description: 'One drift rule per file (DESIGN.md §5). Validate with `driftbeat rules validate`.',
});

/** The snake_case keys each type accepts (for "did you mean" hints). */
export const KEYS_BY_TYPE: Record<RuleType, readonly string[]> = {
  unseen_categories: Object.keys(UnseenCategoriesKeys.shape),
  missing_spike: Object.keys(MissingSpikeKeys.shape),
  oov_rate: Object.keys(OovRateKeys.shape),
  distribution_shift: Object.keys(DistributionShiftKeys.shape),
  prediction_stats: Object.keys(PredictionStatsKeys.shape),
  volume: Object.keys(VolumeKeys.shape),
  model_quality: Object.keys(ModelQualityKeys.shape),
};
