/**
 * The Painless scripts of generated watches (conditions and message transforms), one per rule type.
 *
 * Each script is the same code twice over: as the watch's `condition` it ends in
 * `return breaches.size() > 0`, as its `transform` it returns the breaches for the message. Both
 * mirror agent/rules/evaluate.ts line by line, so that the watch and the agent reach the same
 * verdict on the same window; the comments here say which line of evaluate.ts each part follows.
 *
 * Shared prelude (every type):
 * - `walk(resp, group_by)` flattens the nested `seg0`, `seg1`, ... terms buckets that
 *   backends/elasticsearch/body.ts puts around the aggregations for group_by into one list of
 *   segments with their aggregations, their field values and their document count (hits.total
 *   without group_by, as body.ts parses it).
 * - With a live reference (offset or segment) the watch's input is a chain with the searches
 *   `current` and `reference`; `refOf` finds the reference segment of a current segment by the
 *   reference's group_by fields (plan.ts refKeyFor). A missing reference segment counts 0.
 *   distribution_shift may chain raw-value searches after them (params.chain is then true even
 *   without a reference; `r` is set only when the payload has a `reference`).
 * - A segment with fewer documents than min_samples gives no verdict (evaluate.ts no_data).
 *
 * Params common to all: chain, group_by, ref_group_by, min_samples, delay_ms, window_ms.
 * model_quality's script is in quality-script.ts.
 */
import type { RuleType } from '../../rules/result.ts';
import { QUALITY_FUNCTIONS, QUALITY_LOOP, QUALITY_MAIN } from './quality-script.ts';

const FUNCTIONS = `
String segName(Map v, List gb) { String s = ''; for (def g : gb) { s += (s.isEmpty() ? '' : ',') + g + '=' + v[g]; } return s; }
int refOf(Map v, List rv, List rgb) { for (int j = 0; j < rv.size(); j++) { boolean same = true; for (def g : rgb) { if (rv[j][g] != v[g]) { same = false; } } if (same) { return j; } } return -1; }
List walk(def resp, List gb) {
  List segs = [resp.aggregations]; List vals = [new HashMap()];
  for (int d = 0; d < gb.size(); d++) {
    List ns = []; List nv = [];
    for (int i = 0; i < segs.size(); i++) {
      for (def b : segs[i]['seg' + d].buckets) { Map m = new HashMap(vals[i]); m.put(gb[d], b.key); ns.add(b); nv.add(m); }
    }
    segs = ns; vals = nv;
  }
  List n = [];
  for (def s : segs) { n.add(gb.isEmpty() ? resp.hits.total : s.doc_count); }
  return [segs, vals, n];
}
Map breach(def f, String s, String st, def v, def t, String d) { return ['field': f, 'segment': s, 'statistic': st, 'value': v, 'threshold': t, 'details': d]; }
String top(List buckets, int max) { String out = ''; int k = 0; for (def b : buckets) { if (k < max) { out += (k > 0 ? ', ' : '') + b.key + ' (' + b.doc_count + ')'; } k++; } return out; }
`;

const MAIN = `
List c = walk(params.chain ? ctx.payload.current : ctx.payload, params.group_by);
List r = params.chain && ctx.payload.reference != null ? walk(ctx.payload.reference, params.ref_group_by) : null;
List breaches = [];
`;

const LOOP = `
for (int i = 0; i < c[0].size(); i++) {
  def a = c[0][i]; long n = c[2][i]; String s = segName(c[1][i], params.group_by);
  if (n < params.min_samples) { continue; }
  def ra = null; long rn = 0;
  if (r != null) { int j = refOf(c[1][i], r[1], params.ref_group_by); if (j >= 0) { ra = r[0][j]; rn = r[2][j]; } }
`;

/**
 * Per type, the body of the segment loop (a, n, s, ra, rn in scope). Each follows evaluate.ts.
 */
