/**
 * Verdict parity of the watch conditions with the agent: the same Elasticsearch response (in the
 * real format, with the aggregation names our bodies give) goes through the agent's parser and
 * evaluate.ts, and through the watch's condition script; both must say drifted or not alike.
 *
 * The Painless is compiled and executed by the real engine (`_scripts/painless/_execute`, context
 * painless_test, test/support/painless-engine.ts) with the watch's params and the response as
 * ctx.payload, as Watcher runs a condition and a transform.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSearches, type EsJson } from '../elasticsearch/body.ts';
import { evaluatePlan } from '../../rules/evaluate.ts';
import { planRule, type Answers, type RulePlan } from '../../rules/plan.ts';
import { RuleSchema, type Rule } from '../../rules/schema.ts';
import type { ReferenceProfile } from '../../reference/profile.ts';
import type { WatchBody } from './types.ts';
import { generateWatch } from './watch.ts';
import { SHIFT_FUNCTIONS_SOURCE } from './scripts.ts';
import {
  chiSquareFromCounts, chiSquareSf, defaultMethod, DEFAULT_THRESHOLDS, DRIFT_METHODS, gammaincc, hellinger, hellingerFromCounts, histogramCounts,
  isDrifted, jensenShannonFromCounts, klDivergenceFromCounts, ks, ksStatisticSorted, lInfinity, lInfinityFromCounts, normalCdf, populationStd,
  psiFromCounts, referenceQuantileEdges, sturgesEdges, wassersteinNormed, zTestFromCounts,
} from '../../stats/index.ts';
import { close, normal, rounded } from '../../../test/fixtures/stats-samples.ts';
import { testEngine } from '../../../test/support/engine.ts';
import { painlessCalls, runWatchScript } from '../../../test/support/painless-engine.ts';

const engine = await testEngine();

async function watchSays(body: WatchBody, payload: EsJson): Promise<{ met: boolean; breaches: EsJson[] }> {
  const scheduled = Date.parse('2024-05-01T12:05:00Z');
  const ctx = { payload, scheduledMs: scheduled };
  let met: boolean;
  const c = body.condition;
  if (c.script) met = (await runWatchScript(engine, c.script.source!, c.script.params as Record<string, unknown>, ctx)) as boolean;
  else if (c.compare) {
    const [path, ops] = Object.entries(c.compare)[0]!;
    const v = path.replace(/^ctx\.payload\./, '').split('.').reduce<unknown>((o, k) => (o as EsJson)[k], payload) as number;
    const [op, x] = Object.entries(ops!)[0]! as [string, number];
    met = op === 'lt' ? v < x : op === 'gt' ? v > x : op === 'gte' ? v >= x : op === 'lte' ? v <= x : v === x;
  } else throw new Error(`unexpected condition ${JSON.stringify(c)}`);
  const t = body.transform.script!;
  const out = (await runWatchScript(engine, t.source!, t.params as Record<string, unknown>, ctx)) as { breaches: EsJson[]; window_from: string; window_to: string };
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

async function both(r: Rule, responses: { cur: EsJson; ref?: EsJson }, p: ReferenceProfile | undefined = profile): Promise<{ agent: boolean; watch: boolean; breaches: EsJson[] }> {
  const plan = planRule(r, WINDOW, p, 0);
  const w = generateWatch(r, { notifiers: {}, ...(p ? { profile: p } : {}) });
  assert.equal(w.skipped, undefined, w.skipped);
  // Watcher's search input asks for rest_total_hits_as_int: hits.total is a number in the payload.
  const asInt = (x: EsJson): EsJson => ({ ...x, hits: { total: (x.hits as { total: { value: number } }).total.value, hits: [] } });
  const payload = responses.ref ? { current: asInt(responses.cur), reference: asInt(responses.ref) } : asInt(responses.cur);
  const watch = await watchSays(w.body, payload);
  return { agent: agentSays(plan, responses), watch: watch.met, breaches: watch.breaches };
}

const total = (n: number) => ({ total: { value: n, relation: 'eq' }, hits: [] });

describe('watch conditions decide what the agent decides', () => {
  it('volume: count bounds and the ratio to the same window a week earlier (chain input)', async () => {
    const r = rule({ type: 'volume', model: 'fraud', min_count: 50, reference: { offset: '7d' }, min_ratio: 0.5, max_ratio: 3 });
    for (const [cur, ref, drifted] of [[100, 100, false], [40, 45, true], [100, 250, true], [400, 100, true], [60, 0, true], [0, 0, true]] as const) {
      const v = await both(r, { cur: { hits: total(cur) }, ref: { hits: total(ref) } });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `count ${cur} vs reference ${ref}`);
    }
  });

  it('volume with one bound compiles to a compare on hits.total, and per segment to array_compare', async () => {
    const w = generateWatch(rule({ type: 'volume', model: 'fraud', min_count: 50 }), { notifiers: {} });
    assert.deepEqual(w.body.condition, { compare: { 'ctx.payload.hits.total': { lt: 50 } } });
    const v = await both(rule({ type: 'volume', model: 'fraud', min_count: 50 }), { cur: { hits: total(49) } });
    assert.deepEqual([v.agent, v.watch], [true, true]);
    const g = generateWatch(rule({ type: 'volume', model: 'fraud', max_count: 10, group_by: ['model.version'] }), { notifiers: {} });
    assert.deepEqual(g.body.condition, { array_compare: { 'ctx.payload.aggregations.seg0.buckets': { path: 'doc_count', gt: { quantifier: 'some', value: 10 } } } });
  });

  it('missing_spike per segment against the profile share, with the absolute floor and min_samples', async () => {
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
      const v = await both(r, { cur: resp(v1 as never, v2 as never) });
      assert.equal(v.agent, v.watch, `${JSON.stringify([v1, v2])}: agent ${v.agent}, watch ${v.watch}`);
      if (v1[2] !== 1) assert.equal(v.agent, drifted, JSON.stringify([v1, v2]));
    }
  });

  it('unseen_categories: share of values outside the reference set (terms lookup), with the top values in the message', async () => {
    const r = rule({ type: 'unseen_categories', model: 'fraud', version: '1.5.0', fields: ['country'], max_unseen_share: 0.01, min_samples: 10 });
    const resp = (present: number, unseen: number) => ({
      hits: total(present + 5),
      aggregations: { q1_present: { doc_count: present }, q1: { doc_count: unseen, values: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: unseen ? [{ key: 'XX', doc_count: unseen }] : [] } } },
    });
    for (const [present, unseen, drifted] of [[1000, 10, false], [1000, 11, true], [0, 0, false]] as const) {
      const v = await both(r, { cur: resp(present, unseen) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `${unseen} of ${present}`);
      if (drifted) assert.match(String(v.breaches[0]!.details), /XX \(11\)/);
    }
    // Without a profile the watch compiles the same search: the lookup names the version, not the values.
    assert.deepEqual(generateWatch(r, { notifiers: {} }).body.input, generateWatch(r, { notifiers: {}, profile }).body.input);
  });

  it('oov_rate: pooled OOV tokens over tokens', async () => {
    const r = rule({ type: 'oov_rate', model: 'fraud', fields: ['note'], max_oov_share: 0.08, min_samples: 1 });
    const resp = (tokens: number, oov: number) => ({
      hits: total(100),
      aggregations: { q1_docs: { doc_count: 90 }, q1_tokens: { value: tokens }, q1_oov: { value: oov }, q2: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 'sus', doc_count: 7 }] } },
    });
    for (const [tokens, oov, drifted] of [[1000, 80, false], [1000, 81, true], [0, 0, false]] as const) {
      const v = await both(r, { cur: resp(tokens, oov) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `${oov} of ${tokens}`);
    }
  });

  it('prediction_stats: bounds on mean, std, p99, and the mean within k standard errors of the profile', async () => {
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
      const v = await both(r, { cur: resp(...(args as unknown as [number, number, number, number])) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], JSON.stringify(args));
    }
  });

  it('prediction_stats against a live segment reference reads the reference mean from the second search', async () => {
    const r = rule({ type: 'prediction_stats', model: 'fraud', version: '1.5.0', fields: ['prediction.score'], min_samples: 10, reference: { segment: { 'model.version': '1.4.2' } }, reference_mean_k: 3 });
    const st = (count: number, mean: number) => ({ hits: total(count), aggregations: { q1: { count, min: 0, max: 1, sum: mean * count, sum_of_squares: count * (0.01 + mean * mean) } } });
    for (const [m, drifted] of [[0.031, false], [0.05, true]] as const) {
      const v = await both(r, { cur: st(1000, m), ref: st(1000, 0.03) });
      assert.deepEqual([v.agent, v.watch], [drifted, drifted], `mean ${m}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// distribution_shift: each Painless function, run by the engine, against the agent/stats function it mirrors

/** Calls one Painless function of the shift scripts on the engine, once per argument list. */
// ±Infinity and NaN cannot travel in JSON params: these two make them in Painless, as the watch does.
const TEST_HELPERS = `
List histOpen(List xs, List inner) { List e = [Double.NEGATIVE_INFINITY]; e.addAll(inner); e.add(Double.POSITIVE_INFINITY); return hist(xs, e); }
boolean driftedNaN(String m, double t) { return drifted(m, Double.NaN, t); }
`;
const call = (fn: string, calls: unknown[][]): Promise<unknown[]> => painlessCalls(engine, SHIFT_FUNCTIONS_SOURCE + TEST_HELPERS, fn, calls);
const one = async (fn: string, ...args: unknown[]): Promise<unknown> => (await call(fn, [args]))[0];

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('distribution_shift Painless functions compute what agent/stats computes', () => {
  it('Sturges edges and histogram counts are bit for bit numpy\'s (as binning.ts), 1024 values giving 11 bins', async () => {
    const calls: [number, number, number][] = [];
    for (let size = 1; size <= 3000; size += size < 40 ? 1 : 37) {
      for (const [mn, mx] of [[0, 1], [-3.7, 12.25], [5, 5], [0.1, 0.30000000000000004], [-1e6, 2e6]] as const) calls.push([mn, mx, size]);
    }
    const got = await call('sturges', calls);
    calls.forEach(([mn, mx, size], k) => assert.deepEqual(got[k], sturgesEdges(mn, mx, size), `size ${size} [${mn}, ${mx}]`));
    assert.equal((await one('sturges', 0, 1, 1024) as number[]).length, 12);
    assert.equal(await one('log2', 1024), 10);
    const xs = normal(7, 500, 2, 3);
    const e = sturgesEdges(Math.min(...xs), Math.max(...xs), 900);
    const q = referenceQuantileEdges(xs, 10);
    const [h1] = await call('hist', [[xs, e]]);
    const [h2] = await call('histOpen', [[normal(8, 300, 2.5, 3), q.slice(1, -1)]]);
    assert.deepEqual(h1, histogramCounts(xs, e));
    assert.deepEqual(h2, histogramCounts(normal(8, 300, 2.5, 3), q), 'open outer edges (reference_quantiles)');
  });

  it('the regularized upper incomplete gamma, chi-square and normal tails match special.ts', async () => {
    const gq: [number, number][] = [];
    for (const a of [0.5, 1, 1.5, 2, 4.5, 10, 37.5, 200]) for (const x of [0, 1e-8, 0.3, 1, 2.5, a, a + 1, 3 * a, 50, 400]) gq.push([a, x]);
    const g = await call('gq', [...gq, [0, 0], [0, 3]]);
    gq.forEach(([a, x], k) => assert.ok(close(g[k] as number, gammaincc(a, x), 1e-12), `Q(${a}, ${x})`));
    assert.ok(Number.isNaN(g[gq.length] as number));
    assert.equal(g[gq.length + 1], 0);
    const chi: [number, number][] = [];
    for (const df of [1, 2, 5, 19]) for (const x of [0, 0.5, 3.84, 11.07, 40]) chi.push([x, df]);
    const c = await call('chi2sf', chi);
    chi.forEach(([x, df], k) => assert.ok(close(c[k] as number, chiSquareSf(x, df), 1e-12)));
    const zs = [-4, -1.96, 0, 0.5, 1.96, 6];
    const n = await call('ncdf', zs.map((x) => [x]));
    zs.forEach((x, k) => assert.ok(close(n[k] as number, normalCdf(x), 1e-12)));
  });

  it('every counts-based score equals the agent\'s *FromCounts, categories and bins', async () => {
    const refMap = new Map([['DE', 600], ['US', 380], ['FR', 15], ['IT', 5]]);
    const curMaps = [
      new Map([['DE', 290], ['US', 200], ['FR', 9], ['IT', 1]]), // close to the reference
      new Map([['DE', 100], ['US', 300], ['XX', 80], ['FR', 20]]), // a new category, IT gone
      new Map([['DE', 500]]),
    ];
    const aligned = (ref: Map<string, number>, cur: Map<string, number>) => {
      const keys = [...new Set([...ref.keys(), ...cur.keys()])];
      return { keys, rc: keys.map((k) => ref.get(k) ?? 0), cc: keys.map((k) => cur.get(k) ?? 0) };
    };
    const calls: unknown[][] = [];
    const want: { label: string; v: number; tol?: number }[] = [];
    const add = (args: unknown[], v: number, label: string, tol?: number) => { calls.push(args); want.push({ label, v, ...(tol ? { tol } : {}) }); };
    for (const cur of curMaps) {
      const { keys, rc, cc } = aligned(refMap, cur);
      const a = (m: string, o: { zero?: string; base?: string; out?: string } = {}) => [m, keys, rc, cc, false, o.zero ?? 'evidently', o.base ?? 'e', o.out ?? 'distance'];
      const label = JSON.stringify([...cur]);
      add(a('psi'), psiFromCounts(refMap, cur), `psi ${label}`);
      add(a('psi', { zero: 'min_over_10' }), psiFromCounts(refMap, cur, { zeroFill: 'min_over_10' }), `psi min_over_10 ${label}`);
      add(a('kl_div'), klDivergenceFromCounts(refMap, cur), `kl ${label}`);
      add(a('jensenshannon'), jensenShannonFromCounts(refMap, cur), `js ${label}`);
      add(a('jensenshannon', { base: '2', out: 'divergence' }), jensenShannonFromCounts(refMap, cur, { base: 2, output: 'divergence' }), `js base 2 ${label}`);
      add(a('hellinger'), hellingerFromCounts(refMap, cur), `hellinger ${label}`);
      add(a('l_infinity'), lInfinityFromCounts(refMap, cur), `l_infinity ${label}`);
      add(a('chisquare'), chiSquareFromCounts(refMap, cur).pValue, `chisquare ${label}`, 1e-9);
      add(a('z'), zTestFromCounts(refMap, cur).pValue, `z ${label}`);
    }
    // Two categories (z's domain), a key order that is not the sorted one, and the same single value on both sides.
    const r2 = new Map([['yes', 70], ['no', 930]]);
    const c2 = new Map([['no', 400], ['yes', 60]]);
    const a2 = aligned(r2, c2);
    add(['z', a2.keys, a2.rc, a2.cc, false, 'evidently', 'e', 'distance'], zTestFromCounts(r2, c2).pValue, 'z two categories');
    add(['z', ['a'], [5], [7], false, 'evidently', 'e', 'distance'], 1, 'z one value');
    // Histogram bins: empty bins on both sides stay and are zero-filled.
    const rb = [0, 12, 40, 0, 33, 15];
    const cb = [3, 0, 25, 0, 50, 22];
    const idx = rb.map((_, i) => i);
    add(['psi', idx, rb, cb, true, 'evidently', 'e', 'distance'], psiFromCounts(rb, cb), 'psi bins');
    add(['kl_div', idx, rb, cb, true, 'evidently', 'e', 'distance'], klDivergenceFromCounts(rb, cb), 'kl bins');
    add(['jensenshannon', idx, rb, cb, true, 'evidently', 'e', 'distance'], jensenShannonFromCounts(rb, cb), 'js bins');
    const got = await call('score', calls);
    want.forEach((w, k) => assert.ok(close(got[k] as number, w.v, w.tol) || got[k] === w.v, `${w.label}: engine ${got[k]}, agent ${w.v}`));
  });

  it('raw-value statistics: normed Wasserstein, numeric Hellinger, L-infinity and the KS statistic', async () => {
    for (const [ref, cur] of [
      [normal(1, 800), normal(2, 600, 0.3, 1.2)],
      [rounded(normal(3, 500), 4), rounded(normal(4, 450, 0.1), 4)], // many ties
      [[1, 1, 2, 2, 3], [2, 2, 2, 5]],
    ] as const) {
      const rs = sorted([...ref]);
      const cs = sorted([...cur]);
      const [w] = await call('wass', [[rs, cs]]);
      const [sd] = await call('pstd', [[[...ref]]]);
      const [h] = await call('hellNum', [[rs, cs]]);
      const [l] = await call('linf', [[rs, cs]]);
      const [d] = await call('ksD', [[rs, cs]]);
      assert.ok(close((w as number) / Math.max(sd as number, 0.001), wassersteinNormed([...ref], [...cur])), 'wasserstein');
      assert.ok(close(sd as number, populationStd([...ref])));
      assert.ok(close(h as number, hellinger([...ref], [...cur], { type: 'num' })), 'hellinger');
      assert.ok(close(l as number, lInfinity([...ref], [...cur])), 'l_infinity');
      assert.equal(d, ksStatisticSorted(Float64Array.from(rs), Float64Array.from(cs)), 'KS D');
    }
  });

  it('the asymptotic KS p-value is Kolmogorov\'s distribution, and close to the agent\'s exact one on large samples', async () => {
    const k = await call('kolm', [[0.5], [1.0], [2.0], [0.05], [1 - 1e-9], [1]]);
    // scipy.special.kolmogorov(0.5), (1.0), (2.0)
    assert.ok(close(k[0] as number, 0.9639452436648751, 1e-12));
    assert.ok(close(k[1] as number, 0.26999967167735456, 1e-12));
    assert.ok(close(k[2] as number, 0.0006709252557796953, 1e-10));
    assert.equal(k[3], 1);
    assert.ok(Math.abs((k[4] as number) - (k[5] as number)) < 1e-8, 'the two series meet at 1');
    for (const shift of [0, 0.05, 0.1, 0.2, 0.5]) {
      const ref = normal(11, 2000);
      const cur = normal(12, 1500, shift);
      const exact = ks(ref, cur);
      const d = (await call('ksD', [[sorted(ref), sorted(cur)]]))[0] as number;
      const p = (await call('kolm', [[Math.sqrt((2000 * 1500) / 3500) * d]]))[0] as number;
      assert.ok(Math.abs(p - exact.pValue) < 0.01, `shift ${shift}: asymptotic ${p}, exact ${exact.pValue}`);
      if (exact.pValue > 0.1 || exact.pValue < 0.01) assert.equal((await call('drifted', [['ks', p, 0.05]]))[0], isDrifted('ks', exact.pValue, 0.05), `shift ${shift}`);
    }
  });

  it('route helpers: Evidently\'s default test, drift directions, bucket keys and _source paths as the agent reads them', async () => {
    const dms = [[true, 1000, 6], [true, 1000, 5], [false, 1000, 2], [false, 1001, 30], [true, 5000, 50], [true, 5000, 4]] as const;
    const dm = await call('dm', dms.map((x) => [...x]));
    dms.forEach(([num, n, kk], i) => assert.equal(dm[i], defaultMethod(num ? 'num' : 'cat', n, kk)));
    const dr: [string, number, number][] = [];
    for (const m of DRIFT_METHODS) for (const v of [0.04, 0.05, 0.1, 0.2]) dr.push([m, v, DEFAULT_THRESHOLDS[m] === 0.05 ? 0.05 : 0.1]);
    const drs = await call('drifted', dr);
    dr.forEach(([m, v, t], i) => assert.equal(drs[i], isDrifted(m as never, v, t), `${m} ${v}`));
    assert.equal(await one('driftedNaN', 'psi', 0.1), false);
    assert.deepEqual(await call('kstr', [[{ key: 3 }], [{ key: 3.0 }], [{ key: 0.25 }], [{ key: 1, key_as_string: 'true' }], [{ key: 'DE' }]]), ['3', '3', '0.25', 'true', 'DE']);
    const src = { features: { amount: 12.5, 'dist.km': 3 }, 'prediction.score': 0.7, model: { version: '1.4.2' } };
    assert.deepEqual(await call('getp', ['features.amount', 'features.dist.km', 'prediction.score', 'model.version', 'features.none'].map((p) => [src, p])), [12.5, 3, 0.7, '1.4.2', null]);
    const resp = { hits: { total: 3, hits: [{ _source: { x: 2, g: 'a' } }, { _source: { x: 1, g: 'a' } }, { _source: { x: 'NA', g: 'a' } }, { _source: { x: 5, g: 'b' } }] } };
    assert.deepEqual(await call('vals', [[resp, 'x', ['g'], { g: 'a' }], [resp, 'x', [], {}]]), [[1, 2], [1, 2, 5]]);
  });
});
