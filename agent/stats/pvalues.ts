/**
 * Evidently's p-value tests for categories: `chisquare` and `z` (two-proportion Z-test).
 * Both are exact from counts; the raw-value forms only count.
 */
import { present, toCountMap, valueCounts, countTotal, type Counts, type Values } from './clean.ts';
import { chiSquareSf, normalCdf } from './special.ts';
import type { TestResult } from './ks.ts';

/**
 * Evidently's `chisquare`: keys = values seen on either side, f_exp = ref_count·(n_cur/n_ref),
 * f_obs = cur_count, p = scipy.stats.chisquare(f_obs, f_exp).pvalue (chi² sf with k−1 degrees of
 * freedom). A category absent from the reference makes f_exp 0, the statistic ∞ and p = 0; a single
 * category on both sides has 0 degrees of freedom and p = NaN, as scipy. Drift on p < 0.05.
 */
export function chiSquareFromCounts(refCounts: Counts, curCounts: Counts): TestResult {
  const ref = toCountMap(refCounts);
  const cur = toCountMap(curCounts);
  const nRef = countTotal(ref, 'reference');
  const nCur = countTotal(cur, 'current');
  const keys = [...new Set([...ref.keys(), ...cur.keys()])].filter((k) => (ref.get(k) ?? 0) > 0 || (cur.get(k) ?? 0) > 0);
  const kNorm = nCur / nRef;
  let stat = 0;
  for (const k of keys) {
    const exp = (ref.get(k) ?? 0) * kNorm;
    const obs = cur.get(k) ?? 0;
    stat += (obs - exp) ** 2 / exp;
  }
  return { statistic: stat, pValue: chiSquareSf(stat, keys.length - 1) };
}

export function chiSquare(reference: Values, current: Values): TestResult {
  return chiSquareFromCounts(valueCounts(present(reference, 'reference')), valueCounts(present(current, 'current')));
}

/** Python's ordering for sorted(keys): numbers numerically, strings by code point, numbers first. */
function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const sa = String(a);
  const sb = String(b);
  const ca = [...sa];
  const cb = [...sb];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/**
 * Evidently's `z`: keys sorted, the first coded 0 and every other 1; two-proportion Z statistic
 * z = (p1 − p2)/√(P(1−P)(1/n1 + 1/n2)), p = 2(1 − Φ(|z|)). p = 1 when both sides hold the same
 * single value. With counts given as a plain object the keys are strings and sort as strings;
 * pass a Map with number keys for numeric categories (it matters only with more than two values).
 */
export function zTestFromCounts(refCounts: Counts, curCounts: Counts): TestResult {
  const ref = toCountMap(refCounts);
  const cur = toCountMap(curCounts);
  const n1 = countTotal(ref, 'reference');
  const n2 = countTotal(cur, 'current');
  const refKeys = [...ref.keys()].filter((k) => (ref.get(k) ?? 0) > 0);
  const curKeys = [...cur.keys()].filter((k) => (cur.get(k) ?? 0) > 0);
  if (refKeys.length === 1 && curKeys.length === 1 && refKeys[0] === curKeys[0]) return { statistic: 0, pValue: 1 };
  const keys = [...new Set([...refKeys, ...curKeys])].sort(compareKeys);
  const first = keys[0];
  const p1 = (n1 - (ref.get(first) ?? 0)) / n1;
  const p2 = (n2 - (cur.get(first) ?? 0)) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  return { statistic: z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

export function zTest(reference: Values, current: Values): TestResult {
  return zTestFromCounts(valueCounts(present(reference, 'reference')), valueCounts(present(current, 'current')));
}