const BODIES: Record<Exclude<RuleType, 'distribution_shift' | 'model_quality'>, string> = {
  // evaluate.ts volume(): count bounds, and with a live reference the ratio count / reference count
  // (infinite when the reference is empty and the window is not, 1 when both are empty).
  volume: `
  if (params.min_count != null && n < params.min_count) { breaches.add(breach('*', s, 'count', n, params.min_count, 'fewer documents than min_count')); }
  if (params.max_count != null && n > params.max_count) { breaches.add(breach('*', s, 'count', n, params.max_count, 'more documents than max_count')); }
  if (r != null) {
    double ratio = rn > 0 ? (double) n / rn : (n > 0 ? Double.POSITIVE_INFINITY : 1.0);
    def rv = null; if (!Double.isInfinite(ratio)) { rv = ratio; }
    String d = n + ' documents, reference ' + rn;
    if (params.min_ratio != null && ratio < params.min_ratio) { breaches.add(breach('*', s, 'count_ratio', rv, params.min_ratio, d)); }
    if (params.max_ratio != null && ratio > params.max_ratio) { breaches.add(breach('*', s, 'count_ratio', rv, params.max_ratio, d)); }
  }`,
  // evaluate.ts missing(): share = NA count / documents; with max_share a fixed bound, else
  // Evidently's share > ref + max(ref * max_relative_increase, 1e-12) and our absolute floor;
  // without any reference share, share > 0. ref_share comes from the profile (a param) or from the
  // reference search.
  missing_spike: `
  for (def f : params.fields) {
    long k = 0; for (def b : a[f.agg].buckets) { if (b.key == f.name) { k = b.doc_count; } }
    double share = n > 0 ? (double) k / n : 0.0;
    def ref = f.ref_share;
    if (r != null) { ref = null; if (ra != null && rn > 0) { long rk = 0; for (def b : ra[f.ref_agg].buckets) { if (b.key == f.name) { rk = b.doc_count; } } ref = (double) rk / rn; } }
    double t = 0.0; boolean hit = false;
    if (params.max_share != null) { t = params.max_share; hit = share > t; }
    else if (ref != null) { t = ref + Math.max(ref * params.max_relative_increase, 1.0E-12); hit = share > t && share - ref >= params.min_absolute_increase; }
    else { hit = share > 0; }
    if (hit) { breaches.add(breach(f.field, s, 'missing_share', share, t, k + ' of ' + n + ' documents missing it')); }
  }`,
  // evaluate.ts unseen(): against the profile, the filter aggregation's doc_count (values not in the
  // terms-lookup set) over the exists count; against a live reference, current terms whose key the
  // reference terms lack. Drifted on unseen count > max_unseen_count or share > max_unseen_share.
  unseen_categories: `
  for (def f : params.fields) {
    long present = 0; long u = 0; String d = '';
    if (r == null) { present = a[f.present].doc_count; u = a[f.agg].doc_count; d = top(a[f.agg].values.buckets, params.top); }
    else {
      List known = []; if (ra != null) { for (def b : ra[f.ref_agg].buckets) { known.add(b.key); } }
      List unseen = []; present = a[f.agg].sum_other_doc_count;
      for (def b : a[f.agg].buckets) { present += b.doc_count; if (!known.contains(b.key)) { u += b.doc_count; unseen.add(b); } }
      d = top(unseen, params.top);
    }
    double share = present > 0 ? (double) u / present : 0.0;
    boolean byCount = params.max_unseen_count != null && u > params.max_unseen_count;
    boolean byShare = params.max_unseen_share != null && share > params.max_unseen_share;
    if (byCount || byShare) {
      if (params.max_unseen_share != null) { breaches.add(breach(f.field, s, 'unseen_share', share, params.max_unseen_share, 'unseen: ' + d)); }
      else { breaches.add(breach(f.field, s, 'unseen_count', u, params.max_unseen_count, 'unseen: ' + d)); }
    }
  }`,
  // evaluate.ts oov(): pooled OOV tokens / tokens (sums of text.<name>.oov_count and token_count).
  oov_rate: `
  for (def f : params.fields) {
    double tokens = a[f.tokens].value; double oov = a[f.oov].value;
    double share = tokens > 0 ? oov / tokens : 0.0;
    if (share > params.max_oov_share) { breaches.add(breach(f.field, s, 'oov_share', share, params.max_oov_share, (long) oov + ' of ' + (long) tokens + ' tokens out of vocabulary; new words: ' + top(a[f.words].buckets, params.top))); }
  }`,
  // evaluate.ts predictionStats(): mean = sum / count, std = sample std from the sum of squares,
  // min, max, percentiles; bounds per statistic; with k, |mean - ref_mean| > k * ref_std / sqrt(count)
  // (ref mean and std from the profile, or from the reference search's extended_stats).
  prediction_stats: `
  for (def f : params.fields) {
    def st = a[f.stats]; long cnt = st.count;
    double mean = cnt > 0 ? ((double) st.sum) / cnt : Double.NaN;
    double vp = cnt > 0 ? Math.max(0.0, ((double) st.sum_of_squares) / cnt - mean * mean) : Double.NaN;
    double sd = cnt > 1 ? Math.sqrt(vp * cnt / (cnt - 1)) : Double.NaN;
    for (def b : params.bounds) {
      def v = null;
      if (b.percentile != null) { v = a[f.pct].values[b.percentile]; }
      else if (b.stat == 'mean') { if (!Double.isNaN(mean)) { v = mean; } }
      else if (b.stat == 'std') { if (!Double.isNaN(sd)) { v = sd; } }
      else if (b.stat == 'min') { v = st.min; }
      else if (b.stat == 'max') { v = st.max; }
      if (v == null) { continue; }
      if ((b.min != null && v < b.min) || (b.max != null && v > b.max)) { def t = b.min; if (b.max != null && v > b.max) { t = b.max; } breaches.add(breach(f.field, s, b.stat, v, t, cnt + ' values')); }
    }
    if (params.k != null) {
      def rm = f.ref_mean; def rs = f.ref_std;
      if (r != null) {
        rm = null; rs = null;
        if (ra != null) { def q = ra[f.ref_stats]; long rc = q.count; if (rc > 0) { double m0 = ((double) q.sum) / rc; rm = m0; double rvp = Math.max(0.0, ((double) q.sum_of_squares) / rc - m0 * m0); rs = rc > 1 ? Math.sqrt(rvp * rc / (rc - 1)) : Double.NaN; } }
      }
      if (rm != null && rs != null) {
        double se = rs / Math.sqrt(Math.max(cnt, 1)); double dist = Math.abs(mean - rm);
        if (dist > params.k * se) { def v = null; if (se > 0) { v = dist / se; } breaches.add(breach(f.field, s, 'mean_se_distance', v, params.k, 'mean ' + mean + ', reference mean ' + rm)); }
      }
    }
  }`,
};


