/**
 * Verdict parity of the watch conditions with the agent: the same Elasticsearch response (in the
 * real format, with the aggregation names our bodies give) goes through the agent's parser and
 * evaluate.ts, and through the watch's condition script; both must say drifted or not alike.
 *
 * No Elasticsearch runs here, so the Painless is run by a line-for-line translation to JavaScript
 * of the small dialect watch-scripts.ts is written in (typed declarations, list/map literals,
 * for-each, a few java.lang calls). It checks the logic, not Painless' own parser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSearches, type EsJson } from '../backends/elasticsearch/body.ts';
import { evaluatePlan } from '../rules/evaluate.ts';
import { planRule, type Answers, type RulePlan } from '../rules/plan.ts';
import { RuleSchema, type Rule } from '../rules/schema.ts';
import type { ReferenceProfile } from '../reference/profile.ts';
import { generateWatch, type WatchBody } from './watches.ts';

/** Painless (watch-scripts.ts' subset) -> a JavaScript function (ctx, params). */
export function painlessToJs(src: string): (ctx: unknown, params: unknown) => unknown {
  const TYPES = '(?:String|int|long|double|boolean|def|List|Map)';
  let js = src
    .replace(new RegExp(`^${TYPES} (\\w+)\\(([^)]*)\\) \\{`, 'gm'), (_m, name: string, args: string) =>
      `function ${name}(${args.split(',').map((a) => a.trim().split(' ').pop()).join(', ')}) {`)
    .replace(new RegExp(`for \\(${TYPES} (\\w+) : `, 'g'), 'for (let $1 of ')
    .replace(new RegExp(`\\b${TYPES} (\\w+)( =|;)`, 'g'), 'let $1$2')
    .replace(/\((?:double|long)\) /g, '')
    .replace(/new HashMap\(([^)]+)\)/g, 'Object.assign({}, $1)')
    .replace(/new HashMap\(\)/g, '{}')
    .replace(/(\w+)\.put\(([^,]+), ([^)]+)\)/g, '$1[$2] = $3')
    .replace(/\.size\(\)/g, '.length')
    .replace(/\.isEmpty\(\)/g, '.length === 0')
    .replace(/\.add\(/g, '.push(')
    .replace(/\.contains\(/g, '.includes(')
    .replace(/\[('\w+':[^;]*)\];/g, '{$1};')
    .replace(/Double\.POSITIVE_INFINITY/g, 'Infinity')
    .replace(/Double\.NaN/g, 'NaN')
    .replace(/Double\.isNaN\(/g, 'Number.isNaN(')
    .replace(/Double\.isInfinite\(/g, '!Number.isFinite(')
    .replace(/Instant\.ofEpochMilli\(([^)]*)\)\.toString\(\)/g, 'new Date($1).toISOString()');
  js = `"use strict";\n${js}`;
  return new Function('ctx', 'params', js) as (ctx: unknown, params: unknown) => unknown;
}

function watchSays(body: WatchBody, payload: EsJson): { met: boolean; breaches: EsJson[] } {
  const scheduled = Date.parse('2024-05-01T12:05:00Z');
  const ctx = { payload, trigger: { scheduled_time: { toInstant: () => ({ toEpochMilli: () => scheduled }) } } };
  let met: boolean;
  const c = body.condition;
  if (c.script) met = painlessToJs(c.script.source!)(ctx, c.script.params) as boolean;
  else if (c.compare) {
    const [path, ops] = Object.entries(c.compare)[0]!;
    const v = path.replace(/^ctx\.payload\./, '').split('.').reduce<unknown>((o, k) => (o as EsJson)[k], payload) as number;
    const [op, x] = Object.entries(ops!)[0]! as [string, number];
    met = op === 'lt' ? v < x : op === 'gt' ? v > x : op === 'gte' ? v >= x : op === 'lte' ? v <= x : v === x;
  } else throw new Error(`unexpected condition ${JSON.stringify(c)}`);
  const t = body.transform.script!;
  const out = painlessToJs(t.source!)(ctx, t.params) as { breaches: EsJson[]; window_from: string; window_to: string };
  assert.equal(out.breaches.length > 0, met, 'the transform finds breaches exactly when the condition is met');
  return { met, breaches: out.breaches };
}

const WINDOW = { from: '2024-05-01T11:00:00.000Z', to: '2024-05-01T12:00:00.000Z' };

function rule(yaml: Record<string, unknown>): Rule {
  const r = RuleSchema.parse({ schedule: '5 * * * *', window: '1h', delay: '5m', ...yaml });
  return { name: 'r', source: { file: 'r.yml', line: 1, col: 1 }, ...r } as Rule;
}

const profile: ReferenceProfile = {
  model: 'fraud', version: '1.5.0', built_at: '2024-04-01T00:00:00.000Z', source: { path: 'train.csv', rows: 1000, format: 'csv' },
  fields: [
    { model: 'fraud', version: '1.5.0', field: 'features.country', kind: 'feature', type: 'cat', count: 1000, missing_count: 20, missing_share: 0.02, distinct_count: 2, categories: [{ value: 'DE', count: 600 }, { value: 'US', count: 380 }] },
    { model: 'fraud', version: '1.5.0', field: 'features.amount', kind: 'feature', type: 'num', count: 1000, missing_count: 0, missing_share: 0, distinct_count: 900, numeric: { min: 0, max: 100, mean: 40, std: 10, quantiles: {} } },
    { model: 'fraud', version: '1.5.0', field: 'prediction.score', kind: 'prediction', type: 'num', count: 1000, missing_count: 0, missing_share: 0, distinct_count: 1000, numeric: { min: 0, max: 1, mean: 0.03, std: 0.1, quantiles: {} } },
    { model: 'fraud', version: '1.5.0', field: 'text.note', kind: 'text', type: 'text', count: 1000, missing_count: 0, missing_share: 0, distinct_count: 500, vocabulary: [{ token: 'refund', count: 10 }] },
  ],
};

/** Agent verdict: the agent's own parser over the responses, then evaluate.ts. */
function agentSays(plan: RulePlan, responses: { cur: EsJson; ref?: EsJson }): boolean {
  const answers: Answers = new Map();
  for (const side of ['cur', 'ref'] as const) {
    const resp = responses[side];
    if (!resp) continue;
    const qs = plan.phase1.filter((q) => q.id.split('/')[1] === side);
    for (const s of compileSearches(qs)) for (const [k, v] of s.parse(resp)) answers.set(k, v);
  }
  const results = evaluatePlan(plan, answers);
  assert.ok(results.every((r) => r.status !== 'error'), JSON.stringify(results.filter((r) => r.status === 'error')));
  return results.some((r) => r.drifted);
}

function both(r: Rule, responses: { cur: EsJson; ref?: EsJson }, p: ReferenceProfile | undefined = profile): { agent: boolean; watch: boolean; breaches: EsJson[] } {
  const plan = planRule(r, WINDOW, p, 0);
  const w = generateWatch(r, { notifiers: {}, ...(p ? { profile: p } : {}) });
  assert.equal(w.skipped, undefined, w.skipped);
  // Watcher's search input asks for rest_total_hits_as_int: hits.total is a number in the payload.
  const asInt = (x: EsJson): EsJson => ({ ...x, hits: { total: (x.hits as { total: { value: number } }).total.value, hits: [] } });
  const payload = responses.ref ? { current: asInt(responses.cur), reference: asInt(responses.ref) } : asInt(responses.cur);
  const watch = watchSays(w.body, payload);
  return { agent: agentSays(plan, responses), watch: watch.met, breaches: watch.breaches };
}

const total = (n: number) => ({ total: { value: n, relation: 'eq' }, hits: [] });

describe('watch conditions decide what the agent decides', () => {
  it('volume: count bounds and the ratio to the same window a week earlier (chain input)', () => {
    const r = rule({ type: 'volume', model: 'fraud', min_count: 50, reference: { offset: '7d' }, min_ratio: 0.5, max_ratio: 3 });
    for (const [cur, ref, drifted] of [[100, 100, false], [40, 45, true], [100, 250, true], [400, 100, true], [60, 0, true], [0, 0, true]] as const) {
      const v = both(r, { cur: { hits: total(cur) }, ref: { hits: total(ref) } });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `count ${cur} vs reference ${ref}`);
    }
  });

  it('volume with one bound compiles to a compare on hits.total, and per segment to array_compare', () => {
    const w = generateWatch(rule({ type: 'volume', model: 'fraud', min_count: 50 }), { notifiers: {} });
    assert.deepEqual(w.body.condition, { compare: { 'ctx.payload.hits.total': { lt: 50 } } });
    const v = both(rule({ type: 'volume', model: 'fraud', min_count: 50 }), { cur: { hits: total(49) } });
    assert.deepEqual([v.agent, v.watch], [true, true]);
    const g = generateWatch(rule({ type: 'volume', model: 'fraud', max_count: 10, group_by: ['model.version'] }), { notifiers: {} });
    assert.deepEqual(g.body.condition, { array_compare: { 'ctx.payload.aggregations.seg0.buckets': { path: 'doc_count', gt: { quantifier: 'some', value: 10 } } } });
  });

  it('missing_spike per segment against the profile share, with the absolute floor and min_samples', () => {
    const r = rule({ type: 'missing_spike', model: 'fraud', fields: ['country', 'amount'], group_by: ['model.version'], min_samples: 100, min_absolute_increase: 0.02 });
    const resp = (v1: [number, number, number], v2: [number, number, number]) => ({
      hits: total(v1[0] + v2[0]),
      aggregations: { seg0: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [v1, v2].map(([n, country, amount], i) => ({
        key: i === 0 ? '1.4.2' : '1.5.0', doc_count: n,
        q1: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 'country', doc_count: country }, { key: 'amount', doc_count: amount }].filter((b) => b.doc_count > 0) },
      })) } },
    });
    // reference share of country 0.02: threshold 0.022 and at least 0.04 to count (floor 0.02).
    for (const [v1, v2, drifted] of [
      [[1000, 30, 0], [1000, 20, 0], false], // 0.03 > 0.022 but only 0.01 above: not drifted
      [[1000, 45, 0], [1000, 20, 0], true], // 0.045: drifted in 1.4.2
      [[1000, 0, 1], [1000, 0, 0], true], // amount had no NA in training: any NA drifts (floor 0.02 not reached -> not drifted)
      [[50, 45, 0], [1000, 0, 0], false], // 1.4.2 below min_samples: no verdict
    ] as const) {
      const v = both(r, { cur: resp(v1 as never, v2 as never) });
      assert.equal(v.agent, v.watch, `${JSON.stringify([v1, v2])}: agent ${v.agent}, watch ${v.watch}`);
      if (v1[2] !== 1) assert.equal(v.agent, drifted, JSON.stringify([v1, v2]));
    }
  });

  it('unseen_categories: share of values outside the reference set (terms lookup), with the top values in the message', () => {
    const r = rule({ type: 'unseen_categories', model: 'fraud', version: '1.5.0', fields: ['country'], max_unseen_share: 0.01, min_samples: 10 });
    const resp = (present: number, unseen: number) => ({
      hits: total(present + 5),
      aggregations: { q1_present: { doc_count: present }, q1: { doc_count: unseen, values: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: unseen ? [{ key: 'XX', doc_count: unseen }] : [] } } },
    });
    for (const [present, unseen, drifted] of [[1000, 10, false], [1000, 11, true], [0, 0, false]] as const) {
      const v = both(r, { cur: resp(present, unseen) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `${unseen} of ${present}`);
      if (drifted) assert.match(String(v.breaches[0]!.details), /XX \(11\)/);
    }
    // Without a profile the watch compiles the same search: the lookup names the version, not the values.
    assert.deepEqual(generateWatch(r, { notifiers: {} }).body.input, generateWatch(r, { notifiers: {}, profile }).body.input);
  });

  it('oov_rate: pooled OOV tokens over tokens', () => {
    const r = rule({ type: 'oov_rate', model: 'fraud', fields: ['note'], max_oov_share: 0.08, min_samples: 1 });
    const resp = (tokens: number, oov: number) => ({
      hits: total(100),
      aggregations: { q1_docs: { doc_count: 90 }, q1_tokens: { value: tokens }, q1_oov: { value: oov }, q2: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 'sus', doc_count: 7 }] } },
    });
    for (const [tokens, oov, drifted] of [[1000, 80, false], [1000, 81, true], [0, 0, false]] as const) {
      const v = both(r, { cur: resp(tokens, oov) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `${oov} of ${tokens}`);
    }
  });

  it('prediction_stats: bounds on mean, std, p99, and the mean within k standard errors of the profile', () => {
    const r = rule({ type: 'prediction_stats', model: 'fraud', fields: ['prediction.score'], min_samples: 10, stats: { mean: { min: 0.005, max: 0.08 }, p99: { max: 0.98 }, std: { max: 0.3 } }, reference_mean_k: 4 });
    const resp = (count: number, mean: number, sd: number, p99: number) => {
      const sum = mean * count;
      // sample std -> sum of squares: var_pop = sd^2 (n-1)/n
      const sumsq = count * (sd * sd * (count - 1) / count + mean * mean);
      return { hits: total(count), aggregations: { q1: { count, min: 0, max: 1, avg: mean, sum, sum_of_squares: sumsq, variance: 0, std_deviation: 0 }, q2: { values: { '99.0': p99 } } } };
    };
    for (const [args, drifted] of [
      [[1000, 0.03, 0.1, 0.9], false],
      [[1000, 0.09, 0.1, 0.9], true], // mean above 0.08
      [[1000, 0.03, 0.1, 0.99], true], // p99 above 0.98
      [[1000, 0.03, 0.35, 0.9], true], // std above 0.3
      [[1000, 0.045, 0.1, 0.9], true], // 0.015 from 0.03 > 4 * 0.1 / sqrt(1000) = 0.0126
      [[100, 0.045, 0.1, 0.9], false], // 4 * 0.1 / 10 = 0.04: within
    ] as const) {
      const v = both(r, { cur: resp(...(args as unknown as [number, number, number, number])) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], JSON.stringify(args));
    }
  });

  it('prediction_stats against a live segment reference reads the reference mean from the second search', () => {
    const r = rule({ type: 'prediction_stats', model: 'fraud', version: '1.5.0', fields: ['prediction.score'], min_samples: 10, reference: { segment: { 'model.version': '1.4.2' } }, reference_mean_k: 3 });
    const st = (count: number, mean: number) => ({ hits: total(count), aggregations: { q1: { count, min: 0, max: 1, sum: mean * count, sum_of_squares: count * (0.01 + mean * mean) } } });
    for (const [m, drifted] of [[0.031, false], [0.05, true]] as const) {
      const v = both(r, { cur: st(1000, m), ref: st(1000, 0.03) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `mean ${m}`);
    }
  });
});
