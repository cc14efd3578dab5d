import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binEdges,
  sturgesEdges,
  histogramCounts,
  linspace,
  referenceQuantileEdges,
  fillZeros,
  psi,
  klDivergence,
  jensenShannon,
  hellinger,
  wasserstein,
  wassersteinNormed,
  lInfinity,
  lInfinityFromCounts,
  psiFromCounts,
  klDivergenceFromCounts,
  jensenShannonFromCounts,
  hellingerFromCounts,
  histogramShares,
} from './index.ts';
import { close, normal, repeat } from '../../test/fixtures/stats-samples.ts';

function assertClose(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(close(actual, expected, rel), `${what}: got ${actual}, expected ${expected} (rel ${rel})`);
}

const REF_CAT = [...repeat('a', 40), ...repeat('b', 30), ...repeat('c', 20), ...repeat('d', 10)];
const CUR_CAT = [...repeat('a', 25), ...repeat('b', 25), ...repeat('c', 30), ...repeat('e', 20)];

test('Sturges edges equal np.histogram_bin_edges(..., bins="sturges") bit for bit', () => {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  // np.histogram_bin_edges(np.arange(1024, dtype=float), bins="sturges") -> 11 bins
  assert.deepEqual(binEdges(range(1024), []), [0, 93, 186, 279, 372, 465, 558, 651, 744, 837, 930, 1023]);
  // np.histogram_bin_edges(np.array(normal(31, 37, 5, 3)), bins="sturges")
  assert.deepEqual(binEdges(normal(31, 37, 5, 3), []), [
    0.34697844786304266, 1.709599793653153, 3.0722211394432635, 4.434842485233374, 5.797463831023484, 7.1600851768135945,
    8.522706522603706, 9.885327868393816,
  ]);
  // np.histogram_bin_edges(np.array(normal(32, 1000, 100, 20)), bins="sturges"), split across both arguments
  const s = normal(32, 1000, 100, 20);
  assert.deepEqual(binEdges(s.slice(0, 600), s.slice(600)), [
    44.0004324988748, 54.168810926690426, 64.33718935450605, 74.50556778232169, 84.6739462101373, 94.84232463795294,
    105.01070306576857, 115.17908149358419, 125.34745992139982, 135.51583834921544, 145.68421677703105, 155.8525952048467,
  ]);
  // np.histogram_bin_edges(np.array([3.0]*5), bins="sturges") -> [2.5, 3.5] (max == min)
  assert.deepEqual(binEdges([3, 3, 3], [3, 3]), [2.5, 3.5]);
  // np.histogram_bin_edges(np.array([-7.5, -2.25, -3.0, -6.0, -4.4, -5.1, -2.3]), bins="sturges")
  assert.deepEqual(binEdges([-7.5, -2.25, -3.0, -6.0, -4.4, -5.1, -2.3], []), [-7.5, -6.1875, -4.875, -3.5625, -2.25]);
  // np.histogram_bin_edges(np.array([1.0, 1.0 + 1e-9, 1.0 + 3e-9]), bins="sturges")
  assert.deepEqual(binEdges([1.0, 1.0 + 1e-9, 1.0 + 3e-9], []), [1.0, 1.000000001, 1.000000002, 1.000000003]);
});

test('integer columns: numpy widens bins to 1 for int dtypes; integerData opts in', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i % 4);
  // np.histogram_bin_edges(np.array([0,1,2,3]*25, dtype=float), "sturges")
  assert.deepEqual(binEdges(xs, []), [0.0, 0.375, 0.75, 1.125, 1.5, 1.875, 2.25, 2.625, 3.0]);
  // np.histogram_bin_edges(np.array([0,1,2,3]*25, dtype=np.int64), "sturges")
  assert.deepEqual(sturgesEdges(0, 3, 100, { integerData: true }), [0, 1, 2, 3]);
});

