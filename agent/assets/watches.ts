/**
 * Elasticsearch Watcher watches generated from the rule files (one source of truth, DESIGN.md §8).
 *
 * A watch per rule, in the format of test/fixtures/elastic/es/watcher/:
 * - trigger: the rule's cron in Watcher's Quartz form (seconds first, `?` in one day field), UTC.
 * - input: a search with the SAME body that backends/elasticsearch/body.ts compiles for the rule's
 *   current-side queries, the window as date math on the trigger time
 *   (`{{ctx.trigger.scheduled_time}}||-<delay>` and `...||-<delay>-<window>`); with a live
 *   reference (offset or segment) a chain of two searches, `current` and `reference`.
 * - condition: compare/array_compare where they decide the same verdict as the agent, else a short
 *   Painless script (watch-scripts.ts, each documented against evaluate.ts); a transform with the
 *   same logic puts the breaches in the payload for the messages.
 * - actions: one per notifier of `notify` (slack, email, webhook, log -> logging), with
 *   throttle_period = realert. Slack and email use Watcher accounts named after the notifier
 *   (elasticsearch.yml + keystore), so their secrets are never written; a webhook's URL and headers
 *   are the config's, with ${ENV} resolved when the config is loaded (Watcher substitutes nothing;
 *   an unset variable is a config error naming it and its key), and never printed unredacted.
 * - metadata: rule, type, what is and is not checked, how to regenerate, a content hash (setup
 *   compares it: Watcher returns a watch normalized, e.g. throttle_period_in_millis).
 *
 * distribution_shift: a watch has one round of searches where the agent may need two (phase 2:
 * range bins once the current min/max are known, or raw values once a live reference decided the
 * route), so its chain adds the agent's raw-value search (`values_<k>`, the body planRule gives
 * a values query) for binned and raw-value fields, and the script bins those values itself
 * (watch-scripts.ts); where the watch must differ from the agent (KS' asymptotic p-value, bin
 * counts from at most 10,000 values) metadata.driftbeat.notes says so.
 *
 * What a watch cannot do that the agent does: `for` (consecutive windows; Watcher keeps no state),
 * recovery messages. Fields a watch cannot check (no profile, a profile without the sample or
 * category counts it needs) are listed under metadata.driftbeat.not_checked; a rule with nothing
 * checkable gets no watch.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { estypes } from '@elastic/elasticsearch';
import { compileSearches, MAX_RESULT_WINDOW, type CompiledSearch } from '../backends/elasticsearch/body.ts';
import { loadConfig, resolvePath } from '../config/load.ts';
import type { Config, NotifierConfig } from '../config/schema.ts';
import { readYaml } from '../config/yaml.ts';
import { ConfigError, DriftbeatError, EXIT_INVALID, EXIT_OK, EXIT_RUNTIME, RuleError } from '../errors.ts';
import type { FieldProfile, ReferenceProfile, ReferenceStore } from '../reference/profile.ts';
import { loadRulesDetailed } from '../rules/load.ts';
import { DEFAULT_TERMS_SIZE, DEFAULT_VALUES_LIMIT, missingName, planRule, percentOf, queryId, type FieldPlan, type Query, type RulePlan } from '../rules/plan.ts';
import { DEFAULT_THRESHOLDS, referenceQuantileEdges } from '../stats/index.ts';
import type { DistributionShiftRule, Rule } from '../rules/schema.ts';
import { cronSchedule, shiftSchedule, toTimeWindow, windowAt } from '../rules/window.ts';
import { perVersionProfile, versionRule } from '../rules/segments.ts';
import { redact, SECRET_KEYS } from '../telemetry/redact.ts';
import type { WatchesContext, WatchesProvider } from './setup.ts';
import type { EsResource } from './templates.ts';
import { conditionScript, transformScript, type ScriptedType } from './watch-scripts.ts';

// ---------------------------------------------------------------------------------------------
// types

type SearchBody = estypes.MsearchMultisearchBody;

/** A search input. `body` is the agent's search body (estypes' WatcherSearchInputRequestBody knows only `query`). */
export interface WatchSearchInput {
  /** Watcher's search input (estypes.WatcherSearchInputRequestDefinition), indices_options as the agent's _msearch header. */
  search: { request: { indices: string[]; indices_options: estypes.IndicesOptions; rest_total_hits_as_int: true; body: SearchBody } };
}

/**
 * One search, or a chain: `current`, then `reference` with a live reference, then for
 * distribution_shift the raw-value searches `values_<k>` / `reference_values_<k>`.
 */
export type WatchInput = WatchSearchInput | { chain: { inputs: Record<string, WatchSearchInput>[] } };

/**
 * Watcher's action with the two fields estypes lacks or over-requires: `email.account` and a Slack
 * message without `to` (the account's default channel) or attachment author.
 */
export type WatchAction = Omit<estypes.WatcherAction, 'email' | 'slack'> & {
  email?: estypes.WatcherEmailAction & { account: string };
  slack?: { account: string; message: { from: string; to?: string[]; text: string; attachments: { title: string; text: string; color: string }[] } };
};

/** The body of `PUT _watcher/watch/<id>` (estypes.WatcherPutWatchRequest's body fields). */
export interface WatchBody {
  trigger: estypes.WatcherTriggerContainer;
  input: WatchInput;
  condition: estypes.WatcherConditionContainer;
  transform: estypes.TransformContainer;
  actions: Record<string, WatchAction>;
  metadata: { name: string; driftbeat: WatchMetadata };
}

export interface WatchMetadata {
  rule: string;
  type: Rule['type'];
  model: string;
  version: string | null;
  severity: Rule['severity'];
  /** How to regenerate; JSON has no comments, so the "do not edit" header lives here. */
  generated_by: string;
  rule_file: string;
  /** `fraud@1.5.0` when numbers of a profile are baked into the condition. */
  profile: string | null;
  checks: string[];
  not_checked: { field: string; reason: string }[];
  notes: string[];
  /** sha256 of the body without this field: setup's change detection. */
  hash: string;
}