/**
 * distribution_shift: the statistics of agent/stats in Painless, each function named after the one
 * it mirrors, then the route of each field (plan.ts), then the score of each field and segment
 * (evaluate.ts distribution()). Functions cannot see `params`, so everything is passed in.
 *
 * - counts (categories, and numeric fields with <= 20 distinct reference values): the agent's terms
 *   aggregation against the profile's category counts (params) or the reference search's terms.
 *   psi/kl_div: shares zero-filled per side (1e-4, or min/1e6 when the smallest share is <= 1e-4;
 *   min/10 with zero_fill min_over_10), psi not renormalised, kl_div as scipy's entropy
 *   (renormalised); jensenshannon: no zero fill, natural log unless js_base 2, distance unless
 *   js_output divergence; hellinger, l_infinity on shares; chisquare: p from the chi-square survival
 *   function (regularized upper incomplete gamma: power series below a + 1, Lentz's continued
 *   fraction above, Lanczos log-gamma, as stats/special.ts); z: keys sorted, the first coded 0.
 * - bins (psi/kl_div/jensenshannon on a numeric field with > 20 distinct reference values): Sturges
 *   edges from the exact min/max/count of the agent's extended_stats (current + profile, or current
 *   + reference search), as np.histogram_bin_edges; the reference counts from the profile's sample
 *   (or the reference's raw values), the current counts from the raw values the values search
 *   returns (at most values_limit: above it the agent's range aggregation counts every value).
 * - raw (ks, wasserstein, hellinger and l_infinity on numeric fields): the sorted raw values of the
 *   window against the profile's sample (or the reference's raw values). wasserstein: 1-D
 *   Wasserstein distance / max(population std of the reference, 0.001). ks: D as ks_2samp, and the
 *   ASYMPTOTIC p-value Q_KS(sqrt(n m / (n + m)) D) (the agent uses the exact distribution up to
 *   10,000 values a side; the two differ only near the threshold).
 * Keys of numeric terms buckets are printed as JavaScript does (1.0 -> "1"); non-integers below
 * 1e-3 or from 1e7 print differently in Java and would not match the profile's category names.
 */