test('histogramCounts equals np.histogram(values, edges)[0], last bin closed', () => {
  const xs = normal(33, 200);
  const edges = linspace(Math.min(...xs), Math.max(...xs), 8);
  // np.histogram(np.array(normal(33, 200)), np.histogram_bin_edges(same, bins=7))[0]
  assert.deepEqual(histogramCounts(xs, edges), [7, 22, 55, 57, 39, 16, 4]);
  // np.histogram([0, 1, 1, 2, 3, 5], [1, 2, 3])[0] -> [2, 2]: 3 sits in the closed last bin, 0 and 5 are outside
  assert.deepEqual(histogramCounts([0, 1, 1, 2, 3, 5], [1, 2, 3]), [2, 2]);
});

test('PSI, KL and JS on a numeric column use combined Sturges bins as Evidently', () => {
  const ref = normal(41, 600);
  const cur = normal(42, 400, 0.3, 1.2);
  // Evidently get_binned_data(num, >20 distinct) then sum((r-c)*log(r/c)) -> 0.20157064992242338
  assertClose(psi(ref, cur, { type: 'num' }), 0.20157064992242338, 1e-9, 'psi');
  // scipy.stats.entropy(r, c) on the same zero-filled shares -> 0.06868079263481217
  assertClose(klDivergence(ref, cur, { type: 'num' }), 0.06868079263481217, 1e-9, 'kl');
  // scipy.spatial.distance.jensenshannon(r, c) without zero fill -> 0.14068835909405422
  assertClose(jensenShannon(ref, cur, { type: 'num' }), 0.14068835909405422, 1e-9, 'js');
  // scipy.spatial.distance.jensenshannon(r, c, base=2) -> 0.16898394076326342
  assertClose(jensenShannon(ref, cur, { type: 'num', base: 2 }), 0.16898394076326342, 1e-9, 'js base 2');
  assertClose(jensenShannon(ref, cur, { type: 'num', output: 'divergence' }), 0.14068835909405422 ** 2, 1e-9, 'js divergence');
  // Evidently hellinger num: sturges over distinct values, densities -> 0.15142289695669642
  assertClose(hellinger(ref, cur, { type: 'num' }), 0.15142289695669642, 1e-9, 'hellinger');
});

test('a numeric column with <= 20 distinct reference values gets one bucket per value', () => {
  const ref = normal(43, 300, 0, 2).map(Math.floor);
  const cur = normal(44, 250, 1, 2).map(Math.floor);
  assert.equal(new Set(ref).size, 10);
  const shares = histogramShares(ref, cur, { type: 'num' });
  assert.equal(shares.edges, undefined);
  // Evidently psi/kl_div/jensenshannon(floor(normal(43,300,0,2)), floor(normal(44,250,1,2)), num)
  assertClose(psi(ref, cur, { type: 'num' }), 0.3093094106834552, 1e-9, 'psi');
  assertClose(klDivergence(ref, cur, { type: 'num' }), 0.15053316858849636, 1e-9, 'kl');
  assertClose(jensenShannon(ref, cur, { type: 'num' }), 0.17760236553753636, 1e-9, 'js');
});

test('PSI, KL, JS and Hellinger on categories, with the 1e-4 zero fill', () => {
  // Evidently psi(a40 b30 c20 d10, a25 b25 c30 e20, cat): 'd' and 'e' get 0.0001 -> 2.3296682870701524
  assertClose(psi(REF_CAT, CUR_CAT, { type: 'cat' }), 2.3296682870701524, 1e-9, 'psi');
  assertClose(klDivergence(REF_CAT, CUR_CAT, { type: 'cat' }), 0.8515351812489824, 1e-9, 'kl');
  assertClose(jensenShannon(REF_CAT, CUR_CAT, { type: 'cat' }), 0.3447843230800675, 1e-9, 'js');
  assertClose(hellinger(REF_CAT, CUR_CAT, { type: 'cat' }), 0.40615511932297654, 1e-9, 'hellinger');
  // Counts give the same numbers as raw values.
  const rc = { a: 40, b: 30, c: 20, d: 10 };
  const cc = new Map([['a', 25], ['b', 25], ['c', 30], ['e', 20]]);
  assertClose(psiFromCounts(rc, cc), 2.3296682870701524, 1e-12, 'psiFromCounts');
  assertClose(klDivergenceFromCounts(rc, cc), 0.8515351812489824, 1e-12, 'klFromCounts');
  assertClose(jensenShannonFromCounts(rc, cc), 0.3447843230800675, 1e-12, 'jsFromCounts');
  assertClose(hellingerFromCounts(rc, cc), 0.40615511932297654, 1e-12, 'hellingerFromCounts');
});

