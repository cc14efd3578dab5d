/**
 * Verdict parity of the watch conditions with the agent: the same Elasticsearch response (in the
 * real format, with the aggregation names our bodies give) goes through the agent's parser and
 * evaluate.ts, and through the watch's condition script; both must say drifted or not alike.
 *
 * No Elasticsearch runs here, so the Painless is run by a line-for-line translation to JavaScript
 * (test/support/painless.ts). It checks the logic, not Painless' own parser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSearches, type EsJson } from '../backends/elasticsearch/body.ts';
import { evaluatePlan } from '../rules/evaluate.ts';
import { planRule, type Answers, type RulePlan } from '../rules/plan.ts';
import { RuleSchema, type Rule } from '../rules/schema.ts';
import type { ReferenceProfile } from '../reference/profile.ts';
import { generateWatch, type WatchBody } from './watches.ts';
import { SHIFT_FUNCTIONS_SOURCE } from './watch-scripts.ts';
import {
  chiSquareFromCounts, chiSquareSf, defaultMethod, DEFAULT_THRESHOLDS, DRIFT_METHODS, gammaincc, hellinger, hellingerFromCounts, histogramCounts,
  isDrifted, jensenShannonFromCounts, klDivergenceFromCounts, ks, ksStatisticSorted, lInfinity, lInfinityFromCounts, normalCdf, populationStd,
  psiFromCounts, referenceQuantileEdges, sturgesEdges, wassersteinNormed, zTestFromCounts,
} from '../stats/index.ts';
import { close, normal, rounded } from '../stats/test-data.ts';
import { painlessToJs } from '../../test/support/painless.ts';

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

// ---------------------------------------------------------------------------------------------
// distribution_shift: each Painless function, translated, against the agent/stats function it mirrors

type Fn = (...args: unknown[]) => unknown;
const P = painlessToJs(`${SHIFT_FUNCTIONS_SOURCE}\nreturn { log2: log2, sturges: sturges, hist: hist, gq: gq, chi2sf: chi2sf, ncdf: ncdf, score: score, pstd: pstd, wass: wass, ksD: ksD, kolm: kolm, hellNum: hellNum, linf: linf, dm: dm, drifted: drifted, kstr: kstr, getp: getp, vals: vals };`)(undefined, undefined) as Record<string, Fn>;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('distribution_shift Painless functions compute what agent/stats computes', () => {
  it('Sturges edges and histogram counts are bit for bit numpy\'s (as binning.ts), 1024 values giving 11 bins', () => {
    for (let size = 1; size <= 3000; size += size < 40 ? 1 : 37) {
      for (const [mn, mx] of [[0, 1], [-3.7, 12.25], [5, 5], [0.1, 0.30000000000000004], [-1e6, 2e6]] as const) {
        assert.deepEqual(P.sturges!(mn, mx, size), sturgesEdges(mn, mx, size), `size ${size} [${mn}, ${mx}]`);
      }
    }
    assert.equal((P.sturges!(0, 1, 1024) as number[]).length, 12);
    assert.equal(P.log2!(1024), 10);
    const xs = normal(7, 500, 2, 3);
    const e = sturgesEdges(Math.min(...xs), Math.max(...xs), 900);
    assert.deepEqual(P.hist!(xs, e), histogramCounts(xs, e));
    const q = referenceQuantileEdges(xs, 10);
    assert.deepEqual(P.hist!(normal(8, 300, 2.5, 3), q), histogramCounts(normal(8, 300, 2.5, 3), q), 'open outer edges (reference_quantiles)');
  });

  it('the regularized upper incomplete gamma, chi-square and normal tails match special.ts', () => {
    for (const a of [0.5, 1, 1.5, 2, 4.5, 10, 37.5, 200]) {
      for (const x of [0, 1e-8, 0.3, 1, 2.5, a, a + 1, 3 * a, 50, 400]) assert.ok(close(P.gq!(a, x) as number, gammaincc(a, x), 1e-12), `Q(${a}, ${x})`);
    }
    assert.ok(Number.isNaN(P.gq!(0, 0) as number));
    assert.equal(P.gq!(0, 3), 0);
    for (const df of [1, 2, 5, 19]) for (const x of [0, 0.5, 3.84, 11.07, 40]) assert.ok(close(P.chi2sf!(x, df) as number, chiSquareSf(x, df), 1e-12));
    for (const x of [-4, -1.96, 0, 0.5, 1.96, 6]) assert.ok(close(P.ncdf!(x) as number, normalCdf(x), 1e-12));
  });

  it('every counts-based score equals the agent\'s *FromCounts, categories and bins', () => {
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
    for (const cur of curMaps) {
      const { keys, rc, cc } = aligned(refMap, cur);
      const s = (m: string, o: { zero?: string; base?: string; out?: string } = {}) => P.score!(m, keys, rc, cc, false, o.zero ?? 'evidently', o.base ?? 'e', o.out ?? 'distance') as number;
      const label = JSON.stringify([...cur]);
      assert.ok(close(s('psi'), psiFromCounts(refMap, cur)), `psi ${label}`);
      assert.ok(close(s('psi', { zero: 'min_over_10' }), psiFromCounts(refMap, cur, { zeroFill: 'min_over_10' })), `psi min_over_10 ${label}`);
      assert.ok(close(s('kl_div'), klDivergenceFromCounts(refMap, cur)), `kl ${label}`);
      assert.ok(close(s('jensenshannon'), jensenShannonFromCounts(refMap, cur)), `js ${label}`);
      assert.ok(close(s('jensenshannon', { base: '2', out: 'divergence' }), jensenShannonFromCounts(refMap, cur, { base: 2, output: 'divergence' })), `js base 2 ${label}`);
      assert.ok(close(s('hellinger'), hellingerFromCounts(refMap, cur)), `hellinger ${label}`);
      assert.ok(close(s('l_infinity'), lInfinityFromCounts(refMap, cur)), `l_infinity ${label}`);
      assert.ok(close(s('chisquare'), chiSquareFromCounts(refMap, cur).pValue, 1e-9) || s('chisquare') === chiSquareFromCounts(refMap, cur).pValue, `chisquare ${label}`);
      assert.ok(close(s('z'), zTestFromCounts(refMap, cur).pValue), `z ${label}`);
    }
    // Two categories (z's domain), a key order that is not the sorted one, and the same single value on both sides.
    const r2 = new Map([['yes', 70], ['no', 930]]);
    const c2 = new Map([['no', 400], ['yes', 60]]);
    const a2 = aligned(r2, c2);
    assert.ok(close(P.score!('z', a2.keys, a2.rc, a2.cc, false, 'evidently', 'e', 'distance') as number, zTestFromCounts(r2, c2).pValue));
    assert.equal(P.score!('z', ['a'], [5], [7], false, 'evidently', 'e', 'distance'), 1);
    // Histogram bins: empty bins on both sides stay and are zero-filled.
    const rb = [0, 12, 40, 0, 33, 15];
    const cb = [3, 0, 25, 0, 50, 22];
    const idx = rb.map((_, i) => i);
    assert.ok(close(P.score!('psi', idx, rb, cb, true, 'evidently', 'e', 'distance') as number, psiFromCounts(rb, cb)));
    assert.ok(close(P.score!('kl_div', idx, rb, cb, true, 'evidently', 'e', 'distance') as number, klDivergenceFromCounts(rb, cb)));
    assert.ok(close(P.score!('jensenshannon', idx, rb, cb, true, 'evidently', 'e', 'distance') as number, jensenShannonFromCounts(rb, cb)));
  });

  it('raw-value statistics: normed Wasserstein, numeric Hellinger, L-infinity and the KS statistic', () => {
    for (const [ref, cur] of [
      [normal(1, 800), normal(2, 600, 0.3, 1.2)],
      [rounded(normal(3, 500), 4), rounded(normal(4, 450, 0.1), 4)], // many ties
      [[1, 1, 2, 2, 3], [2, 2, 2, 5]],
    ] as const) {
      const rs = sorted([...ref]);
      const cs = sorted([...cur]);
      assert.ok(close((P.wass!(rs, cs) as number) / Math.max(P.pstd!([...ref]) as number, 0.001), wassersteinNormed([...ref], [...cur])), 'wasserstein');
      assert.ok(close(P.pstd!([...ref]) as number, populationStd([...ref])));
      assert.ok(close(P.hellNum!(rs, cs) as number, hellinger([...ref], [...cur], { type: 'num' })), 'hellinger');
      assert.ok(close(P.linf!(rs, cs) as number, lInfinity([...ref], [...cur])), 'l_infinity');
      assert.equal(P.ksD!(rs, cs), ksStatisticSorted(Float64Array.from(rs), Float64Array.from(cs)), 'KS D');
    }
  });

  it('the asymptotic KS p-value is Kolmogorov\'s distribution, and close to the agent\'s exact one on large samples', () => {
    // scipy.special.kolmogorov(0.5), (1.0), (2.0)
    assert.ok(close(P.kolm!(0.5) as number, 0.9639452436648751, 1e-12));
    assert.ok(close(P.kolm!(1.0) as number, 0.26999967167735456, 1e-12));
    assert.ok(close(P.kolm!(2.0) as number, 0.0006709252557796953, 1e-10));
    assert.equal(P.kolm!(0.05), 1);
    assert.ok(Math.abs((P.kolm!(1 - 1e-9) as number) - (P.kolm!(1) as number)) < 1e-8, 'the two series meet at 1');
    for (const shift of [0, 0.05, 0.1, 0.2, 0.5]) {
      const ref = normal(11, 2000);
      const cur = normal(12, 1500, shift);
      const exact = ks(ref, cur);
      const d = P.ksD!(sorted(ref), sorted(cur)) as number;
      const p = P.kolm!(Math.sqrt((2000 * 1500) / 3500) * d) as number;
      assert.ok(Math.abs(p - exact.pValue) < 0.01, `shift ${shift}: asymptotic ${p}, exact ${exact.pValue}`);
      if (exact.pValue > 0.1 || exact.pValue < 0.01) assert.equal(P.drifted!('ks', p, 0.05), isDrifted('ks', exact.pValue, 0.05), `shift ${shift}`);
    }
  });

  it('route helpers: Evidently\'s default test, drift directions, bucket keys and _source paths as the agent reads them', () => {
    for (const [num, n, k] of [[true, 1000, 6], [true, 1000, 5], [false, 1000, 2], [false, 1001, 30], [true, 5000, 50], [true, 5000, 4]] as const) {
      assert.equal(P.dm!(num, n, k), defaultMethod(num ? 'num' : 'cat', n, k));
    }
    for (const m of DRIFT_METHODS) for (const v of [0.04, 0.05, 0.1, 0.2]) assert.equal(P.drifted!(m, v, DEFAULT_THRESHOLDS[m] === 0.05 ? 0.05 : 0.1), isDrifted(m, v, DEFAULT_THRESHOLDS[m] === 0.05 ? 0.05 : 0.1), `${m} ${v}`);
    assert.equal(P.drifted!('psi', NaN, 0.1), false);
    assert.deepEqual([{ key: 3 }, { key: 3.0 }, { key: 0.25 }, { key: 1, key_as_string: 'true' }, { key: 'DE' }].map((b) => P.kstr!(b)), ['3', '3', '0.25', 'true', 'DE']);
    const src = { features: { amount: 12.5, 'dist.km': 3 }, 'prediction.score': 0.7, model: { version: '1.4.2' } };
    assert.deepEqual(['features.amount', 'features.dist.km', 'prediction.score', 'model.version', 'features.none'].map((p) => P.getp!(src, p)), [12.5, 3, 0.7, '1.4.2', null]);
    const resp = { hits: { total: 3, hits: [{ _source: { x: 2, g: 'a' } }, { _source: { x: 1, g: 'a' } }, { _source: { x: 'NA', g: 'a' } }, { _source: { x: 5, g: 'b' } }] } };
    assert.deepEqual(P.vals!(resp, 'x', ['g'], { g: 'a' }), [1, 2]);
    assert.deepEqual(P.vals!(resp, 'x', [], {}), [1, 2, 5]);
  });
});
