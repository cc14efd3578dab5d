/**
 * A small aggregation evaluator for the fake Elasticsearch (es-server.ts `onSearch`): computes the
 * aggregations the rule backend uses from the stored documents and answers IN THE REAL RESPONSE
 * FORMAT of test/fixtures/elastic/es/search/aggs/ (typed_keys off):
 *   terms       { doc_count_error_upper_bound, sum_other_doc_count, buckets: [{ key, doc_count }] }
 *               (numbers as numbers; booleans as key 1/0 with key_as_string "true"/"false")
 *   filter      { doc_count, ...sub-aggregations }
 *   sum         { value }
 *   extended_stats  { count, min, max, avg, sum, sum_of_squares, variance*, std_deviation*, std_deviation_bounds }
 *   percentiles { values: { "50.0": v } }   (keyed; linear interpolation between closest ranks)
 *   range       { buckets: [{ key: "a-b" | "*-b" | "a-*", from, to, doc_count }] } in request order
 * Filters may hold a `terms` lookup ({ index, id, path }): it is resolved from the stored document,
 * as Elasticsearch does, so the unseen-category filter is tested for real.
 */
import { getField, matches, type SearchHook, type StoredDoc } from './es-server.ts';

type Json = Record<string, unknown>;

function flat(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.flat(Infinity) : [v];
}

/** Java's Double.toString for the numbers we meet: 50 -> "50.0", 99.9 -> "99.9". */
export function javaDouble(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** Replaces terms lookups with the values they point at. */
function resolveLookups(q: unknown, lookup: (index: string, id: string) => StoredDoc | undefined): unknown {
  if (Array.isArray(q)) return q.map((x) => resolveLookups(x, lookup));
  if (q === null || typeof q !== 'object') return q;
  const o = q as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'terms' && v && typeof v === 'object' && !Array.isArray(v)) {
      const t: Json = {};
      for (const [field, spec] of Object.entries(v as Json)) {
        if (spec && typeof spec === 'object' && !Array.isArray(spec) && 'index' in (spec as Json)) {
          const s = spec as { index: string; id: string; path: string };
          const doc = lookup(s.index, s.id);
          t[field] = flat(doc ? getField(doc._source, s.path) : undefined);
        } else {
          t[field] = spec;
        }
      }
      out[k] = t;
    } else {
      out[k] = resolveLookups(v, lookup);
    }
  }
  return out;
}

function numbers(docs: StoredDoc[], field: string): number[] {
  const out: number[] = [];
  for (const d of docs) for (const v of flat(getField(d._source, field))) if (typeof v === 'number') out.push(v);
  return out;
}

