/**
 * Plan queries -> Elasticsearch search bodies (typed with the client's estypes) and back, pure.
 *
 * Queries with the same filter and group_by share one search body (one aggregation per query);
 * raw values get a body of their own (hits, not aggregations). The runner sends every body of a
 * tick in one `_msearch`. group_by becomes nested `terms` aggregations, one level per segment field.
 * Category sets are never inlined: the unseen filter is a `terms` lookup on the reference index
 * (`must_not: terms { features.x: { index, id, path: category_values } }`).
 *
 * Responses are parsed in Elasticsearch's real formats (test/fixtures/elastic/es/search/): terms
 * buckets with `key` (numbers as numbers, booleans as 1/0 with `key_as_string`), `sum_other_doc_count`,
 * `filter` doc_count, `sum` value, `extended_stats`, keyed `percentiles` ("50.0"), `range` buckets
 * in request order; typed_keys off.
 */
import type { estypes } from '@elastic/elasticsearch';
import { predictionsStream } from '../../normalize/document.ts';
import { referenceDocId } from '../../reference/profile.ts';
import { qualitySearch } from './quality.ts';
import { cappedSizes, DEFAULT_MAX_BUCKETS, packQueries } from './buckets.ts';
import { segmentKey, sortBuckets, type Bucket, type Payload, type Query, type SegmentAnswers } from '../../rules/query.ts';
import { eachSegment, filterOf, keyOf, nest, type CompiledSearch, type EsJson } from './search.ts';

export { eachSegment, filterOf, nest, type CompiledSearch, type EsJson } from './search.ts';

export interface EsOptions {
  /** Index prefix (output.elasticsearch.index_prefix). */
  indexPrefix?: string;
  /** Buckets per segment field (group_by). */
  segmentSize?: number;
  /** The engine's search.max_buckets (default 65,535): no body asks for more (buckets.ts). */
  maxBuckets?: number;
  /** Each query in a body of its own with sizes capped to the worst case (a retry after too_many_buckets). */
  capped?: boolean;
}

const SEGMENT_SIZE = 1000;
/** Elasticsearch's default index.max_result_window: a larger `size` is refused. */
export const MAX_RESULT_WINDOW = 10_000;

/** The value of a field when it is a number, else none (null: the document is left out of the statistic). */
export const NUMERIC_ONLY_SCRIPT = "if (!doc.containsKey(params.field)) { return null; } def v = doc[params.field]; if (v.size() == 0) { return null; } def x = v[0]; return x instanceof Number ? ((Number) x).doubleValue() : null;";

/** A model without documents yet is an empty window (no_data, or a volume alarm), not an error. */
function header(prefix: string, model: string): estypes.MsearchMultisearchHeader {
  return { index: predictionsStream(prefix, model), ignore_unavailable: true, allow_no_indices: true };
}

function groupKey(q: Query): string {
  return JSON.stringify([q.filter.model, q.filter.version ?? null, q.filter.from, q.filter.to, q.filter.segment ?? null, q.groupBy]);
}

/** Field of a text statistic: `text.<name>.<what>`. */
function textField(name: string, what: 'token_count' | 'oov_count' | 'oov_tokens'): string {
  return `text.${name}.${what}`;
}

function aggsFor(q: Query, name: string, prefix: string): Record<string, estypes.AggregationsAggregationContainer> {
  switch (q.kind) {
    case 'count':
      return {};
    case 'missing':
      return { [name]: { terms: { field: 'missing', include: q.names, size: Math.max(1, q.names.length) } } };
    case 'terms':
      return { [name]: { terms: { field: q.field, size: q.size } } };
    case 'unseen': {
      const lookup: estypes.QueryDslTermsLookup = {
        index: `${prefix}-reference`,
        id: referenceDocId(q.reference.model, q.reference.version, q.reference.field),
        path: 'category_values',
      };
      return {
        [`${name}_present`]: { filter: { exists: { field: q.field } } },
        [name]: {
          filter: { bool: { filter: [{ exists: { field: q.field } }], must_not: [{ terms: { [q.field]: lookup } }] } },
          aggs: { values: { terms: { field: q.field, size: q.size } } },
        },
      };
    }
    case 'text':
      return {
        [`${name}_docs`]: { filter: { exists: { field: textField(q.field, 'token_count') } } },
        [`${name}_tokens`]: { sum: { field: textField(q.field, 'token_count') } },
        [`${name}_oov`]: { sum: { field: textField(q.field, 'oov_count') } },
      };
    case 'oov_terms':
      return { [name]: { terms: { field: textField(q.field, 'oov_tokens'), size: q.size } } };
    case 'stats':
      // extended_stats on a keyword field makes the engine refuse the whole search item
      // (illegal_argument_exception: "Field [x] of type [keyword] is not supported"): a field of
      // unknown type is read through a script that keeps numbers only (DuckDB's num column).
      if (q.numericOnly) return { [name]: { extended_stats: { script: { source: NUMERIC_ONLY_SCRIPT, params: { field: q.field } } } } };
      return { [name]: { extended_stats: { field: q.field } } };
    case 'percentiles':
      return { [name]: { percentiles: { field: q.field, percents: q.percents } } };
    case 'range': {
      const e = q.edges;
      // [e_i, e_i+1) as Elasticsearch's range does; the last bin is open above (the edges end at the max).
      const ranges: estypes.AggregationsAggregationRange[] = [];
      for (let i = 0; i + 1 < e.length; i++) ranges.push(i + 2 < e.length ? { from: e[i]!, to: e[i + 1]! } : { from: e[i]! });
      return { [name]: { range: { field: q.field, ranges } } };
    }
    case 'values':
      return { [name]: { filter: { exists: { field: q.field } } } };
    case 'quality':
      return {}; // a search of its own (quality.ts)
  }
}