test('zero fill: min/1e6 when the smallest share is <= 1e-4', () => {
  const ref = [...repeat('x', 20000), 'y'];
  const cur = [...repeat('x', 10), ...repeat('z', 5)];
  // Evidently psi(x*20000+y, x*10+z*5, cat): reference min share 1/20001 -> zeros = (1/20001)/1e6
  assertClose(psi(ref, cur, { type: 'cat' }), 7.67529803403241, 1e-9, 'psi');
  // scipy.stats.entropy on the same shares -> 0.40546017528918654
  assertClose(klDivergence(ref, cur, { type: 'cat' }), 0.40546017528918654, 1e-9, 'kl');
  assert.deepEqual(fillZeros([0.5, 0, 0.5], 'evidently'), [0.5, 0.0001, 0.5]);
  assert.deepEqual(fillZeros([0.99995, 0, 0.00005], 'evidently'), [0.99995, 0.00005 / 1e6, 0.00005]);
  assert.deepEqual(fillZeros([0.8, 0, 0.2], 'min_over_10'), [0.8, 0.02, 0.2]);
  assert.deepEqual(fillZeros([0.8, 0, 0.2], 'none'), [0.8, 0, 0.2]);
});

test('Evidently test-suite numbers: PSI 2.93 and Hellinger 0.06812', () => {
  // tests/metrics/data_drift/test_column_drift_metric.py: PSI([3,2,2] -> [1,2,3]) = 2.93 ± 0.01; exact -> 2.9341472484810085
  assertClose(psi([3, 2, 2], [1, 2, 3], { type: 'cat' }), 2.9341472484810085, 1e-9, 'psi');
  const x1 = [...repeat(1, 16), ...repeat(2, 18), ...repeat(3, 16), ...repeat(4, 14), ...repeat(5, 12), ...repeat(6, 12)];
  const x2 = [...repeat(1, 16), ...repeat(2, 16), ...repeat(3, 16), ...repeat(4, 16), ...repeat(5, 16), ...repeat(6, 8)];
  // tests/stattests/test_stattests.py: hellinger 0.06812 -> 0.06812774370983345
  assertClose(hellinger(x1, x2, { type: 'cat' }), 0.06812774370983345, 1e-9, 'hellinger');
  // Hellinger 0 with NaNs, and on identical numeric data.
  assert.equal(hellinger(['a', Number.NaN, 'b'], ['a', 'b', null], { type: 'cat' }), 0);
  assert.equal(hellinger([1, 2, 3, 4], [1, 2, 3, 4], { type: 'num' }), 0);
});

test('reference-quantile bins stay fixed and catch values beyond the reference range', () => {
  const ref = Array.from({ length: 100 }, (_, i) => i);
  const edges = referenceQuantileEdges(ref, 4);
  assert.deepEqual(edges, [-Infinity, 24.75, 49.5, 74.25, Infinity]);
  const s = histogramShares(ref, [-50, 500, 10, 60], { type: 'num', bins: 'reference_quantiles', quantileBins: 4 });
  assert.deepEqual(s.current, [0.5, 0, 0.25, 0.25]);
  assert.deepEqual(s.reference, [0.25, 0.25, 0.25, 0.25]);
});