function quantile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function evalAggs(aggs: Json, docs: StoredDoc[], lookup: (index: string, id: string) => StoredDoc | undefined): Json {
  const out: Json = {};
  for (const [name, spec] of Object.entries(aggs)) {
    const s = spec as Json;
    const sub = (s.aggs ?? s.aggregations) as Json | undefined;
    const withSub = (o: Json, subset: StoredDoc[]): Json => (sub ? { ...o, ...evalAggs(sub, subset, lookup) } : o);
    if (s.terms) {
      const t = s.terms as { field: string; size?: number; include?: string[] };
      const groups = new Map<string, { key: unknown; docs: StoredDoc[] }>();
      for (const d of docs) {
        const seen = new Set<string>();
        for (const v of flat(getField(d._source, t.field))) {
          const k = typeof v === 'boolean' ? `b:${v}` : typeof v === 'number' ? `n:${v}` : `s:${String(v)}`;
          if (seen.has(k)) continue;
          seen.add(k);
          if (t.include && !t.include.includes(String(v))) continue;
          let g = groups.get(k);
          if (!g) groups.set(k, (g = { key: v, docs: [] }));
          g.docs.push(d);
        }
      }
      const all = [...groups.values()].sort((a, b) => b.docs.length - a.docs.length || (String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0));
      const size = t.size ?? 10;
      const top = all.slice(0, size);
      out[name] = {
        doc_count_error_upper_bound: 0,
        sum_other_doc_count: all.slice(size).reduce((n, g) => n + g.docs.length, 0),
        buckets: top.map((g) => withSub(typeof g.key === 'boolean' ? { key: g.key ? 1 : 0, key_as_string: String(g.key), doc_count: g.docs.length } : { key: g.key, doc_count: g.docs.length }, g.docs)),
      };
    } else if (s.filter) {
      const q = resolveLookups(s.filter, lookup);
      const subset = docs.filter((d) => matches(d, q));
      out[name] = withSub({ doc_count: subset.length }, subset);
    } else if (s.sum) {
      out[name] = { value: numbers(docs, (s.sum as Json).field as string).reduce((a, b) => a + b, 0) };
    } else if (s.extended_stats || s.stats) {
      const xs = numbers(docs, ((s.extended_stats ?? s.stats) as Json).field as string);
      const n = xs.length;
      const sum = xs.reduce((a, b) => a + b, 0);
      const sumSq = xs.reduce((a, b) => a + b * b, 0);
      const avg = n ? sum / n : null;
      const variance = n ? sumSq / n - (avg! * avg!) : null;
      const base: Json = { count: n, min: n ? Math.min(...xs) : null, max: n ? Math.max(...xs) : null, avg, sum };
      if (s.extended_stats) {
        const vs = n > 1 ? (variance! * n) / (n - 1) : null;
        Object.assign(base, {
          sum_of_squares: n ? sumSq : null, variance, variance_population: variance, variance_sampling: vs,
          std_deviation: variance === null ? null : Math.sqrt(variance), std_deviation_population: variance === null ? null : Math.sqrt(variance),
          std_deviation_sampling: vs === null ? null : Math.sqrt(vs),
          std_deviation_bounds: variance === null ? { upper: null, lower: null, upper_population: null, lower_population: null, upper_sampling: null, lower_sampling: null } : {
            upper: avg! + 2 * Math.sqrt(variance), lower: avg! - 2 * Math.sqrt(variance),
            upper_population: avg! + 2 * Math.sqrt(variance), lower_population: avg! - 2 * Math.sqrt(variance),
            upper_sampling: vs === null ? null : avg! + 2 * Math.sqrt(vs), lower_sampling: vs === null ? null : avg! - 2 * Math.sqrt(vs),
          },
        });
      }
      out[name] = base;
    } else if (s.percentiles) {
      const p = s.percentiles as { field: string; percents?: number[] };
      const xs = numbers(docs, p.field).sort((a, b) => a - b);
      const percents = p.percents ?? [1, 5, 25, 50, 75, 95, 99];
      out[name] = { values: Object.fromEntries(percents.map((x) => [javaDouble(x), quantile(xs, x)])) };
    } else if (s.range) {
      const r = s.range as { field: string; ranges: { from?: number; to?: number }[] };
      out[name] = {
        buckets: r.ranges.map((rg) => {
          const subset = docs.filter((d) => numbers([d], r.field).some((v) => (rg.from === undefined || v >= rg.from) && (rg.to === undefined || v < rg.to)));
          const b: Json = { key: `${rg.from === undefined ? '*' : javaDouble(rg.from)}-${rg.to === undefined ? '*' : javaDouble(rg.to)}` };
          if (rg.from !== undefined) b.from = rg.from;
          if (rg.to !== undefined) b.to = rg.to;
          b.doc_count = subset.length;
          return withSub(b, subset);
        }),
      };
    } else {
      throw new Error(`es-aggs: aggregation ${JSON.stringify(Object.keys(s))} is not implemented`);
    }
  }
  return out;
}

/** An onSearch hook answering aggregations from the matching documents; `lookup` resolves terms lookups. */
export function aggregationsHook(lookup: (index: string, id: string) => StoredDoc | undefined): SearchHook {
  return (req) => {
    const aggs = (req.body.aggs ?? req.body.aggregations) as Json | undefined;
    if (!aggs) return undefined;
    return { aggregations: evalAggs(aggs, req.hits, lookup) };
  };
}
