/**
 * Two-sided two-sample Kolmogorov-Smirnov test, as scipy.stats.ks_2samp(method='auto'), which is
 * what Evidently's `ks` stat test calls. Needs raw values (order-based).
 */
import { presentNumbers, sortedNumbers, type Values } from './clean.ts';
import { kolmogorovSf } from './kstwo.ts';

export interface TestResult {
  statistic: number;
  pValue: number;
}

/** scipy's MAX_AUTO_N: 'auto' is exact when max(n1, n2) <= this. */
export const KS_MAX_EXACT_N = 10000;

/** numpy's round: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Pr(D_{n,n} >= h/n), scipy `_compute_prob_outside_square` (Horner-like, no cancellation). */
export function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths that leave the band |x/m - y/n| < h/lcm(m, n), scipy
 * `_compute_outer_prob_inside_method` (scipy/stats/_stats_pythran.py; Hodges 1958, with Viehmann's
 * recursion for 1 - p).
 */
export function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  let m = m0;
  let n = n0;
  if (m < n) [m, n] = [n, m];
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, Math.min(maxj, lenA));
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, Math.min(maxj - minj, lenA), Math.min(maxj - minj + (lastlen - curlen), lenA));
  }
  return A[maxj - minj - 1]!;
}

/**
 * D = sup |F_ref - F_cur| on sorted samples, computed as scipy does (i/n1 - j/n2 in doubles at
 * every pooled value), so the exact branch rounds h = round(D·lcm) the same way.
 */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = -Infinity;
  let minD = Infinity;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minD) minD = diff;
  }
  const minS = Math.min(Math.max(-minD, 0), 1);
  return minS > maxS ? minS : maxS;
}

/** p-value of the two-sided test for statistic d, sizes n1, n2, as ks_2samp(method='auto'). */
export function ksPValue(d0: number, n1: number, n2: number): TestResult {
  let d = d0;
  let prob = Number.NaN;
  let exact = Math.max(n1, n2) <= KS_MAX_EXACT_N;
  if (exact) {
    const g = gcd(n1, n2);
    const lcm = Math.floor(n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) {
      prob = 1;
    } else {
      prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
      // scipy falls back to the asymptotic distribution when the exact value is not a probability.
      if (!(prob >= 0 && prob <= 1)) exact = false;
    }
  }
  if (!exact) {
    const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
    const en = (m * n) / (m + n);
    prob = kolmogorovSf(roundHalfEven(en), d);
  }
  return { statistic: d, pValue: Math.min(Math.max(prob, 0), 1) };
}

/**
 * Two-sample KS: statistic D and p-value exactly as scipy.stats.ks_2samp(ref, cur, method='auto'):
 * the exact distribution when max(n1, n2) <= 10000, else kstwo.sf(D, round(n·m/(n+m))).
 * Missing values are dropped first; throws when a side is empty.
 */
export function ks(reference: Values, current: Values): TestResult {
  const a = sortedNumbers(presentNumbers(reference, 'reference'));
  const b = sortedNumbers(presentNumbers(current, 'current'));
  return ksPValue(ksStatisticSorted(a, b), a.length, b.length);
}