export interface GenerateWatchOptions {
  /** The rule's reference profile (thresholds that compare with reference shares and means need it). */
  profile?: ReferenceProfile;
  indexPrefix?: string;
  /** The config's notifiers (already interpolated). */
  notifiers: Record<string, NotifierConfig>;
  /** The command written into metadata.driftbeat.generated_by. */
  generatedBy?: string;
}

export interface GeneratedWatch {
  id: string;
  body: WatchBody;
  /** Set when nothing of the rule can be checked by a watch: then no watch should be installed. */
  skipped?: string;
}

// ---------------------------------------------------------------------------------------------
// schedule and time

const DOW_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

/** `*\/n` means "from the field's start": Quartz wants the start spelled out. */
function quartzStep(field: string, start: number): string {
  return field.replace(/^\*\//, `${start}/`);
}

/**
 * A node-cron expression (5 or 6 fields, UTC) as Watcher's Quartz cron: seconds first, `?` in the
 * day field that is `*`, weekdays as names (cron's 0 and 7 are Sunday, Quartz counts 1-7 from
 * Sunday). node-cron requires day-of-month AND day-of-week to match; Quartz cannot say that, so an
 * expression restricting both is refused.
 */
export function quartzCron(expression: string): string {
  const expr = MACROS[expression.trim()] ?? expression.trim();
  let f = expr.split(/\s+/);
  if (f.length === 5) f = ['0', ...f];
  if (f.length !== 6) throw new DriftbeatError('ERR_WATCH_CRON', `schedule "${expression}": expected 5 or 6 cron fields`);
  const [sec, min, hour, dom, mon, dow] = f as [string, string, string, string, string, string];
  let qDom = quartzStep(dom, 1);
  let qDow: string;
  if (dow === '*' || dow === '?') {
    qDow = '?';
  } else {
    if (dom !== '*' && dom !== '?') {
      throw new DriftbeatError('ERR_WATCH_CRON', `schedule "${expression}": Watcher's cron cannot require both a day of month and a day of week; restrict only one of them`);
    }
    qDom = '?';
    const days = cronSchedule(expr).daysOfWeek;
    if (days.some((d) => typeof d !== 'number')) {
      throw new DriftbeatError('ERR_WATCH_CRON', `schedule "${expression}": day-of-week tokens such as L or # are not converted to Watcher's cron; use plain weekdays`);
    }
    qDow = [...new Set(days as number[])].sort((a, b) => a - b).map((d) => DOW_NAMES[d % 7]).join(',');
  }
  return [quartzStep(sec, 0), quartzStep(min, 0), quartzStep(hour, 0), qDom, quartzStep(mon, 1), qDow].join(' ');
}

/** Milliseconds as date math units (`6h`, `90s`); date math has no milliseconds, so they are refused. */
export function dateMathUnits(ms: number): string {
  if (ms % 1000 !== 0) throw new DriftbeatError('ERR_WATCH_DURATION', `duration ${ms}ms: watches need whole seconds (date math has no milliseconds)`);
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

/** A Watcher time value (throttle_period): no weeks there. */
function timeValue(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const TRIGGER_TIME = '{{ctx.trigger.scheduled_time}}';

/** `{{ctx.trigger.scheduled_time}}||-10m-6h`: the trigger time minus the given durations (zeros left out). */
export function triggerMinus(...ms: number[]): string {
  const parts = ms.filter((x) => x > 0).map((x) => `-${dateMathUnits(x)}`);
  return parts.length ? `${TRIGGER_TIME}||${parts.join('')}` : TRIGGER_TIME;
}

/** The rule's schedule shifted by its delay: Watcher cannot wait after a trigger, so the trigger itself waits. */
function delayedSchedule(rule: Rule): string {
  try {
    return shiftSchedule(rule.schedule, rule.delay);
  } catch (err) {
    throw new DriftbeatError('ERR_WATCH_CRON', `rule "${rule.name}": the watch triggers delay ${dateMathUnits(rule.delay)} after each fire time of "${rule.schedule}", and ${(err as Error).message}; choose a delay that keeps the fire times on the same day`);
  }
}

/** The trigger time planned with: any fixed instant works, the times are replaced by date math. */
const ANCHOR = Date.UTC(2001, 0, 1);

function replaceStrings<T>(value: T, map: Map<string, string>): T {
  if (typeof value === 'string') return (map.get(value) ?? value) as T;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, map)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, map)])) as T;
  return value;
}

// ---------------------------------------------------------------------------------------------
// generation

function fieldPlaceholderProfile(rule: Rule, version: string): ReferenceProfile {
  // Only for unseen_categories without a profile: the search names the reference document by
  // model, version and field (a terms lookup), never its values, so this stand-in compiles to the
  // same body as the real profile would.
  const fields: FieldProfile[] = rule.fields.filter((f) => !/[*?]/.test(f)).map((f) => ({
    model: rule.model, version, field: f, kind: f.startsWith('prediction.') ? 'prediction' : 'feature', type: 'cat',
    count: 0, missing_count: 0, missing_share: 0, distinct_count: 0, categories: [],
  }));
  return { model: rule.model, version, built_at: '', source: { path: '', rows: 0, format: 'window' }, fields };
}

interface SidePlan {
  search: CompiledSearch;
  /** Aggregation name of each query id in that search (body.ts names them q0, q1, ... in order). */
  names: Map<string, string>;
}

function sideSearch(plan: RulePlan, side: 'cur' | 'ref', indexPrefix: string): SidePlan | undefined {
  const queries = plan.phase1.filter((q) => q.id.split('/')[1] === side);
  const countId = queryId(plan, side, 'count');
  // One body per side (a watch's chain names its inputs): not packed under search.max_buckets as the agent's are.
  const search = compileSearches(queries, { indexPrefix, maxBuckets: Number.POSITIVE_INFINITY }).find((s) => s.ids.includes(countId));
  if (!search) return undefined;
  return { search, names: new Map(search.ids.map((id, i) => [id, `q${i}`])) };
}