test('Wasserstein matches scipy.stats.wasserstein_distance', () => {
  // scipy.stats.wasserstein_distance([0,1,3],[5,6,8]) -> 5.0
  assert.equal(wasserstein([0, 1, 3], [5, 6, 8]), 5);
  // scipy.stats.wasserstein_distance([0,1],[0,1,2,3]) -> 1.0
  assert.equal(wasserstein([0, 1], [0, 1, 2, 3]), 1);
  const a = normal(21, 700);
  const b = normal(22, 900, 0.4, 1.5);
  // scipy.stats.wasserstein_distance(normal(21,700), normal(22,900,0.4,1.5)) -> 0.5353847371548288
  assertClose(wasserstein(a, b), 0.5353847371548288, 1e-12, 'wasserstein');
  // ... / max(np.std(normal(21,700)), 0.001) -> 0.5529337856184449 (Evidently's normed Wasserstein)
  assertClose(wassersteinNormed(a, b), 0.5529337856184449, 1e-12, 'normed');
  // wasserstein_distance([2]*5, [2,3]) / max(np.std([2]*5), 0.001) -> 500.0 (std floor 0.001)
  assertClose(wassersteinNormed([2, 2, 2, 2, 2], [2, 3]), 500, 1e-12, 'normed, constant reference');
});

test('L-infinity matches TFDV metrics_test.cc', () => {
  // TFDV anomalies/metrics_test.cc LInftyDistanceTest: 0, 0.2, 0.3, 0.3
  assert.equal(lInfinityFromCounts({}, {}), 0);
  assertClose(lInfinityFromCounts({ hello: 0.1, world: 0.9 }, { hello: 0.3, world: 0.7 }), 0.2, 1e-12, 'normal');
  assertClose(lInfinityFromCounts({ b: 0.9, c: 0.1 }, { a: 0.3, b: 0.7 }), 0.3, 1e-12, 'missing in both');
  assertClose(lInfinityFromCounts({ a: 0.3, b: 0.7 }, { b: 0.9, c: 0.1 }), 0.3, 1e-12, 'flipped');
  // Raw values: a 50% -> 20%, b 50% -> 80%
  assertClose(lInfinity(['a', 'b'], ['a', 'b', 'b', 'b', 'b']), 0.3, 1e-12, 'raw');
});

test('missing values are dropped and an empty side throws', () => {
  const ref = [...REF_CAT, null, undefined, Number.NaN];
  assertClose(psi(ref, CUR_CAT, { type: 'cat' }), 2.3296682870701524, 1e-9, 'psi with NAs');
  assert.throws(() => psi([null], CUR_CAT, { type: 'cat', column: 'country' }), /An empty column 'country' was provided for drift calculation in the reference dataset/);
  assert.throws(() => wasserstein([1, 2], [Infinity]), /in the current dataset/);
  assert.throws(() => psi([1, 'x'], [1, 2], { type: 'num' }), /non-numeric value "x"/);
});

test('two-step backend flow: min/max/count -> sturgesEdges -> bin counts gives the raw-value numbers', () => {
  const ref = normal(41, 600);
  const cur = normal(42, 400, 0.3, 1.2);
  const all = [...ref, ...cur];
  const edges = sturgesEdges(Math.min(...all), Math.max(...all), all.length);
  assert.deepEqual(edges, binEdges(ref, cur));
  const rc = histogramCounts(ref, edges);
  const cc = histogramCounts(cur, edges);
  assert.equal(rc.reduce((a, b) => a + b, 0), ref.length);
  // Same expected values as the raw-value test above (Evidently on normal(41,600) vs normal(42,400,0.3,1.2)).
  assertClose(psiFromCounts(rc, cc), 0.20157064992242338, 1e-9, 'psi');
  assertClose(klDivergenceFromCounts(rc, cc), 0.06868079263481217, 1e-9, 'kl');
  assertClose(jensenShannonFromCounts(rc, cc), 0.14068835909405422, 1e-9, 'js');
});
