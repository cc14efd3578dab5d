/**
 * The Painless of a model_quality watch: every metric of agent/rules/quality.ts qualityMetrics()
 * from the same aggregations (backends/elasticsearch/quality.ts), then the bounds as
 * evaluateQuality() judges them. The shared prelude (walk, refOf, segName, breach) is scripts.ts'.
 *
 * Input chain: `current` is the count of predictions (label coverage's denominator), `outcomes`
 * the outcome search of the window, `reference` the same search on the reference window
 * or segment (reference offset / segment). A profile's validation metrics come in params.ref_metrics.
 *
 * Params: task, positive, bins, metrics [{ metric, field, min, max, max_drop, max_increase }],
 * ref_metrics (a map or null), and the common ones (scripts.ts).
 */

/** qm(): qualityMetrics() of one segment's outcome aggregations (null: no outcome). */
export const QUALITY_FUNCTIONS = `
// A search of no index (no outcome yet) answers without aggregations: no segment, or one empty segment without group_by.
List qwalk(def resp, List gb) {
  if (resp == null) { return gb.isEmpty() ? [[null], [new HashMap()], [0L]] : [[], [], []]; }
  if (resp.aggregations == null && !gb.isEmpty()) { return [[], [], []]; }
  return walk(resp, gb);
}
double qdiv(double a, double b) { return b == 0 ? 0.0 : a / b; }
void qclass(def a, Map v, String pos, long labelled) {
  Map tp = new HashMap(); Map sup = new HashMap(); Map pred = new HashMap(); long correct = 0;
  for (def b : a.cm.buckets) {
    String ak = String.valueOf(b.key);
    for (def p : b.p.buckets) {
      String pk = String.valueOf(p.key); long k = p.doc_count;
      sup.put(ak, sup.getOrDefault(ak, 0L) + k); pred.put(pk, pred.getOrDefault(pk, 0L) + k);
      if (ak == pk) { tp.put(ak, tp.getOrDefault(ak, 0L) + k); correct += k; }
    }
  }
  Set labels = new HashSet(sup.keySet()); labels.addAll(pred.keySet());
  double mp = 0; double mr = 0; double mf = 0; double wp = 0; double wr = 0; double wf = 0;
  v.put('precision', 0.0); v.put('recall', 0.0); v.put('f1', 0.0);
  for (String l : labels) {
    long t = tp.getOrDefault(l, 0L); long s = sup.getOrDefault(l, 0L); long fp = pred.getOrDefault(l, 0L) - t; long fn = s - t;
    double pr = qdiv(t, t + fp); double rc = qdiv(t, t + fn); double f = qdiv(2 * t, 2 * t + fp + fn);
    mp += pr; mr += rc; mf += f; wp += s * pr; wr += s * rc; wf += s * f;
    if (l == pos) { v.put('precision', pr); v.put('recall', rc); v.put('f1', f); }
  }
  v.put('accuracy', (double) correct / labelled);
  v.put('precision_macro', qdiv(mp, labels.size())); v.put('recall_macro', qdiv(mr, labels.size())); v.put('f1_macro', qdiv(mf, labels.size()));
  v.put('precision_weighted', qdiv(wp, labelled)); v.put('recall_weighted', qdiv(wr, labelled)); v.put('f1_weighted', qdiv(wf, labelled));
}
void qscores(def a, Map v, int bins) {
  double[] ps = new double[bins]; double[] ns = new double[bins]; long scored = 0; double ll = 0;
  for (def b : a.bins.buckets) { int k = (int) b.key; double p = b.pos.value; ps[k] = p; ns[k] = b.doc_count - p; scored += b.doc_count; ll += b.ll.value; }
  if (scored == 0) { return; }
  double below = 0; double wins = 0; double ties = 0; double np = 0;
  for (int k = 0; k < bins; k++) { wins += ps[k] * below; ties += ps[k] * ns[k]; below += ns[k]; np += ps[k]; }
  if (np > 0 && below > 0) { v.put('roc_auc', (wins + ties / 2) / (np * below)); v.put('auc_error_bound', ties / 2 / (np * below)); }
  v.put('log_loss', ll / scored);
}
void qreg(def a, Map v, long labelled) {
  double n = labelled; double se = a.se.value; double mse = se / n; double sst = a.a2.value - a.a.value * a.a.value / n;
  v.put('mae', a.ae.value / n); v.put('mse', mse); v.put('rmse', Math.sqrt(mse)); v.put('mape', a.ape.value / n); v.put('mean_error', a.e.value / n);
  v.put('r2', sst <= 0 ? (se == 0 ? 1.0 : 0.0) : 1 - se / sst);
}
Map qm(def a, long docs, long predictions, def p) {
  Map v = new HashMap(); long labelled = 0; boolean reg = p.task == 'regression';
  if (a != null) { if (reg) { labelled = docs; } else { for (def b : a.cm.buckets) { for (def x : b.p.buckets) { labelled += x.doc_count; } } } }
  long preds = predictions < 0 ? labelled : predictions;
  v.put('labelled', labelled); v.put('predictions', preds); v.put('label_coverage', preds > 0 ? (double) labelled / preds : 0.0);
  if (labelled == 0) { return v; }
  if (reg) { qreg(a, v, labelled); } else { qclass(a, v, String.valueOf(p.positive), labelled); qscores(a, v, (int) p.bins); }
  return v;
}
String qwhy(def m, double x, def rx) {
  if (m.min != null && x < m.min) { return 'below min ' + m.min; }
  if (m.max != null && x > m.max) { return 'above max ' + m.max; }
  if (rx != null && m.max_drop != null && x < rx - m.max_drop) { return 'more than ' + m.max_drop + ' below the reference ' + rx; }
  if (rx != null && m.max_increase != null && x > rx + m.max_increase) { return 'more than ' + m.max_increase + ' above the reference ' + rx; }
  return null;
}
def qlimit(def m, def rx) {
  if (m.min != null) { return m.min; } if (m.max != null) { return m.max; }
  if (m.max_drop != null) { return rx - m.max_drop; } return rx + m.max_increase;
}
`;