function searchInput(s: CompiledSearch, map: Map<string, string>): WatchSearchInput {
  const index = s.header.index;
  return {
    search: {
      request: {
        indices: Array.isArray(index) ? index : [String(index)],
        // As the agent's _msearch header: a model without documents yet is an empty window, not a failed watch.
        indices_options: { ignore_unavailable: s.header.ignore_unavailable ?? true, allow_no_indices: s.header.allow_no_indices ?? true },
        // hits.total as a number, as the compare conditions and the scripts read it.
        rest_total_hits_as_int: true,
        body: replaceStrings(structuredClone(s.body), map),
      },
    },
  };
}

/** What a type's condition gets besides the common params, plus what stays unchecked. */
interface ConditionParts {
  params: Record<string, unknown>;
  checks: string[];
  unchecked: { field: string; reason: string }[];
  notes: string[];
  profileUsed: boolean;
  /** A compare / array_compare condition deciding the same verdict, when there is one. */
  simple?: estypes.WatcherConditionContainer;
}

function javaDoubleKey(p: number): string {
  // Elasticsearch keys percentiles by Java's Double.toString: 99 -> "99.0", 99.9 -> "99.9".
  return Number.isInteger(p) ? `${p}.0` : String(p);
}

function conditionParts(rule: Rule, plan: RulePlan, cur: SidePlan, ref: SidePlan | undefined, indexPrefix: string): ConditionParts {
  const unchecked = plan.fields.filter((f) => f.problem).map((f) => ({ field: f.field, reason: f.problem! }));
  const ok = plan.fields.filter((f) => !f.problem);
  const name = (side: SidePlan | undefined, id: string) => side?.names.get(id) ?? null;
  const parts: ConditionParts = { params: {}, checks: [], unchecked, notes: [], profileUsed: false };
  const live = plan.reference !== undefined;
  switch (rule.type) {
    case 'volume': {
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
      break;
    }
    case 'missing_spike': {
      const fields = [];
      const curId = queryId(plan, 'cur', 'missing');
      for (const f of ok) {
        let refShare: number | null = null;
        if (!live && rule.maxShare === undefined) {
          if (!f.profile) {
            unchecked.push({ field: f.field, reason: 'the reference missing share comes from the profile: generate with the profile stored (driftbeat setup does) or set max_share' });
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
      break;
    }
    case 'unseen_categories': {
      const fields = [];
      for (const f of ok) {
        const kind = live ? 'terms' : 'unseen';
        const agg = name(cur, queryId(plan, 'cur', kind, f.path));
        if (!agg) {
          unchecked.push({ field: f.field, reason: f.problem ?? 'no reference categories (build a profile or give the rule a version)' });
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
      break;
    }
    case 'oov_rate': {
      const fields = ok.map((f) => {
        const id = queryId(plan, 'cur', 'text', f.path);
        const agg = name(cur, id)!;
        return { field: f.field, tokens: `${agg}_tokens`, oov: `${agg}_oov`, words: name(cur, queryId(plan, 'cur', 'oov_terms', f.path)) };
      });
      parts.params = { fields, max_oov_share: rule.maxOovShare, top: rule.top };
      if (fields.length) parts.checks.push(`OOV tokens / tokens > ${rule.maxOovShare}`);
      break;
    }
    case 'prediction_stats': {
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
            unchecked.push({ field: f.field, reason: `reference_mean_k ${k}: the reference mean and std come from the profile; generate with the profile stored` });
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
      break;
    }
    case 'distribution_shift':
      shiftParts(rule as DistributionShiftRule, plan, ok, cur, ref, parts);
      break;
  }
  return parts;
}

/** Raw values a distribution_shift watch fetches: binned and raw-value fields, and undecided ones. */
interface ValuesInput {
  name: string;
  field: string;
  side: 'cur' | 'ref';
  query: Query;
}

/** Per side the agent's values search (the body planRule / planPhase2 give a values query). */
function shiftValuesInputs(plan: RulePlan): ValuesInput[] {
  if (plan.rule.type !== 'distribution_shift') return [];
  const out: ValuesInput[] = [];
  const fields = plan.fields.filter((f) => !f.problem && (f.route === 'bins' || f.route === 'raw' || (f.route === undefined && plan.reference)));
  fields.forEach((f, k) => {
    for (const side of plan.reference ? (['cur', 'ref'] as const) : (['cur'] as const)) {
      const query: Query = {
        id: queryId(plan, side, 'values', f.path), filter: side === 'cur' ? plan.current : plan.reference!,
        groupBy: side === 'cur' ? plan.rule.groupBy : plan.refGroupBy, kind: 'values', field: f.path, limit: DEFAULT_VALUES_LIMIT,
      };
      out.push({ name: `${side === 'cur' ? '' : 'reference_'}values_${k}`, field: f.path, side, query });
    }
  });
  return out;
}

const DIRECTION: Record<string, string> = { ks: 'p-value <=', chisquare: 'p-value <', z: 'p-value <', l_infinity: '>' };

function shiftParts(rule: DistributionShiftRule, plan: RulePlan, ok: FieldPlan[], cur: SidePlan, ref: SidePlan | undefined, parts: ConditionParts): void {
  const live = plan.reference !== undefined;
  const name = (side: SidePlan | undefined, id: string) => side?.names.get(id) ?? null;
  const inputs = shiftValuesInputs(plan);
  const input = (f: FieldPlan, side: 'cur' | 'ref') => inputs.find((v) => v.field === f.path && v.side === side)?.name ?? null;
  const valuesLimit = Math.min(DEFAULT_VALUES_LIMIT, MAX_RESULT_WINDOW);
  const fields: Record<string, unknown>[] = [];
  const notes = new Set<string>();
  for (const f of ok) {
    const p = f.profile;
    const spec: Record<string, unknown> = {
      field: f.field, path: f.path, route: f.route ?? null, method: f.method ?? null, type: f.type ?? null,
      terms: name(cur, queryId(plan, 'cur', 'terms', f.path)), ref_terms: name(ref, queryId(plan, 'ref', 'terms', f.path)),
      stats: name(cur, queryId(plan, 'cur', 'stats', f.path)), ref_stats: name(ref, queryId(plan, 'ref', 'stats', f.path)),
      values: input(f, 'cur'), ref_values: input(f, 'ref'),
    };
    if (!live && f.route === 'counts') {
      const cats = p?.categories ?? [];
      if (!cats.length) {
        parts.unchecked.push({ field: f.field, reason: `the profile of "${f.path}" has no category counts; rebuild the profile` });
        continue;
      }
      spec.ref_keys = cats.map((x) => x.value);
      spec.ref_counts = cats.map((x) => x.count);
      parts.profileUsed = true;
    }
    if (!live && (f.route === 'bins' || f.route === 'raw')) {
      if (!p?.sample?.length) {
        parts.unchecked.push({ field: f.field, reason: `method ${f.method} needs the reference sample and the profile of "${f.path}" has none; rebuild the profile` });
        continue;
      }
      spec.ref_sample = p.sample;
      parts.profileUsed = true;
      if (f.route === 'bins') {
        spec.ref_n = p.count - p.missing_count;
        spec.ref_min = p.numeric?.min ?? null;
        spec.ref_max = p.numeric?.max ?? null;
        spec.inner_edges = rule.bins === 'reference_quantiles' ? referenceQuantileEdges(p.sample, 10).slice(1, -1) : null;
      }
    }
    fields.push(spec);
    const method = f.route === undefined ? rule.method : (f.method ?? rule.method);
    const threshold = rule.threshold ?? (method === 'auto' ? null : DEFAULT_THRESHOLDS[method]);
    parts.checks.push(method === 'auto' || threshold === null
      ? `${f.field}: Evidently's default test (chisquare / z up to 1000 reference values, else jensenshannon; ks / wasserstein for numbers) against its default threshold`
      : `${f.field}: ${method}${method === 'wasserstein' ? ' (normed)' : ''} ${DIRECTION[method] ?? '>='} ${threshold}`);
    if (f.route === undefined) notes.add(`${f.field}: with a live reference and no profile, the watch decides from the data as the agent does (categories, bins or raw values) and so fetches up to ${valuesLimit} raw values of each side on every run`);
    if (method === 'ks' || (f.route === undefined && rule.method === 'auto')) {
      notes.add('ks: the watch uses the asymptotic p-value (Kolmogorov distribution) where the agent uses the exact one up to 10,000 values a side: the verdicts can differ only when p is close to the threshold');
    }
    if (f.route === 'bins' || f.route === undefined) {
      notes.add(`binned fields: the edges are the agent's (exact min, max and count from extended_stats), but the counts per bin come from at most ${valuesLimit} raw values a side (the first by event.id) where the agent's range aggregation counts every value: above ${valuesLimit} values in a window the watch's shares are estimates`);
    }
  }
  if (fields.length) {
    notes.add('Painless stops a script after 1,000,000 loop iterations: with raw values, bins or segments for many fields, split the rule so that one watch covers a few fields');
  }
  parts.notes.push(...notes);
  parts.params = {
    fields, method: rule.method, threshold: rule.threshold ?? null, defaults: DEFAULT_THRESHOLDS, zero_fill: rule.zeroFill,
    js_base: rule.jsBase, js_output: rule.jsOutput, bins: rule.bins, terms_size: DEFAULT_TERMS_SIZE, values_limit: valuesLimit,
  };
}

const SEVERITY_COLOR: Record<Rule['severity'], string> = { info: 'good', warning: 'warning', critical: 'danger' };
const SEVERITY_LEVEL: Record<Rule['severity'], string> = { info: 'info', warning: 'warn', critical: 'error' };

/** The message of every action: Watcher mustache over the transform's payload. */
function messageText(rule: Rule): { title: string; lines: string } {
  const title = `[driftbeat] ${rule.severity}: rule ${rule.name} (${rule.type}) on model ${rule.model}${rule.version ? `@${rule.version}` : ''}`;
  const lines = [
    'window [{{ctx.payload.window_from}}, {{ctx.payload.window_to}})',
    '{{#ctx.payload.breaches}}',
    '- {{field}}{{#segment}} [{{segment}}]{{/segment}}: {{statistic}} = {{value}} (threshold {{threshold}}){{#details}}; {{details}}{{/details}}',
    '{{/ctx.payload.breaches}}',
    ...(rule.description ? [rule.description] : []),
    'Watch {{ctx.watch_id}}, generated by driftbeat from the rule file; the agent (driftbeat rules test) shows the full evaluation.',
  ].join('\n');
  return { title, lines };
}

function action(name: string, n: NotifierConfig | undefined, rule: Rule, notes: string[]): WatchAction | undefined {
  const { title, lines } = messageText(rule);
  const throttle = rule.realert !== undefined ? { throttle_period: timeValue(rule.realert) } : {};
  if (!n) {
    notes.push(`notifier "${name}" is not in the config: no action for it`);
    return undefined;
  }
  switch (n.type) {
    case 'slack':
      return {
        ...throttle,
        slack: {
          account: name,
          message: {
            from: n.username ?? 'driftbeat',
            ...(n.channel ? { to: [n.channel] } : {}),
            text: title,
            attachments: [{ title: `${rule.name}: {{ctx.payload.breach_count}} breach(es)`, text: lines, color: SEVERITY_COLOR[rule.severity] }],
          },
        },
      };
    case 'email':
      return {
        ...throttle,
        email: { account: name, from: n.from, to: n.to, subject: `${n.subjectPrefix ? `${n.subjectPrefix} ` : ''}${title.replace(/^\[driftbeat\] /, '')}`, body: { text: lines } },
      };
    case 'webhook': {
      // Watcher does no ${ENV} substitution: the config's values, already resolved from the
      // environment when it was loaded (an unset variable is a config error naming it), go in as they are.
      const headers: Record<string, string> = { 'Content-Type': 'application/json', ...n.headers };
      const url = n.url;
      if (n.body !== undefined) notes.push(`webhook "${name}": the notifier's body template is not translated; the watch posts the breaches as JSON`);
      const body = `{"rule":${JSON.stringify(rule.name)},"type":${JSON.stringify(rule.type)},"model":${JSON.stringify(rule.model)},"severity":${JSON.stringify(rule.severity)},` +
        '"watch_id":"{{ctx.watch_id}}","window_from":"{{ctx.payload.window_from}}","window_to":"{{ctx.payload.window_to}}","breaches":{{#toJson}}ctx.payload.breaches{{/toJson}}}';
      return { ...throttle, webhook: { method: n.method.toLowerCase() as estypes.WatcherHttpInputMethod, url, headers, body } };
    }
    case 'log':
      return { ...throttle, logging: { level: SEVERITY_LEVEL[rule.severity], text: `${title}\n${lines}` } };
  }
}

function hashOf(body: WatchBody): string {
  const copy = structuredClone(body);
  copy.metadata.driftbeat.hash = '';
  return createHash('sha256').update(JSON.stringify(copy)).digest('hex').slice(0, 16);
}

/** The profile version a rule compares with, as the runner picks it. */
function versionFor(rule: Rule, profile: ReferenceProfile | undefined): string | undefined {
  const ref = rule.reference;
  return (ref?.kind === 'profile' ? ref.version : undefined) ?? rule.version ?? profile?.version;
}

/** The watch of one rule (see the module comment). Pure. */
/** Why model_quality rules get no watch. */
export const MODEL_QUALITY_NO_WATCH = 'model_quality rules are evaluated by the agent only: their metrics need the confusion matrix, score histograms and the reference metrics combined, which the generated Painless condition does not compute yet';

export function generateWatch(written: Rule, options: GenerateWatchOptions): GeneratedWatch {
  // A rule that compares each model.version with its own profile (rules/segments.ts): a watch
  // holds one profile's numbers, so it checks that profile's version only, never the others with it.
  const perVersion = perVersionProfile(written) && options.profile !== undefined;
  const rule = perVersion ? versionRule(written, options.profile!.version) : written;
  const indexPrefix = options.indexPrefix ?? 'driftbeat';
  const id = `${indexPrefix}-${rule.name}`;
  if (rule.type === 'model_quality') return { id, body: {} as WatchBody, skipped: MODEL_QUALITY_NO_WATCH };
  // The watch triggers `delay` after the window's end (window.ts), so the trigger time minus the
  // delay is the window's end, as in the agent.
  const window = toTimeWindow(windowAt(rule, ANCHOR - rule.delay));
  let profile = options.profile;
  if (!profile && rule.type === 'unseen_categories' && (!rule.reference || rule.reference.kind === 'profile')) {
    const v = versionFor(rule, undefined);
    if (v !== undefined) profile = fieldPlaceholderProfile(rule, v);
  }
  const plan = planRule(rule, window, profile, 0);
  const cur = sideSearch(plan, 'cur', indexPrefix)!;
  const ref = plan.reference ? sideSearch(plan, 'ref', indexPrefix) : undefined;
  const curMap = new Map([[window.from, triggerMinus(rule.delay, rule.window)], [window.to, triggerMinus(rule.delay)]]);
  const chain: Record<string, WatchSearchInput>[] = [{ current: searchInput(cur.search, curMap) }];
  let refMap = new Map<string, string>();
  if (plan.reference && ref) {
    const offset = rule.reference?.kind === 'offset' ? rule.reference.offset : 0;
    refMap = new Map([[plan.reference.from, triggerMinus(rule.delay, rule.window, offset)], [plan.reference.to, triggerMinus(rule.delay, offset)]]);
    chain.push({ reference: searchInput(ref.search, refMap) });
  }
  for (const v of shiftValuesInputs(plan)) {
    chain.push({ [v.name]: searchInput(compileSearches([v.query], { indexPrefix })[0]!, v.side === 'cur' ? curMap : refMap) });
  }
  const input: WatchInput = chain.length === 1 ? chain[0]!.current! : { chain: { inputs: chain } };

  const parts = conditionParts(rule, plan, cur, ref, indexPrefix);
  const type: ScriptedType = rule.type;
  const params = {
    chain: 'chain' in input, group_by: rule.groupBy, ref_group_by: plan.refGroupBy, min_samples: rule.minSamples,
    delay_ms: rule.delay, window_ms: rule.window, ...parts.params,
  };
  const notes = [...parts.notes];
  if (perVersion) notes.push(`group_by model.version without version: the watch checks only model.version ${rule.version}, the version of the profile it was generated with (the agent compares every version with its own profile)`);
  if (rule.for > 1) notes.push(`for: ${rule.for} is not applied: Watcher keeps no state between runs, so the watch fires on the first breached window`);
  notes.push(rule.realert !== undefined
    ? `actions repeat at most every ${timeValue(rule.realert)} (realert) while the condition holds; no recovery message`
    : 'no realert: every breached run notifies; acknowledge the watch (POST _watcher/watch/<id>/_ack) to silence it until the condition clears; no recovery message');
  if (parts.profileUsed && options.profile) notes.push(`numbers of the profile ${options.profile.model}@${options.profile.version} (built ${options.profile.built_at}) are in the condition: regenerate after rebuilding it`);

  const actions: Record<string, WatchAction> = {};
  for (const n of rule.notify) {
    const a = action(n, options.notifiers[n], rule, notes);
    if (a) actions[n] = a;
  }
  if (Object.keys(actions).length === 0) {
    // A watch without actions leaves no trace outside its history: log it at least.
    const { title, lines } = messageText(rule);
    actions['log'] = { ...(rule.realert !== undefined ? { throttle_period: timeValue(rule.realert) } : {}), logging: { level: SEVERITY_LEVEL[rule.severity], text: `${title}\n${lines}` } };
  }

  const hasChecks = parts.checks.length > 0;
  const condition: estypes.WatcherConditionContainer = !hasChecks
    ? { never: {} }
    : parts.simple ?? { script: { lang: 'painless', source: conditionScript(type), params } };
  const transform: estypes.TransformContainer = hasChecks
    ? { script: { lang: 'painless', source: transformScript(type), params } }
    : { script: { lang: 'painless', source: "return ['breaches': [], 'breach_count': 0]", params: {} } };

  const body: WatchBody = {
    trigger: { schedule: { cron: quartzCron(delayedSchedule(rule)) } },
    input,
    condition,
    transform,
    actions,
    metadata: {
      name: `driftbeat: ${rule.name}`,
      driftbeat: {
        rule: rule.name, type: rule.type, model: rule.model, version: rule.version ?? null, severity: rule.severity,
        generated_by: `${options.generatedBy ?? 'driftbeat watches export -c <config> --out <dir>'}; generated from the rule file, do not edit by hand`,
        rule_file: basename(rule.source.file),
        profile: parts.profileUsed && options.profile ? `${options.profile.model}@${options.profile.version}` : null,
        checks: parts.checks, not_checked: parts.unchecked, notes, hash: '',
      },
    },
  };
  body.metadata.driftbeat.hash = hashOf(body);
  const out: GeneratedWatch = { id, body };
  if (!hasChecks) out.skipped = `nothing of rule "${rule.name}" can be checked by a watch: ${parts.unchecked.map((u) => `${u.field}: ${u.reason}`).join('; ') || 'no condition'}`;
  return out;
}

/** The search bodies of a watch with the date math put back to a window (tests; `rules explain` parity). */
export function watchSearches(body: WatchBody): { current: SearchBody; reference?: SearchBody } {
  if ('search' in body.input) return { current: body.input.search.request.body };
  const all = Object.assign({}, ...body.input.chain.inputs) as Record<string, WatchSearchInput>;
  return { current: all['current']!.search.request.body, ...(all['reference'] ? { reference: all['reference'].search.request.body } : {}) };
}

// ---------------------------------------------------------------------------------------------
// export (CLI) and setup

export interface WatchSource {
  config: Config;
  rules: Rule[];
}

/** Loads config and rules; throws ConfigError / RuleError (exit 2) with every problem. */
export function loadWatchSource(configFile: string, options: { rulesPath?: string; env?: NodeJS.ProcessEnv } = {}): WatchSource {
  const { config } = loadConfig(configFile, options.env ? { env: options.env } : {});
  const path = options.rulesPath ?? config.rules.path;
  if (!path) throw new ConfigError([{ key: 'rules.path', message: 'is not set: watches are generated from the rule files (rules: { path: rules })' }], 'ERR_WATCH_NO_RULES');
  const r = loadRulesDetailed([resolvePath(path)], { notifiers: Object.keys(config.notifiers), ...(options.env ? { env: options.env } : {}) });
  if (r.problems.length) throw new RuleError(r.problems);
  return { config, rules: r.rules };
}

export type ProfileLookup = (model: string, version: string | undefined) => Promise<ReferenceProfile | undefined>;

export interface GenerateAllOptions {
  profiles?: ProfileLookup;
  generatedBy?: string;
}

export interface GeneratedSet {
  watches: GeneratedWatch[];
  /** One line per rule left out or generated without its profile. */
  warnings: string[];
}

/** Watches of every enabled rule; rules with nothing checkable are reported, not generated. */
export async function generateWatches(src: WatchSource, options: GenerateAllOptions = {}): Promise<GeneratedSet> {
  const warnings: string[] = [];
  const watches: GeneratedWatch[] = [];
  const indexPrefix = src.config.output.elasticsearch?.indexPrefix ?? 'driftbeat';
  // Once the store failed (unreachable cluster), the other rules are not made to wait for it again.
  let unreadable: string | undefined;
  for (const rule of src.rules) {
    if (!rule.enabled) {
      warnings.push(`rule ${rule.name}: disabled, no watch`);
      continue;
    }
    let profile: ReferenceProfile | undefined;
    let notRead: string | undefined;
    if (rule.type !== 'volume' && options.profiles) {
      const version = versionFor(rule, undefined);
      if (unreadable === undefined) {
        try {
          profile = await options.profiles(rule.model, version);
        } catch (err) {
          unreadable = err instanceof Error ? err.message : String(err);
        }
      }
      notRead = unreadable;
    }
    try {
      const w = generateWatch(rule, { notifiers: src.config.notifiers, indexPrefix, ...(profile ? { profile } : {}), ...(options.generatedBy ? { generatedBy: options.generatedBy } : {}) });
      // Without a readable store the profile may well exist: say that, not "build a profile".
      if (w.skipped) {
        warnings.push(notRead
          ? `rule ${rule.name}: no watch: its reference profile could not be read (${notRead}) and the watch needs it; run again when the cluster is reachable`
          : `rule ${rule.name}: no watch: ${w.skipped}`);
        continue;
      }
      const unchecked = w.body.metadata.driftbeat.not_checked;
      if (notRead && unchecked.length) warnings.push(`rule ${rule.name}: generated without its reference profile, which could not be read (${notRead}): ${unchecked.map((u) => u.field).join(', ')} not checked by the watch; run again when the cluster is reachable`);
      else for (const u of unchecked) warnings.push(`rule ${rule.name}: ${u.field} not checked by the watch: ${u.reason}`);
      watches.push(w);
    } catch (err) {
      if (!(err instanceof DriftbeatError)) throw err;
      warnings.push(`rule ${rule.name}: no watch: ${err.message}`);
    }
  }
  return { watches, warnings };
}

export function watchJson(w: GeneratedWatch): string {
  return `${JSON.stringify(w.body, null, 2)}\n`;
}

/**
 * Writes `<id>.json` (the PUT body) per watch into `outDir` and removes stale generated ones
 * (files whose metadata says driftbeat generated them). Returns the files written.
 */
export function writeWatches(watches: readonly GeneratedWatch[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const keep = new Set(watches.map((w) => `${w.id}.json`));
  for (const f of readdirSync(outDir)) {
    if (!f.endsWith('.json') || keep.has(f)) continue;
    try {
      const j = JSON.parse(readFileSync(join(outDir, f), 'utf8')) as { metadata?: { driftbeat?: unknown } };
      if (j.metadata?.driftbeat) rmSync(join(outDir, f));
    } catch { /* not ours */ }
  }
  return watches.map((w) => {
    const file = join(outDir, `${w.id}.json`);
    writeFileSync(file, watchJson(w));
    return file;
  });
}

export interface ExportOptions {
  profiles?: ProfileLookup;
  rulesPath?: string;
  generatedBy?: string;
  env?: NodeJS.ProcessEnv;
}

/** `exportWatches(configFile, outDir)`: generate and write; the CLI's core. */
export async function exportWatches(configFile: string, outDir: string, options: ExportOptions = {}): Promise<GeneratedSet & { files: string[] }> {
  const src = loadWatchSource(configFile, options);
  const set = await generateWatches(src, { ...(options.profiles ? { profiles: options.profiles } : {}), generatedBy: options.generatedBy ?? `driftbeat watches export -c ${configFile} --out ${outDir}` });
  return { ...set, files: writeWatches(set.watches, outDir) };
}

export interface CommandOutput {
  text: string;
  exitCode: number;
  /** Warnings for stderr (kept apart so that stdout stays JSON without --out). */
  stderr?: string;
}

/** Profiles from the configured store, each read bounded in time; failures become warnings. */
async function storeProfiles(config: Config): Promise<{ lookup: ProfileLookup; close: () => Promise<void> }> {
  const { openRuleDeps: buildDeps } = await import('../outputs.ts');
  let deps: Awaited<ReturnType<typeof buildDeps>> | undefined;
  const lookup: ProfileLookup = async (model, version) => {
    deps ??= await buildDeps(config);
    const store: ReferenceStore = deps.references;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 10s')), 10_000);
    });
    try {
      return await Promise.race([store.get(model, version), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { lookup, close: async () => { await deps?.close().catch(() => undefined); } };
}

/**
 * `driftbeat watches export -c FILE [--out DIR]`: with --out, one `<id>.json` per watch (the body
 * of PUT _watcher/watch/<id>); without, one JSON object `{ "<id>": body }` on stdout.
 * Exit 0 written, 2 invalid config or rules, 1 anything else.
 */
export async function watchesExportCommand(opts: { configFile: string; out?: string; profiles?: ProfileLookup | false }): Promise<CommandOutput> {
  let close: (() => Promise<void>) | undefined;
  try {
    const src = loadWatchSource(opts.configFile);
    let profiles: ProfileLookup | undefined;
    if (opts.profiles) profiles = opts.profiles;
    else if (opts.profiles === undefined) ({ lookup: profiles, close } = await storeProfiles(src.config));
    const generatedBy = `driftbeat watches export -c ${opts.configFile}${opts.out ? ` --out ${opts.out}` : ''}`;
    const set = await generateWatches(src, { ...(profiles ? { profiles } : {}), generatedBy });
    const stderr = set.warnings.length ? `${set.warnings.map(redact).join('\n')}\n` : '';
    if (opts.out) {
      const files = writeWatches(set.watches, opts.out);
      const lines = files.map((f) => `wrote ${f}`);
      lines.push(`${files.length} watch(es) written to ${opts.out}; install with driftbeat setup --watches, or PUT _watcher/watch/<file name> with the file as body`);
      return { text: `${lines.join('\n')}\n`, exitCode: EXIT_OK, ...(stderr ? { stderr } : {}) };
    }
    const all = Object.fromEntries(set.watches.map((w) => [w.id, w.body]));
    return { text: `${JSON.stringify(all, null, 2)}\n`, exitCode: EXIT_OK, ...(stderr ? { stderr } : {}) };
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RuleError) return { text: '', stderr: `${err.message}\n`, exitCode: EXIT_INVALID };
    return { text: '', stderr: `${redact(err instanceof Error ? err.message : String(err))}\n`, exitCode: EXIT_RUNTIME };
  } finally {
    await close?.();
  }
}

/** License types that include Watcher (Elastic subscriptions: gold and above, and trial). */
const WATCHER_LICENSES = new Set(['standard', 'gold', 'platinum', 'enterprise', 'trial']);

/** Whether a `GET _license` answer allows Watcher: an active license of a type that has it. */
export function licenseHasWatcher(body: unknown): { ok: boolean; type: string; status: string } {
  const l = (body as Partial<estypes.LicenseGetResponse> | undefined)?.license;
  const type = String(l?.type ?? 'unknown');
  const status = String(l?.status ?? 'unknown');
  return { ok: WATCHER_LICENSES.has(type) && status === 'active', type, status };
}

/** The setup resource of a watch: GET to compare (by metadata hash and active state), PUT to write. */
export function watchResource(w: GeneratedWatch, options: { active?: boolean } = {}): EsResource {
  const active = options.active ?? true;
  const path = `/_watcher/watch/${encodeURIComponent(w.id)}`;
  const hash = w.body.metadata.driftbeat.hash;
  return {
    kind: 'watch',
    name: w.id,
    get: { method: 'GET', path },
    put: { method: 'PUT', path: active ? path : `${path}?active=false`, body: w.body as unknown as Record<string, unknown> },
    // Watcher answers with the watch normalized (throttle_period_in_millis, defaults filled in), so
    // the content hash decides; an inactive watch is rewritten once the license allows it.
    current: (b) => {
      const got = b as { found?: boolean; watch?: { metadata?: { driftbeat?: { hash?: string } } }; status?: { state?: { active?: boolean } } } | undefined;
      if (got?.found === false) return undefined;
      const same = got?.watch?.metadata?.driftbeat?.hash === hash && (!active || got?.status?.state?.active !== false);
      return same ? w.body : { stale: true };
    },
  };
}

export interface WatchesProviderOptions {
  /** Where the license message goes (the same `out` as runSetup's). */
  out?: (line: string) => void;
  /** Reference profiles; default: read from the configured store, also in a dry run (failures become warnings). */
  profiles?: ProfileLookup | false;
  rulesPath?: string;
}

/**
 * The `watches` step of `driftbeat setup`: pass `watches: watchesSetupProvider({ out, configFile })`
 * to runSetup. Reads GET _license; without Watcher the watches are created inactive
 * (`PUT ...?active=false`) and a message says why and what to do.
 */
export function watchesSetupProvider(options: WatchesProviderOptions = {}): WatchesProvider {
  return async (ctx: WatchesContext): Promise<EsResource[]> => {
    const out = options.out ?? ((l: string) => void process.stdout.write(`${l}\n`));
    const path = options.rulesPath ?? ctx.config.rules.path;
    if (!path) throw new DriftbeatError('ERR_WATCH_NO_RULES', 'rules.path is not set in the config: watches are generated from the rule files');
    const r = loadRulesDetailed([resolvePath(path)], { notifiers: Object.keys(ctx.config.notifiers) });
    if (r.problems.length) throw new RuleError(r.problems);
    const src: WatchSource = { config: ctx.config, rules: r.rules };
    let close: (() => Promise<void>) | undefined;
    let profiles: ProfileLookup | undefined;
    if (options.profiles) profiles = options.profiles;
    // Also in a dry run: reading the profiles sends no write, and the plan then matches a real run.
    else if (options.profiles === undefined) ({ lookup: profiles, close } = await storeProfiles(ctx.config));
    let set: GeneratedSet;
    try {
      set = await generateWatches(src, { ...(profiles ? { profiles } : {}), generatedBy: 'driftbeat setup --watches' });
    } finally {
      await close?.();
    }
    for (const w of set.warnings) out(`watches: ${redact(w)}`);
    let active = true;
    if (ctx.request) {
      const lic = await ctx.request('GET', '/_license');
      const has = lic.status >= 200 && lic.status < 300 ? licenseHasWatcher(lic.body) : { ok: false, type: `unknown (HTTP ${lic.status})`, status: 'unknown' };
      if (!has.ok) {
        active = false;
        out(`watches: the cluster's license (${has.type}, ${has.status}) does not include Watcher: the ${set.watches.length} watch(es) are created inactive. ` +
          'Start a trial or upgrade (Stack Management > License management), then run driftbeat setup --watches again to activate them. ' +
          'If Elasticsearch refuses Watcher requests under this license, the agent still evaluates every rule itself; driftbeat watches export writes the watches as JSON for later.');
      }
    }
    return set.watches.map((w) => watchResource(w, { active }));
  };
}

// ---------------------------------------------------------------------------------------------
// the example watches (kibana/watches/), regenerated by:
//   node --import tsx agent/assets/watches.ts           # write
//   node --import tsx agent/assets/watches.ts --check   # exit 1 when stale

export const EXAMPLE_WATCHES_DIR = fileURLToPath(new URL('../../kibana/watches/', import.meta.url));
export const EXAMPLE_CONFIG = join(EXAMPLE_WATCHES_DIR, 'driftbeat.yml');
export const EXAMPLE_RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
export const EXAMPLE_GENERATED_BY = 'node --import tsx agent/assets/watches.ts (from rules/ with kibana/watches/driftbeat.yml)';

/**
 * The environment the example watches are generated with: fixed, so the files do not depend on
 * who regenerates them, and placeholders, never secrets (the JSON shows where each value goes).
 */
export const EXAMPLE_ENV: Readonly<Record<string, string>> = {
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/EXAMPLE/EXAMPLE/EXAMPLE',
  SMTP_USER: 'driftbeat',
  SMTP_PASSWORD: 'example-password',
  RETRAIN_TOKEN: 'example-retrain-token',
};

/** The example watches, without profiles (what each can and cannot check is in its metadata). */
export async function exampleWatches(): Promise<GeneratedSet> {
  const src = loadWatchSource(EXAMPLE_CONFIG, { rulesPath: EXAMPLE_RULES_DIR, env: { ...EXAMPLE_ENV } });
  for (const r of src.rules) r.source = { ...r.source, file: basename(r.source.file) };
  return generateWatches(src, { generatedBy: EXAMPLE_GENERATED_BY });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const set = await exampleWatches();
  if (process.argv.includes('--check')) {
    const stale = set.watches.filter((w) => {
      try {
        return readFileSync(join(EXAMPLE_WATCHES_DIR, `${w.id}.json`), 'utf8') !== watchJson(w);
      } catch {
        return true;
      }
    });
    if (stale.length) {
      process.stderr.write(`stale: ${stale.map((w) => w.id).join(', ')}: run node --import tsx agent/assets/watches.ts\n`);
      process.exit(1);
    }
    process.stdout.write('kibana/watches is up to date\n');
  } else {
    for (const f of writeWatches(set.watches, EXAMPLE_WATCHES_DIR)) process.stdout.write(`wrote ${f}\n`);
    for (const w of set.warnings) process.stdout.write(`${w}\n`);
  }
}


