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
 * - With a live reference (offset or segment) the watch's input is a chain of two searches,
 *   `current` and `reference`; `refOf` finds the reference segment of a current segment by the
 *   reference's group_by fields (plan.ts refKeyFor). A missing reference segment counts 0.
 * - A segment with fewer documents than min_samples gives no verdict (evaluate.ts no_data).
 *
 * Params common to all: chain, group_by, ref_group_by, min_samples, delay_ms, window_ms.
 */
import type { RuleType } from '../rules/result.ts';

const PRELUDE = `
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
List c = walk(params.chain ? ctx.payload.current : ctx.payload, params.group_by);
List r = params.chain ? walk(ctx.payload.reference, params.ref_group_by) : null;
List breaches = [];
for (int i = 0; i < c[0].size(); i++) {
  def a = c[0][i]; long n = c[2][i]; String s = segName(c[1][i], params.group_by);
  if (n < params.min_samples) { continue; }
  def ra = null; long rn = 0;
  if (r != null) { int j = refOf(c[1][i], r[1], params.ref_group_by); if (j >= 0) { ra = r[0][j]; rn = r[2][j]; } }
`;

/**
 * Per type, the body of the segment loop (a, n, s, ra, rn in scope). Each follows evaluate.ts.
 */
const BODIES: Record<Exclude<RuleType, 'distribution_shift'>, string> = {
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
    double mean = cnt > 0 ? st.sum / cnt : Double.NaN;
    double vp = cnt > 0 ? Math.max(0.0, st.sum_of_squares / cnt - mean * mean) : Double.NaN;
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
        if (ra != null) { def q = ra[f.ref_stats]; long rc = q.count; if (rc > 0) { double m0 = q.sum / rc; rm = m0; double rvp = Math.max(0.0, q.sum_of_squares / rc - m0 * m0); rs = rc > 1 ? Math.sqrt(rvp * rc / (rc - 1)) : Double.NaN; } }
      }
      if (rm != null && rs != null) {
        double se = rs / Math.sqrt(Math.max(cnt, 1)); double dist = Math.abs(mean - rm);
        if (dist > params.k * se) { def v = null; if (se > 0) { v = dist / se; } breaches.add(breach(f.field, s, 'mean_se_distance', v, params.k, 'mean ' + mean + ', reference mean ' + rm)); }
      }
    }
  }`,
};

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

export type ScriptedType = keyof typeof BODIES;

export function conditionScript(type: ScriptedType): string {
  return compact(PRELUDE + BODIES[type] + CONDITION_TAIL);
}

export function transformScript(type: ScriptedType): string {
  return compact(PRELUDE + BODIES[type] + TRANSFORM_TAIL);
}
