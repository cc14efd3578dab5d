import { test } from 'node:test';
import assert from 'node:assert/strict';
import { driftTest, defaultMethod, isDrifted, DEFAULT_THRESHOLDS, seededSample, SeededReservoir, ks, type DriftMethod } from './index.ts';
import { normal, repeat } from '../../test/fixtures/stats-samples.ts';

const cycle = <T>(values: T[], n: number): T[] => Array.from({ length: n }, (_, i) => values[i % values.length]!);

test('auto routing follows Evidently\'s _get_default_stattest on every branch', () => {
  const cases: Array<[string, 'num' | 'cat', unknown[], unknown[], DriftMethod]> = [
    ['num, n_ref <= 1000, > 5 values', 'num', normal(1, 200), normal(2, 100), 'ks'],
    ['num, n_ref == 1000 takes the small branch', 'num', normal(1, 1000), normal(2, 100), 'ks'],
    ['num, 3..5 values', 'num', cycle([1, 2, 3, 4, 5], 200), cycle([1, 2, 3], 50), 'chisquare'],
    ['num, <= 2 values', 'num', cycle([0, 1], 200), cycle([1], 50), 'z'],
    ['cat, > 2 values', 'cat', cycle(['a', 'b', 'c'], 300), cycle(['a', 'b'], 60), 'chisquare'],
    ['cat, 2 values', 'cat', cycle(['a', 'b'], 300), cycle(['a'], 60), 'z'],
    ['num, n_ref > 1000, > 5 values', 'num', normal(1, 1001), normal(2, 100), 'wasserstein'],
    ['num, n_ref > 1000, <= 5 values', 'num', cycle([1, 2, 3, 4, 5], 1001), cycle([1, 2], 50), 'jensenshannon'],
    ['cat, n_ref > 1000', 'cat', cycle(['a', 'b', 'c'], 1001), cycle(['a', 'b', 'c', 'd'], 50), 'jensenshannon'],
    ['cat, n_ref > 1000, 2 values', 'cat', cycle(['a', 'b'], 2000), cycle(['a'], 50), 'jensenshannon'],
  ];
  for (const [name, type, ref, cur, expected] of cases) {
    const r = driftTest(ref as number[], cur as number[], { type });
    assert.equal(r.method, expected, name);
    assert.equal(r.threshold, DEFAULT_THRESHOLDS[expected], name);
  }
  // The distinct count is taken after dropping missing values: [1, 2, NaN, null] has 2 values -> z.
  assert.equal(driftTest([1, 2, Number.NaN, null, 1], [2, 1], { type: 'num' }).method, 'z');
  // n_ref counts present values only: 1001 rows of which 2 are null -> 999 -> small branch.
  const ref = [...normal(3, 999), null, Number.NaN];
  assert.equal(driftTest(ref, normal(4, 10), { type: 'num' }).method, 'ks');
  assert.equal(defaultMethod('num', 1000, 6), 'ks');
  assert.equal(defaultMethod('num', 1001, 6), 'wasserstein');
});

test('default thresholds and comparison directions are Evidently\'s (and TFDV\'s for L-infinity)', () => {
  assert.deepEqual(
    { ks: DEFAULT_THRESHOLDS.ks, chisquare: DEFAULT_THRESHOLDS.chisquare, z: DEFAULT_THRESHOLDS.z, psi: DEFAULT_THRESHOLDS.psi, l_infinity: DEFAULT_THRESHOLDS.l_infinity },
    { ks: 0.05, chisquare: 0.05, z: 0.05, psi: 0.1, l_infinity: 0.1 },
  );
  // At the threshold exactly: KS drifts (p <= thr), chi-square and Z do not (p < thr),
  // distances drift (>= thr), L-infinity does not (TFDV fires on > thr).
  assert.equal(isDrifted('ks', 0.05, 0.05), true);
  assert.equal(isDrifted('chisquare', 0.05, 0.05), false);
  assert.equal(isDrifted('z', 0.05, 0.05), false);
  for (const m of ['wasserstein', 'psi', 'kl_div', 'jensenshannon', 'hellinger'] as const) assert.equal(isDrifted(m, 0.1, 0.1), true, m);
  assert.equal(isDrifted('l_infinity', 0.1, 0.1), false);
  assert.equal(isDrifted('l_infinity', 0.1000001, 0.1), true);

  // End to end with a threshold equal to the score.
  const ref = normal(5, 300);
  const cur = normal(6, 200, 0.25);
  const p = ks(ref, cur).pValue;
  assert.equal(driftTest(ref, cur, { type: 'num', threshold: p }).drifted, true);
  const psiScore = driftTest(ref, cur, { type: 'num', method: 'psi' }).score;
  assert.equal(driftTest(ref, cur, { type: 'num', method: 'psi', threshold: psiScore }).drifted, true);
  assert.equal(driftTest(ref, cur, { type: 'num', method: 'psi', threshold: psiScore * 1.01 }).drifted, false);
});

