import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ks, kolmogorovSf, KS_MAX_EXACT_N } from './index.ts';
import { close, normal, rounded } from '../../test/fixtures/stats-samples.ts';

function assertClose(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(close(actual, expected, rel), `${what}: got ${actual}, expected ${expected} (rel ${rel})`);
}

function checkKs(a: number[], b: number[], d: number, p: number, rel = 1e-10): void {
  const r = ks(a, b);
  assertClose(r.statistic, d, 1e-12, 'statistic');
  assertClose(r.pValue, p, rel, 'p-value');
}

test('exact KS on small unequal samples matches scipy', () => {
  // scipy.stats.ks_2samp([0.61, -1.2, 0.33, 2.05, -0.4, 0.98, 1.5, -0.07],
  //   [1.1, 0.2, 2.7, 1.9, 0.45, 3.1, 1.35, 0.8, 2.2, -0.3, 1.7], method='auto') -> (0.38636363636363635, 0.3827895530681908)
  checkKs([0.61, -1.2, 0.33, 2.05, -0.4, 0.98, 1.5, -0.07], [1.1, 0.2, 2.7, 1.9, 0.45, 3.1, 1.35, 0.8, 2.2, -0.3, 1.7], 0.38636363636363635, 0.3827895530681908);
});

test('exact KS on equal sizes uses the square method and matches scipy', () => {
  // scipy.stats.ks_2samp([0.1, 0.5, ..., 3.7], [0.4, 1.0, ..., 5.8]) -> (0.4, 0.41752365281777043)
  const a = [0.1, 0.5, 0.9, 1.3, 1.7, 2.1, 2.5, 2.9, 3.3, 3.7];
  const b = [0.4, 1.0, 1.6, 2.2, 2.8, 3.4, 4.0, 4.6, 5.2, 5.8];
  checkKs(a, b, 0.4, 0.41752365281777043);
});

test('exact KS with ties matches scipy', () => {
  // scipy.stats.ks_2samp([1,2,2,3,3,3,4,4,5,1,2,3], [2,3,3,4,4,4,5,5,5,6,3,4,5,4]) -> (0.4642857142857143, 0.08701802706648579)
  checkKs([1, 2, 2, 3, 3, 3, 4, 4, 5, 1, 2, 3], [2, 3, 3, 4, 4, 4, 5, 5, 5, 6, 3, 4, 5, 4], 0.4642857142857143, 0.08701802706648579);
  // scipy.stats.ks_2samp(rounded(normal(5, 500), 10), rounded(normal(6, 700, 0.1), 10)) -> (0.04285714285714286, 0.6409343819771033)
  checkKs(rounded(normal(5, 500), 10), rounded(normal(6, 700, 0.1), 10), 0.04285714285714286, 0.6409343819771033);
});

test('exact KS on medium samples matches scipy', () => {
  // scipy.stats.ks_2samp(normal(1, 400), normal(2, 300, 0.15)) -> (0.06416666666666666, 0.4639220754537882)
  checkKs(normal(1, 400), normal(2, 300, 0.15), 0.06416666666666666, 0.4639220754537882);
  // scipy.stats.ks_2samp(normal(3, 1000), normal(4, 1000, 0.05)) -> (0.024, 0.9357699014782725)
  checkKs(normal(3, 1000), normal(4, 1000, 0.05), 0.024, 0.9357699014782725);
});

test('KS stays exact up to max(n1, n2) = 10000', () => {
  assert.equal(KS_MAX_EXACT_N, 10000);
  // scipy.stats.ks_2samp(normal(7, 10000), normal(8, 9000, 0.02)) -> (0.026044444444444443, 0.0031702435958930303)
  checkKs(normal(7, 10000), normal(8, 9000, 0.02), 0.026044444444444443, 0.0031702435958930303);
});