/** The segments: those with outcomes, then those with predictions only; [values, outcome aggs, outcome docs, predictions]. */
export const QUALITY_MAIN = `
List c = qwalk(ctx.payload.current, params.group_by);
List o = qwalk(ctx.payload.outcomes, params.group_by);
List r = ctx.payload.reference != null ? qwalk(ctx.payload.reference, params.ref_group_by) : null;
List breaches = [];
List segs = [];
for (int i = 0; i < o[0].size(); i++) { int j = refOf(o[1][i], c[1], params.group_by); segs.add([o[1][i], o[0][i], o[2][i], j >= 0 ? c[2][j] : 0L]); }
for (int i = 0; i < c[0].size(); i++) { if (refOf(c[1][i], o[1], params.group_by) < 0) { segs.add([c[1][i], null, 0L, c[2][i]]); } }
`;

/** evaluateQuality(): no verdict under min_samples or without a value; the first breached bound. */
export const QUALITY_LOOP = `
for (def g : segs) {
  Map v = qm(g[1], (long) g[2], (long) g[3], params); long labelled = v.labelled; String s = segName(g[0], params.group_by);
  def refv = params.ref_metrics;
  if (r != null) {
    refv = null; int j = refOf(g[0], r[1], params.ref_group_by);
    if (j >= 0) { Map rv = qm(r[0][j], (long) r[2][j], -1L, params); if (rv.labelled >= params.min_samples && rv.labelled > 0) { refv = rv; } }
  }
  for (def m : params.metrics) {
    String k = m.metric;
    if (labelled < params.min_samples || (labelled == 0 && k != 'label_coverage')) { continue; }
    def x = v[k];
    if (x == null || Double.isNaN(x) || Double.isInfinite(x)) { continue; }
    def rx = refv != null ? refv[k] : null;
    if ((m.max_drop != null || m.max_increase != null) && rx == null && m.min == null && m.max == null) { continue; }
    String why = qwhy(m, x, rx);
    if (why != null) { breaches.add(breach(m.field, s, k, x, qlimit(m, rx), k + ' ' + x + ' ' + why + '; ' + labelled + ' labelled of ' + v.predictions + ' predictions')); }
  }
`;