test('a drifted column is reported drifted and a stable one is not', () => {
  const shifted = driftTest(normal(7, 500), normal(8, 500, 0.5), { type: 'num' });
  assert.equal(shifted.method, 'ks');
  assert.equal(shifted.scoreKind, 'p_value');
  assert.equal(shifted.drifted, true);
  // Two halves of one sample (interleaved): same distribution, KS p ≈ 0.56.
  const pool = normal(19, 1000);
  const stable = driftTest(pool.filter((_, i) => i % 2 === 0), pool.filter((_, i) => i % 2 === 1), { type: 'num' });
  assert.equal(stable.drifted, false);
  const cat = driftTest(cycle(['a', 'b', 'c'], 3000), cycle(['a', 'a', 'a', 'b'], 400), { type: 'cat' });
  assert.equal(cat.method, 'jensenshannon');
  assert.equal(cat.scoreKind, 'distance');
  assert.equal(cat.drifted, true);
  assert.equal(cat.referenceCount, 3000);
  assert.equal(cat.currentCount, 400);
});

test('empty input, text columns and wrong method/type combinations fail with clear errors', () => {
  assert.throws(
    () => driftTest([null, Number.NaN, Infinity], [1, 2], { type: 'num', column: 'features.amount' }),
    /An empty column 'features.amount' was provided for drift calculation in the reference dataset/,
  );
  assert.throws(() => driftTest([1, 2], [undefined], { type: 'num' }), /An empty column was provided for drift calculation in the current dataset/);
  assert.throws(() => driftTest(['x'], ['y'], { type: 'text', column: 'text.note' }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_STATS_TEXT');
    assert.match(e.message, /oov_rate rule/);
    return true;
  });
  assert.throws(() => driftTest(['a', 'b'], ['a'], { type: 'cat', method: 'ks', column: 'features.country' }), /Method 'ks' needs a numeric column \('features.country' is categorical\)/);
  assert.throws(() => driftTest([1, 'b'], [1], { type: 'num' }), /non-numeric value "b"/);
  assert.throws(() => driftTest([1], [1], { type: 'num', method: 'bogus' as DriftMethod }), /Unknown drift method "bogus"/);
});

test('explicit methods run and report their score', () => {
  const ref = normal(10, 400);
  const cur = normal(11, 300, 0.2);
  for (const method of ['ks', 'wasserstein', 'psi', 'kl_div', 'jensenshannon', 'hellinger', 'chisquare', 'z', 'l_infinity'] as const) {
    const r = driftTest(ref, cur, { type: 'num', method });
    assert.equal(r.method, method);
    assert.ok(Number.isFinite(r.score) || method === 'chisquare', `${method} score ${r.score}`);
    assert.equal(r.sampled, undefined);
  }
});

test('seededSample is deterministic, bounded and marks sampled results', () => {
  const values = Array.from({ length: 5000 }, (_, i) => i);
  const a = seededSample(values, 300, 'rule|field');
  const b = seededSample(values, 300, 'rule|field');
  const c = seededSample(values, 300, 'other');
  assert.equal(a.length, 300);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(new Set(a).size, 300);
  // Roughly uniform: the sample mean is near the population mean (2499.5).
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean - 2499.5) < 300, `sample mean ${mean}`);
  assert.deepEqual(seededSample([1, 2, 3], 10, 1), [1, 2, 3]);
  const r = new SeededReservoir<number>(10, 7);
  for (let i = 0; i < 5; i++) r.add(i);
  assert.equal(r.sampled, false);
  for (let i = 5; i < 50; i++) r.add(i);
  assert.equal(r.sampled, true);
  assert.equal(r.count, 50);

  const ref = normal(12, 4000);
  const cur = normal(13, 3000, 0.1);
  const sampled = driftTest(ref, cur, { type: 'num', method: 'ks', sampleLimit: 1000, seed: 'r|f' });
  assert.equal(sampled.sampled, true);
  assert.deepEqual(driftTest(ref, cur, { type: 'num', method: 'ks', sampleLimit: 1000, seed: 'r|f' }), sampled);
  assert.equal(driftTest(ref, cur, { type: 'num', method: 'ks', sampleLimit: 5000 }).sampled, undefined);
  // Counts-based methods never sample.
  assert.equal(driftTest(ref, cur, { type: 'num', method: 'psi', sampleLimit: 10 }).sampled, undefined);
  // Routing uses the full sizes, not the sample's.
  assert.equal(driftTest(ref, cur, { type: 'num', sampleLimit: 500 }).method, 'wasserstein');
});

test('zero-fill and JS switches pass through driftTest', () => {
  const ref = [...repeat('a', 40), ...repeat('b', 30), ...repeat('c', 20), ...repeat('d', 10)];
  const cur = [...repeat('a', 25), ...repeat('b', 25), ...repeat('c', 30), ...repeat('e', 20)];
  const evid = driftTest(ref, cur, { type: 'cat', method: 'psi' }).score;
  const tenth = driftTest(ref, cur, { type: 'cat', method: 'psi', zeroFill: 'min_over_10' }).score;
  assert.ok(Math.abs(evid - 2.3296682870701524) < 1e-9);
  assert.ok(tenth < evid, 'min/10 fill is gentler than 1e-4 on 10% categories');
  const base2 = driftTest(ref, cur, { type: 'cat', method: 'jensenshannon', base: 2 }).score;
  assert.ok(Math.abs(base2 - 0.3447843230800675 / Math.sqrt(Math.LN2)) < 1e-12);
});