test('KS above 10000 uses kstwo.sf(D, round(nm/(n+m))) as scipy', () => {
  // scipy.stats.ks_2samp(normal(9, 12000), normal(10, 11000, 0.03)) -> (0.027492424242424263, 0.0003348718956182448)
  checkKs(normal(9, 12000), normal(10, 11000, 0.03), 0.027492424242424263, 0.0003348718956182448, 1e-8);
  // scipy.stats.ks_2samp(normal(11, 12000), normal(12, 50, 0.3)) -> (0.22516666666666663, 0.010414569505084681)
  checkKs(normal(11, 12000), normal(12, 50, 0.3), 0.22516666666666663, 0.010414569505084681, 1e-8);
  // scipy.stats.ks_2samp(normal(13, 10001), normal(14, 3000)) -> (0.0179510715595107, 0.4415688325505358)
  checkKs(normal(13, 10001), normal(14, 3000), 0.0179510715595107, 0.4415688325505358, 1e-8);
});

test('identical samples give D = 0 and p = 1; disjoint ones D = 1', () => {
  // scipy.stats.ks_2samp([1,2,3],[1,2,3]) -> (0.0, 1.0)
  assert.deepEqual(ks([1, 2, 3], [1, 2, 3]), { statistic: 0, pValue: 1 });
  // scipy.stats.ks_2samp([1,2,3],[4,5,6,7]) -> (1.0, 0.05714285714285715)
  checkKs([1, 2, 3], [4, 5, 6, 7], 1, 0.05714285714285715);
  // scipy.stats.ks_2samp(normal(15,20000), normal(16,20000,5)) -> (0.99355, 0.0)
  const r = ks(normal(15, 20000), normal(16, 20000, 5));
  assertClose(r.statistic, 0.99355, 1e-12, 'statistic');
  assert.equal(r.pValue, 0);
});

test('missing values are dropped before KS', () => {
  const withGaps = [0.61, null, -1.2, 0.33, Number.NaN, 2.05, -0.4, undefined, 0.98, 1.5, Infinity, -0.07];
  const other = [1.1, 0.2, 2.7, 1.9, 0.45, -Infinity, 3.1, 1.35, 0.8, 2.2, -0.3, 1.7];
  // Same as the small unequal case above.
  checkKs(withGaps as number[], other, 0.38636363636363635, 0.3827895530681908);
});

test('kstwo.sf matches scipy on every branch of _kolmogn', () => {
  // scipy.stats.kstwo.sf(x, n) for each [n, x]:
  const cases: Array<[number, number, number]> = [
    [5, 0.15, 0.9988], // t <= 1 (Ruben-Gambino)
    [5, 0.6, 0.03008000000000001], // x >= 0.5: 2*smirnov
    [10, 0.95, 1.9531250000000172e-13], // t >= n-1
    [10, 0.2, 0.7487190399999999], // n <= 140, DMTW
    [10, 0.35, 0.1339605462624991], // n <= 140, Pomeranz
    [100, 0.12, 0.10330374901819939], // Pomeranz
    [100, 0.25, 5.408871776434847e-6], // n <= 140, 2*smirnov
    [140, 0.3, 1.1370251710737309e-11],
    [500, 0.01, 0.9999999991073389], // n > 140, DMTW
    [500, 0.04, 0.3902508696049748], // Pelz-Good
    [500, 0.08, 0.0031305058199356268], // 2*smirnov
    [2000, 0.05, 8.74309579589503e-5],
    [200000, 0.002, 0.39995085369038097], // n > 100000, Pelz-Good
    [200000, 0.004, 0.003314212822560255], // smirnov, n = 2e5 (log-space sum)
    [50, 0.9, 2.0160611902288146e-50],
  ];
  for (const [n, x, p] of cases) assertClose(kolmogorovSf(n, x), p, 1e-9, `kstwo.sf(${x}, ${n})`);
});

test('empty column after dropping missing values throws Evidently\'s message', () => {
  assert.throws(() => ks([null, Number.NaN], [1, 2]), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_STATS_EMPTY');
    assert.match(e.message, /An empty column was provided for drift calculation in the reference dataset/);
    return true;
  });
  assert.throws(() => ks([1], []), /in the current dataset/);
  assert.throws(() => ks(['a', 'b'], [1]), /non-numeric value "a"/);
});
