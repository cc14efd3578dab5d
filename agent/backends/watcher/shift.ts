/**
 * distribution_shift in a watch: a watch has one round of searches where the agent may need two
 * (phase 2: range bins once the current min/max are known, or raw values once a live reference
 * decided the route), so its chain adds the agent's raw-value search (`values_<k>`, the body
 * planRule gives a values query) for binned and raw-value fields, and the script bins those values
 * itself (scripts.ts); where the watch must differ from the agent (KS' asymptotic p-value, bin
 * counts from at most 10,000 values) metadata.driftbeat.notes says so. Pure.
 */
import { MAX_RESULT_WINDOW } from '../elasticsearch/body.ts';
import { DEFAULT_TERMS_SIZE, DEFAULT_VALUES_LIMIT, queryId, type FieldPlan, type Query, type RulePlan } from '../../rules/plan.ts';
import type { DistributionShiftRule } from '../../rules/schema.ts';
import { DEFAULT_THRESHOLDS, referenceQuantileEdges } from '../../stats/index.ts';
import type { ConditionParts, PartsInput } from './conditions.ts';

/** Raw values a distribution_shift watch fetches: binned and raw-value fields, and undecided ones. */
export interface ValuesInput {
  name: string;
  field: string;
  side: 'cur' | 'ref';
  query: Query;
}

/** Per side the agent's values search (the body planRule / planPhase2 give a values query). */
export function shiftValuesInputs(plan: RulePlan): ValuesInput[] {
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

export function shiftParts(rule: DistributionShiftRule, { plan, ok, cur, ref, live, name }: PartsInput, parts: ConditionParts): void {
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