const SHIFT_FUNCTIONS = `
// numpy's Sturges needs log2 exact on powers of two (1024 values give 11 bins).
double log2(double x) { double l = Math.log(x) / Math.log(2); double k = Math.rint(l); return Math.pow(2, k) == x ? k : l; }
// binning.ts linspace and sturgesEdges (max == min: one bin [min - 0.5, max + 0.5]).
List linspace(double a, double b, int num) { List out = []; double div = num - 1; double delta = b - a; double step = delta / div; for (int i = 0; i < num; i++) { out.add(step == 0 ? (i / div) * delta + a : i * step + a); } out[num - 1] = b; return out; }
List sturges(double mn, double mx, double size) { double lo = mn; double hi = mx; if (lo == hi) { lo -= 0.5; hi += 0.5; } double w = (mx - mn) / (log2(size) + 1); int nb = 1; if (w != 0) { nb = (int) Math.ceil((hi - lo) / w); } return linspace(lo, hi, nb + 1); }
// binning.ts histogramCounts: bins [e_i, e_i+1), the last one closed; values outside not counted.
List hist(List v, List e) {
  int nb = e.size() - 1; List out = []; for (int k = 0; k < nb; k++) { out.add(0.0); }
  double first = e[0]; double last = e[nb];
  for (def x : v) {
    if (!(x >= first && x <= last)) { continue; }
    int lo = 0; int hi = e.size(); while (lo < hi) { int mid = (lo + hi) >> 1; if (e[mid] <= x) { lo = mid + 1; } else { hi = mid; } }
    int k = x == last ? nb - 1 : lo - 1; if (k > nb - 1) { k = nb - 1; } out[k] += 1;
  }
  return out;
}
// binning.ts fillZeros, per side, not renormalised.
List zf(List s, String mode) { double m = Double.POSITIVE_INFINITY; for (def x : s) { double y = x; if (y != 0 && y < m) { m = y; } } double f = mode == 'min_over_10' ? m / 10 : (m <= 1.0E-4 ? m / 1.0E6 : 1.0E-4); List out = []; for (def x : s) { double y = x; out.add(y == 0 ? f : y); } return out; }
// scipy.special.rel_entr
double relEntr(double x, double y) { if (x > 0 && y > 0) { return x * Math.log(x / y); } if (x == 0 && y >= 0) { return 0.0; } return Double.POSITIVE_INFINITY; }
// special.ts logGamma (Lanczos, g = 7) and gammaincc Q(a, x) = chi2.sf(2x, 2a).
double lgam(double x) {
  if (x < 0.5) { return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgam(1 - x); }
  List L = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716E-6, 1.5056327351493116E-7];
  double z = x - 1; double a = L[0]; double t = z + 7 + 0.5;
  for (int k = 1; k < 9; k++) { a += L[k] / (z + k); }
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}
double gq(double a, double x) {
  if (Double.isNaN(a) || Double.isNaN(x) || a < 0 || x < 0) { return Double.NaN; }
  if (a == 0) { return x > 0 ? 0.0 : Double.NaN; }
  if (x == 0) { return 1.0; }
  if (Double.isInfinite(x)) { return 0.0; }
  double pre = Math.exp(-x + a * Math.log(x) - lgam(a));
  if (x < a + 1) {
    double ap = a; double sum = 1 / a; double del = sum;
    for (int k = 0; k < 10000; k++) { ap += 1; del *= x / ap; sum += del; if (Math.abs(del) < Math.abs(sum) * 2.220446049250313E-16) { break; } }
    return 1 - sum * pre;
  }
  double b = x + 1 - a; double c = 1 / 1.0E-300; double d = 1 / b; double h = d;
  for (int k = 1; k < 10000; k++) {
    double an = -k * (k - a); b += 2; d = an * d + b; if (Math.abs(d) < 1.0E-300) { d = 1.0E-300; }
    c = b + an / c; if (Math.abs(c) < 1.0E-300) { c = 1.0E-300; } d = 1 / d; double del = d * c; h *= del;
    if (Math.abs(del - 1) < 2.220446049250313E-16) { break; }
  }
  return pre * h;
}
double chi2sf(double x, int df) { if (x < 0) { return 1.0; } return gq(df / 2.0, x / 2); }
double ncdf(double x) { if (Double.isNaN(x)) { return Double.NaN; } double tail = 0.5 * gq(0.5, x * x / 2); return x >= 0 ? 1 - tail : tail; }
// pvalues.ts zTestFromCounts
double zp(List K, List ro, List co, double n1, double n2) {
  List rk = []; List ck = []; for (int k = 0; k < K.size(); k++) { if (ro[k] > 0) { rk.add(K[k]); } if (co[k] > 0) { ck.add(K[k]); } }
  if (rk.size() == 1 && ck.size() == 1 && rk[0] == ck[0]) { return 1.0; }
  int f = 0; for (int k = 1; k < K.size(); k++) { if (K[k].compareTo(K[f]) < 0) { f = k; } }
  double p1 = (n1 - ro[f]) / n1; double p2 = (n2 - co[f]) / n2; double pp = (p1 * n1 + p2 * n2) / (n1 + n2);
  double z = (p1 - p2) / Math.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2));
  return 2 * (1 - ncdf(Math.abs(z)));
}
// evaluate.ts scoreFromCounts over aligned counts (keys in the agent's order: reference first).
double score(String m, List keys, List rc, List cc, boolean keep, String zero, String jsBase, String jsOut) {
  double nr = 0; double nc = 0; for (int k = 0; k < rc.size(); k++) { nr += rc[k]; nc += cc[k]; }
  List K = []; List p = []; List q = []; List ro = []; List co = [];
  for (int k = 0; k < rc.size(); k++) { if (keep || rc[k] > 0 || cc[k] > 0) { K.add(keys[k]); p.add(rc[k] / nr); q.add(cc[k] / nc); ro.add(rc[k]); co.add(cc[k]); } }
  int len = p.size(); double sum = 0;
  if (m == 'psi' || m == 'kl_div') { p = zf(p, zero); q = zf(q, zero); }
  if (m == 'psi') { for (int k = 0; k < len; k++) { sum += (p[k] - q[k]) * Math.log(p[k] / q[k]); } return sum; }
  if (m == 'kl_div' || m == 'jensenshannon') {
    double sp = 0; double sq = 0; for (int k = 0; k < len; k++) { sp += p[k]; sq += q[k]; }
    double right = 0;
    for (int k = 0; k < len; k++) { double x = p[k] / sp; double y = q[k] / sq; if (m == 'kl_div') { sum += relEntr(x, y); } else { double mid = (x + y) / 2; sum += relEntr(x, mid); right += relEntr(y, mid); } }
    if (m == 'kl_div') { return sum; }
    double js = sum + right; if (jsBase == '2') { js /= Math.log(2); }
    return jsOut == 'divergence' ? js / 2 : Math.sqrt(js / 2);
  }
  if (m == 'hellinger') { for (int k = 0; k < len; k++) { sum += Math.sqrt(p[k] * q[k]); } sum = Math.min(Math.max(sum, 0), 1); return Math.sqrt(1 - sum); }
  if (m == 'l_infinity') { for (int k = 0; k < len; k++) { sum = Math.max(sum, Math.abs(p[k] - q[k])); } return sum; }
  if (m == 'chisquare') { double kn = nc / nr; for (int k = 0; k < len; k++) { double ex = ro[k] * kn; double dd = co[k] - ex; sum += dd * dd / ex; } return chi2sf(sum, len - 1); }
  if (m == 'z') { return zp(K, ro, co, nr, nc); }
  return Double.NaN;
}
// distances.ts populationStd (ddof 0, in the order given) and wassersteinSorted.
double pstd(List v) { double m = 0; for (def x : v) { m += x; } m /= v.size(); double ss = 0; for (def x : v) { double d = x - m; ss += d * d; } return Math.sqrt(ss / v.size()); }
double wass(List u, List v) {
  int nu = u.size(); int nv = v.size(); int i = 0; int j = 0; double total = 0; double u0 = u[0]; double v0 = v[0]; double prev = Math.min(u0, v0);
  while (i < nu || j < nv) { boolean tu = j >= nv || (i < nu && u[i] <= v[j]); double x = tu ? u[i] : v[j]; total += Math.abs((double) i / nu - (double) j / nv) * (x - prev); if (tu) { i++; } else { j++; } prev = x; }
  return total;
}
// ks.ts ksStatisticSorted: the largest gap of the two empirical CDFs, ties stepped together.
double ksD(List a, List b) {
  int n1 = a.size(); int n2 = b.size(); int i = 0; int j = 0; double hi = Double.NEGATIVE_INFINITY; double lo = Double.POSITIVE_INFINITY;
  while (i < n1 || j < n2) { double v = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j]; while (i < n1 && a[i] <= v) { i++; } while (j < n2 && b[j] <= v) { j++; } double d = (double) i / n1 - (double) j / n2; if (d > hi) { hi = d; } if (d < lo) { lo = d; } }
  double m = Math.min(Math.max(-lo, 0), 1); return m > hi ? m : hi;
}
// Kolmogorov's limiting distribution P(K > x) (scipy.special.kolmogorov): below 1 from the theta
// series of the CDF, sqrt(2 pi)/x * sum exp(-(2k-1)^2 pi^2 / (8 x^2)); above, 2 * sum (-1)^(k-1) exp(-2 k^2 x^2).
double kolm(double x) {
  if (x <= 0) { return 1.0; }
  double sum = 0;
  if (x < 1) { for (int k = 1; k < 100; k++) { double t = Math.exp(-(2 * k - 1) * (2 * k - 1) * Math.PI * Math.PI / (8 * x * x)); sum += t; if (t <= 1.0E-17 * sum) { break; } } return 1 - Math.sqrt(2 * Math.PI) / x * sum; }
  for (int k = 1; k < 100; k++) { double t = Math.exp(-2.0 * k * k * x * x); sum += k % 2 == 1 ? t : -t; if (t < 1.0E-17) { break; } }
  return Math.min(Math.max(2 * sum, 0), 1);
}
// distances.ts hellinger (numeric): Sturges edges over the distinct pooled values, np.histogram densities.
List dens(List n, List e) { double tot = 0; for (def x : n) { tot += x; } List out = []; for (int k = 0; k < n.size(); k++) { double w = e[k + 1] - e[k]; out.add(n[k] / w / tot); } return out; }
double hellNum(List rs, List cs) {
  int n1 = rs.size(); int n2 = cs.size(); int i = 0; int j = 0; int nd = 0;
  while (i < n1 || j < n2) { double v = j >= n2 || (i < n1 && rs[i] <= cs[j]) ? rs[i] : cs[j]; nd++; while (i < n1 && rs[i] <= v) { i++; } while (j < n2 && cs[j] <= v) { j++; } }
  double r0 = rs[0]; double c0 = cs[0]; double r1 = rs[n1 - 1]; double c1 = cs[n2 - 1];
  List e = sturges(Math.min(r0, c0), Math.max(r1, c1), nd); List h1 = dens(hist(rs, e), e); List h2 = dens(hist(cs, e), e);
  double e0 = e[0]; double e1 = e[e.size() - 1]; double w = (e1 - e0) / (e.size() - 1); double bc = 0;
  for (int k = 0; k < h1.size(); k++) { bc += Math.sqrt(h1[k] * h2[k]) * w; }
  bc = Math.min(Math.max(bc, 0), 1); return Math.sqrt(1 - bc);
}
// distances.ts lInfinity on raw values: the largest difference of the value shares, walked in order.
double linf(List rs, List cs) {
  int n1 = rs.size(); int n2 = cs.size(); int i = 0; int j = 0; double d = 0;
  while (i < n1 || j < n2) { double v = j >= n2 || (i < n1 && rs[i] <= cs[j]) ? rs[i] : cs[j]; int i0 = i; int j0 = j; while (i < n1 && rs[i] <= v) { i++; } while (j < n2 && cs[j] <= v) { j++; } d = Math.max(d, Math.abs((double) (i - i0) / n1 - (double) (j - j0) / n2)); }
  return d;
}
// drift.ts defaultMethod (Evidently's routing) and isDrifted (p-values: ks <=, chisquare and z <; l_infinity >; distances >=).
String dm(boolean num, double nRef, double distinct) { if (nRef <= 1000) { if (num && distinct > 5) { return 'ks'; } return distinct > 2 ? 'chisquare' : 'z'; } if (num && distinct > 5) { return 'wasserstein'; } return 'jensenshannon'; }
boolean drifted(String m, double v, double t) { if (Double.isNaN(v)) { return false; } if (m == 'ks') { return v <= t; } if (m == 'chisquare' || m == 'z') { return v < t; } if (m == 'l_infinity') { return v > t; } return v >= t; }
// body.ts keyOf: booleans by key_as_string, numbers as JavaScript prints them.
String kstr(def b) { if (b.key_as_string == 'true' || b.key_as_string == 'false') { return b.key_as_string; } def k = b.key; if (k instanceof Number) { double d = k; if (d == Math.floor(d) && Math.abs(d) < 1.0E15) { return String.valueOf((long) d); } } return String.valueOf(k); }
// body.ts getPath: a dotted field of _source, as nested objects or as a key holding dots.
def getp(def o, String p) {
  if (!(o instanceof Map)) { return null; }
  if (o.containsKey(p)) { return o[p]; }
  int i = p.indexOf('.');
  while (i >= 0) { String h = p.substring(0, i); if (o.containsKey(h)) { def v = getp(o[h], p.substring(i + 1)); if (v != null) { return v; } } i = p.indexOf('.', i + 1); }
  return null;
}
// body.ts valuesSearch parse: the numbers of the field in the hits of one segment, ascending.
List vals(def resp, String path, List gb, Map seg) {
  List out = []; if (resp == null) { return out; }
  for (def h : resp.hits.hits) {
    def v = getp(h._source, path); if (!(v instanceof Number)) { continue; }
    boolean ok = true; for (def g : gb) { if (String.valueOf(getp(h._source, g)) != String.valueOf(seg[g])) { ok = false; } }
    if (ok) { double x = v; out.add(x); }
  }
  Collections.sort(out); return out;
}
`;

