import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquare, chiSquareFromCounts, zTest, zTestFromCounts, chiSquareSf, normalCdf } from './index.ts';
import { close, repeat } from '../../test/fixtures/stats-samples.ts';

function assertClose(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(close(actual, expected, rel), `${what}: got ${actual}, expected ${expected} (rel ${rel})`);
}

const X1 = [...repeat(1, 16), ...repeat(2, 18), ...repeat(3, 16), ...repeat(4, 14), ...repeat(5, 12), ...repeat(6, 12)];
const X2 = [...repeat(1, 16), ...repeat(2, 16), ...repeat(3, 16), ...repeat(4, 16), ...repeat(5, 16), ...repeat(6, 8)];

test('chi-square sf and normal cdf match scipy.special', () => {
  // scipy.special.chdtrc(df, x)
  const cases: Array<[number, number, number]> = [
    [1, 1e-5, 0.9974768716831944],
    [2, 3.1746031746031744, 0.20447663029784297],
    [3, 40.0, 1.065509033425585e-8],
    [5, 0.2, 0.9991138612111875],
    [150, 170.3, 0.12281007075146107],
    [999, 1100.0, 0.013818467525532353],
    [40, 5.0, 0.9999999999965196],
    [1, 60.0, 9.485737571073857e-15],
  ];
  for (const [df, x, p] of cases) assertClose(chiSquareSf(x, df), p, 1e-10, `chdtrc(${df}, ${x})`);
  assert.equal(chiSquareSf(Infinity, 3), 0);
  // scipy.stats.norm.cdf(z)
  for (const [z, p] of [[-8.2, 1.2019351542735735e-16], [-1.5, 0.06680720126885807], [0.3, 0.6179114221889526], [2.5, 0.9937903346742238]] as const) {
    assertClose(normalCdf(z), p, 1e-12, `norm.cdf(${z})`);
  }
});

test('chi-square reproduces Evidently\'s test suite (p = 0.67309)', () => {
  // tests/stattests/test_stattests.py; scipy.stats.chisquare(f_obs=x2 counts, f_exp=x1 counts * n2/n1)
  //   -> (3.1746031746031744, 0.6730876006966301)
  const r = chiSquare(X1, X2);
  assertClose(r.statistic, 3.1746031746031744, 1e-12, 'statistic');
  assertClose(r.pValue, 0.6730876006966301, 1e-10, 'p');
  // Same with the reference doubled: f_exp is rescaled by n_cur/n_ref.
  assertClose(chiSquare([...X1, ...X1], X2).pValue, 0.6730876006966301, 1e-10, 'p, doubled reference');
});

test('chi-square: identical p = 1, unseen category p = 0, NaNs ignored', () => {
  // scipy.stats.chisquare([1,1,1],[1.,1.,1.]).pvalue -> 1.0 (Evidently: default chi-square p = 1.0 for identical [1,2,3])
  assert.equal(chiSquare([1, 2, 3], [1, 2, 3]).pValue, 1);
  // Evidently: p = 0.0 for ref [1,2,3] vs cur [5,8,3] (f_exp = 0 for 5 and 8 -> statistic inf)
  const unseen = chiSquare([1, 2, 3], [5, 8, 3]);
  assert.equal(unseen.statistic, Infinity);
  assert.equal(unseen.pValue, 0);
  assert.equal(chiSquare(['a', 'b', Number.NaN], ['a', 'b', null]).pValue, 1);
  // scipy.stats.chisquare on a40 b30 c20 d10 vs a45 b25 c30 -> (16.458333333333336, 0.0009132091707368194)
  const r = chiSquareFromCounts(new Map([['a', 40], ['b', 30], ['c', 20], ['d', 10]]), { a: 45, b: 25, c: 30 });
  assertClose(r.statistic, 16.458333333333336, 1e-12, 'statistic');
  assertClose(r.pValue, 0.0009132091707368194, 1e-10, 'p');
  // One category on both sides: 0 degrees of freedom, scipy gives NaN.
  assert.ok(Number.isNaN(chiSquare(['a', 'a'], ['a']).pValue));
});

test('Z-test: Evidently\'s p ≈ 0.66 example and the NaN-dropped 0.00617 case', () => {
  // tests/metrics/data_drift/test_data_drift_table.py: ref [a,a,b,b] vs cur [a,b,a,NaN] -> p ≈ 0.66
  // 2*(1 - scipy.stats.norm.cdf(|z|)) -> 0.6592430036926307
  assertClose(zTest(['a', 'a', 'b', 'b'], ['a', 'b', 'a', Number.NaN]).pValue, 0.6592430036926307, 1e-10, 'p');
  // ref ['a', NaN]*10 vs cur ['a','b']*10 with NaN dropped (the real pipeline) -> 0.0061698993205441255
  const ref = Array.from({ length: 20 }, (_, i) => (i % 2 ? null : 'a'));
  const cur = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'b' : 'a'));
  assertClose(zTest(ref, cur).pValue, 0.0061698993205441255, 1e-10, 'p');
  // Same single value on both sides -> p = 1 (Evidently's special case)
  assert.equal(zTest(['a', 'a'], ['a']).pValue, 1);
  // More than two values: sorted keys, first coded 0, the rest 1 -> 0.15959894244264872
  const zm = zTestFromCounts(new Map([['c', 2], ['b', 3], ['a', 5]]), new Map([['a', 2], ['b', 4], ['c', 4]]));
  assertClose(zm.pValue, 0.15959894244264872, 1e-10, 'p, three values');
});