function bucketsOf(agg: unknown): { buckets: Bucket[]; other: number } {
  const a = (agg ?? {}) as { buckets?: EsJson[]; sum_other_doc_count?: number };
  return { buckets: sortBuckets((a.buckets ?? []).map((b) => ({ key: keyOf(b), count: Number(b.doc_count) }))), other: Number(a.sum_other_doc_count ?? 0) };
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function payloadOf(q: Query, name: string, aggs: EsJson, docCount: number): Payload | undefined {
  switch (q.kind) {
    case 'count':
      return { kind: 'count', count: docCount };
    case 'missing': {
      const b = bucketsOf(aggs[name]);
      const counts: Record<string, number> = Object.fromEntries(q.names.map((n) => [n, 0]));
      for (const x of b.buckets) counts[x.key] = x.count;
      return { kind: 'missing', total: docCount, counts };
    }
    case 'terms':
      return { kind: 'terms', ...bucketsOf(aggs[name]) };
    case 'oov_terms':
      return { kind: 'oov_terms', ...bucketsOf(aggs[name]) };
    case 'unseen': {
      const u = (aggs[name] ?? {}) as EsJson;
      return {
        kind: 'unseen',
        present: Number((aggs[`${name}_present`] as EsJson | undefined)?.doc_count ?? 0),
        unseen: Number(u.doc_count ?? 0),
        ...bucketsOf(u.values),
      };
    }
    case 'text':
      return {
        kind: 'text',
        docs: Number((aggs[`${name}_docs`] as EsJson | undefined)?.doc_count ?? 0),
        tokens: Number((aggs[`${name}_tokens`] as EsJson | undefined)?.value ?? 0),
        oov: Number((aggs[`${name}_oov`] as EsJson | undefined)?.value ?? 0),
      };
    case 'stats': {
      const s = (aggs[name] ?? {}) as EsJson;
      return { kind: 'stats', count: Number(s.count ?? 0), min: numOrNull(s.min), max: numOrNull(s.max), sum: Number(s.sum ?? 0), sumOfSquares: Number(s.sum_of_squares ?? 0) };
    }
    case 'percentiles': {
      const raw = ((aggs[name] ?? {}) as EsJson).values;
      // keyed (default): { "50.0": v }; keyed: false: [{ key: 50, value: v }].
      const entries: [number, unknown][] = Array.isArray(raw)
        ? (raw as EsJson[]).map((e) => [Number(e.key), e.value])
        : Object.entries((raw ?? {}) as EsJson).filter(([k]) => !k.endsWith('_as_string')).map(([k, v]) => [Number(k), v]);
      return { kind: 'percentiles', values: Object.fromEntries(q.percents.map((p) => [String(p), numOrNull(entries.find(([k]) => k === p)?.[1])])) };
    }
    case 'range': {
      const b = (((aggs[name] ?? {}) as EsJson).buckets ?? []) as EsJson[] | Record<string, EsJson>;
      const list = Array.isArray(b) ? b : Object.values(b);
      return { kind: 'range', counts: q.edges.slice(1).map((_, i) => Number(list[i]?.doc_count ?? 0)) };
    }
    case 'values':
    case 'quality':
      return undefined;
  }
}

function hitsTotal(resp: EsJson): number {
  const t = (resp.hits as EsJson | undefined)?.total;
  return typeof t === 'number' ? t : Number((t as EsJson | undefined)?.value ?? 0);
}

function getPath(src: unknown, path: string): unknown {
  if (src === null || typeof src !== 'object') return undefined;
  const o = src as EsJson;
  if (path in o) return o[path];
  const i = path.indexOf('.');
  if (i < 0) return undefined;
  // Documents hold `features` as an object whose keys may themselves contain dots.
  for (let j = i; j >= 0; j = path.indexOf('.', j + 1)) {
    const head = path.slice(0, j);
    if (head in o) {
      const v = getPath(o[head], path.slice(j + 1));
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** Compiles queries into searches (one per filter + group_by, one per values query). */
export function compileSearches(queries: readonly Query[], options: EsOptions = {}): CompiledSearch[] {
  const prefix = options.indexPrefix ?? 'driftbeat';
  const segSize = options.segmentSize ?? SEGMENT_SIZE;
  const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  const out: CompiledSearch[] = [];
  const groups = new Map<string, Query[]>();
  for (const q of queries) {
    if (q.kind === 'values') {
      out.push(valuesSearch(q, prefix, segSize));
      continue;
    }
    if (q.kind === 'quality') {
      out.push(qualitySearch(q, prefix, segSize));
      continue;
    }
    const k = groupKey(q);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(q);
  }
  for (const group of groups.values()) {
    if (options.capped) {
      for (const q of group) {
        const c = cappedSizes(q, segSize, maxBuckets);
        const sized = (c.size !== undefined ? { ...q, size: c.size } : q) as Query;
        out.push({ ...groupSearch([sized], prefix, c.segmentSize, [q.id]), queries: [q] });
      }
      continue;
    }
    for (const g of packQueries(group, maxBuckets)) out.push({ ...groupSearch(g, prefix, segSize), queries: g });
  }
  return out;
}

/** One body for queries of one filter + group_by (one aggregation each); `ids` as answered. */
function groupSearch(g: Query[], prefix: string, segSize: number, ids = g.map((q) => q.id)): CompiledSearch {
  const first = g[0]!;
  const inner: Record<string, estypes.AggregationsAggregationContainer> = {};
  g.forEach((q, i) => Object.assign(inner, aggsFor(q, `q${i}`, prefix)));
  const body: estypes.MsearchMultisearchBody = {
    size: 0,
    track_total_hits: true,
    query: { bool: { filter: filterOf(first.filter) } },
  };
  const aggs = nest(first.groupBy, inner, segSize);
  if (Object.keys(aggs).length) body.aggs = aggs;
  return {
    header: header(prefix, first.filter.model),
    body,
    ids,
    parse(resp) {
      const res = new Map<string, SegmentAnswers>(ids.map((id) => [id, new Map()]));
      const visit = (seg: string, a: EsJson, docCount: number | undefined) => {
        const n = docCount ?? hitsTotal(resp);
        g.forEach((q, i) => {
          const p = payloadOf(q, `q${i}`, a, n);
          if (p) res.get(ids[i]!)!.set(seg, p);
        });
      };
      if (first.groupBy.length === 0) visit('', (resp.aggregations ?? {}) as EsJson, undefined);
      else eachSegment(resp.aggregations as EsJson | undefined, first.groupBy, 0, [], visit);
      return res;
    },
  };
}

function valuesSearch(q: Extract<Query, { kind: 'values' }>, prefix: string, segSize: number): CompiledSearch {
  const body: estypes.MsearchMultisearchBody = {
    size: Math.min(q.limit, MAX_RESULT_WINDOW),
    track_total_hits: true,
    query: { bool: { filter: [...filterOf(q.filter), { exists: { field: q.field } }] } },
    _source: { includes: [q.field, ...q.groupBy] },
    // A stable order, so the same window gives the same subset above the limit.
    sort: [{ 'event.id': { order: 'asc' } }],
  };
  const aggs = nest(q.groupBy, {}, segSize);
  if (Object.keys(aggs).length) body.aggs = aggs;
  return {
    header: header(prefix, q.filter.model),
    body,
    ids: [q.id],
    parse(resp) {
      const seg = new Map<string, Payload>();
      if (q.groupBy.length === 0) seg.set('', { kind: 'values', values: [], total: hitsTotal(resp) });
      else eachSegment(resp.aggregations as EsJson | undefined, q.groupBy, 0, [], (k, _a, n) => seg.set(k, { kind: 'values', values: [], total: n ?? 0 }));
      for (const h of ((resp.hits as EsJson | undefined)?.hits ?? []) as EsJson[]) {
        const v = getPath(h._source, q.field);
        if (typeof v !== 'number') continue;
        const k = segmentKey(q.groupBy, q.groupBy.map((g) => String(getPath(h._source, g))));
        const a = seg.get(k);
        if (a?.kind === 'values') a.values.push(v);
      }
      for (const a of seg.values()) if (a.kind === 'values') a.values.sort((x, y) => x - y);
      return new Map([[q.id, seg]]);
    },
  };
}