// plan.ts routeField / planPhase2: each field's route and method. Known at generation time from the
// profile; with a live reference and no profile decided here from the first segment's data, as the
// agent's phase 2 does: numeric when every present value is a number (stats count = terms total).
const SHIFT_SETUP = `
Map dec = new HashMap();
for (def f : params.fields) {
  if (f.route != null) { dec.put(f.field, [f.route, f.method, f.type]); continue; }
  def cs = c[0].size() > 0 ? c[0][0][f.stats] : null; def ct = c[0].size() > 0 ? c[0][0][f.terms] : null;
  def rt = r != null && r[0].size() > 0 ? r[0][0][f.ref_terms] : null;
  long present = 0; if (ct != null) { present = ct.sum_other_doc_count; for (def b : ct.buckets) { present += b.doc_count; } }
  long nref = 0; long rdistinct = 0;
  if (rt != null) { nref = rt.sum_other_doc_count; for (def b : rt.buckets) { nref += b.doc_count; } rdistinct = rt.buckets.size() + (rt.sum_other_doc_count > 0 ? params.terms_size : 0); }
  if (!(cs != null && cs.count > 0 && cs.count == present)) { dec.put(f.field, ['counts', params.method, 'cat']); continue; }
  String m = params.method == 'auto' ? dm(true, nref, rdistinct) : params.method;
  String rte = 'raw'; if (m == 'chisquare' || m == 'z') { rte = 'counts'; } else if (m == 'psi' || m == 'kl_div' || m == 'jensenshannon') { rte = rdistinct > 20 ? 'bins' : 'counts'; }
  dec.put(f.field, [rte, m, 'num']);
}
`;

// evaluate.ts distribution(): the score of each field in this segment; no verdict (skipped) when
// the window has no values of the field, or the reference has none (the agent's no_data / error).
// Raw values are sorted as doubles: a profile sample from the params mixes Integer and Double (3, 3.5),
// which Collections.sort cannot compare (found by running the scripts on the real engine).
const SHIFT_BODY = `
  for (def f : params.fields) {
    List d = dec[f.field]; String route = d[0]; String m = d[1]; boolean num = d[2] == 'num';
    List keys = []; List rc = []; List cc = []; String note = ''; double sc = 0; double tr = 0; double tc = 0;
    if (route == 'counts') {
      Map rm = new HashMap(); Map cm = new HashMap();
      if (r != null) { if (ra != null) { for (def b : ra[f.ref_terms].buckets) { String k = kstr(b); keys.add(k); rm.put(k, b.doc_count); } } }
      else { for (int q = 0; q < f.ref_keys.size(); q++) { keys.add(f.ref_keys[q]); rm.put(f.ref_keys[q], f.ref_counts[q]); } }
      for (def b : a[f.terms].buckets) { String k = kstr(b); if (!rm.containsKey(k)) { keys.add(k); } cm.put(k, b.doc_count); }
      for (def k : keys) { rc.add(rm.containsKey(k) ? rm[k] : 0); cc.add(cm.containsKey(k) ? cm[k] : 0); }
    } else if (route == 'bins') {
      def st = a[f.stats]; List e = null; List rv = [];
      List cv = vals(ctx.payload[f.values], f.path, params.group_by, c[1][i]);
      if (r == null) {
        rv = f.ref_sample;
        if (params.bins == 'reference_quantiles') { if (f.inner_edges != null) { e = [Double.NEGATIVE_INFINITY]; e.addAll(f.inner_edges); e.add(Double.POSITIVE_INFINITY); } }
        else if (st.count > 0 && st.min != null) { e = f.ref_min == null || f.ref_n <= 0 ? sturges(st.min, st.max, st.count) : sturges(Math.min(st.min, f.ref_min), Math.max(st.max, f.ref_max), f.ref_n + st.count); }
      } else if (ra != null) {
        def rs = ra[f.ref_stats];
        if (st.count > 0 && st.min != null && rs.count > 0 && rs.min != null) { e = sturges(Math.min(st.min, rs.min), Math.max(st.max, rs.max), st.count + rs.count); }
        rv = vals(ctx.payload[f.ref_values], f.path, params.ref_group_by, c[1][i]);
      }
      if (e == null) { continue; }
      rc = hist(rv, e); cc = hist(cv, e); for (int k = 0; k < rc.size(); k++) { keys.add(k); }
      if (cv.size() >= params.values_limit) { note = '; current bin counts from the first ' + params.values_limit + ' values of the window'; }
    } else {
      List cv = vals(ctx.payload[f.values], f.path, params.group_by, c[1][i]);
      List rv = r == null ? f.ref_sample : vals(ctx.payload[f.ref_values], f.path, params.ref_group_by, c[1][i]);
      if (cv.size() == 0 || rv.size() == 0) { continue; }
      double sd = pstd(rv); List rs = []; for (def x : rv) { double y = x; rs.add(y); } Collections.sort(rs); tr = rs.size(); tc = cv.size();
      if (m == 'ks') { double dks = ksD(rs, cv); sc = kolm(Math.sqrt(tr * tc / (tr + tc)) * dks); note = '; D = ' + dks + ', asymptotic p-value'; }
      else if (m == 'wasserstein') { sc = wass(rs, cv) / Math.max(sd, 0.001); }
      else if (m == 'hellinger') { sc = hellNum(rs, cv); }
      else if (m == 'l_infinity') { sc = linf(rs, cv); }
      else { continue; }
    }
    if (route != 'raw') {
      for (int k = 0; k < rc.size(); k++) { tr += rc[k]; tc += cc[k]; }
      if (tc == 0 || tr == 0) { continue; }
      if (m == null || m == 'auto') { m = dm(num, tr, keys.size()); }
      sc = score(m, keys, rc, cc, route == 'bins', params.zero_fill, params.js_base, params.js_output);
    }
    double t = params.threshold != null ? params.threshold : params.defaults[m];
    if (drifted(m, sc, t)) { breaches.add(breach(f.field, s, m, sc, t, m + ' on ' + (long) tc + ' current and ' + (long) tr + ' reference values' + note)); }
  }`;

const CONDITION_TAIL = `
}
return breaches.size() > 0;`;

const TRANSFORM_TAIL = `
}
long to = ctx.trigger.scheduled_time.toInstant().toEpochMilli() - params.delay_ms;
return ['breaches': breaches, 'breach_count': breaches.size(), 'window_from': Instant.ofEpochMilli(to - params.window_ms).toString(), 'window_to': Instant.ofEpochMilli(to).toString()];`;

/** Collapses the indentation: the script is stored in the watch and shown in Kibana. */
function compact(src: string): string {
  return src.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('//')).join('\n');
}

export type ScriptedType = RuleType;

function script(type: ScriptedType, tail: string): string {
  if (type === 'model_quality') return compact(FUNCTIONS + QUALITY_FUNCTIONS + QUALITY_MAIN + QUALITY_LOOP + tail);
  if (type === 'distribution_shift') return compact(FUNCTIONS + SHIFT_FUNCTIONS + MAIN + SHIFT_SETUP + LOOP + SHIFT_BODY + tail);
  return compact(FUNCTIONS + MAIN + LOOP + BODIES[type] + tail);
}

export function conditionScript(type: ScriptedType): string {
  return script(type, CONDITION_TAIL);
}

export function transformScript(type: ScriptedType): string {
  return script(type, TRANSFORM_TAIL);
}

/** The Painless functions of distribution_shift alone (the tests translate and call them one by one). */
export const SHIFT_FUNCTIONS_SOURCE = compact(SHIFT_FUNCTIONS);
