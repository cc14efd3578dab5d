/**
 * What every Elasticsearch search of a rule plan shares (pure): the compiled search, the filter of
 * a side, nested segment aggregations and the walk over their buckets. body.ts (the aggregations
 * of most query kinds) and quality.ts (model_quality's) build their searches from these.
 */
import type { estypes } from '@elastic/elasticsearch';
import { segmentKey, type Query, type SegmentAnswers, type Side } from '../../rules/query.ts';

export interface CompiledSearch {
  header: estypes.MsearchMultisearchHeader;
  body: estypes.MsearchMultisearchBody;
  /** Query ids answered by this search. */
  ids: string[];
  /** The queries it answers (aggregation searches), so that a refused body can be compiled again. */
  queries?: Query[];
  parse(response: EsJson): Map<string, SegmentAnswers>;
}

export type EsJson = Record<string, unknown>;

export function filterOf(side: Side): estypes.QueryDslQueryContainer[] {
  const f: estypes.QueryDslQueryContainer[] = [
    { term: { 'model.name': side.model } },
    { range: { '@timestamp': { gte: side.from, lt: side.to, format: 'strict_date_optional_time' } } },
  ];
  if (side.version !== undefined) f.push({ term: { 'model.version': side.version } });
  for (const [k, v] of Object.entries(side.segment ?? {})) f.push({ term: { [k]: v } });
  return f;
}

export function nest(groupBy: readonly string[], inner: Record<string, estypes.AggregationsAggregationContainer>, size: number): Record<string, estypes.AggregationsAggregationContainer> {
  let aggs = inner;
  for (let i = groupBy.length - 1; i >= 0; i--) {
    aggs = { [`seg${i}`]: { terms: { field: groupBy[i]!, size }, aggs } };
  }
  return aggs;
}

/** Walks nested segment buckets: calls `fn` with each segment key and its aggregations. */
export function eachSegment(aggs: EsJson | undefined, groupBy: readonly string[], depth: number, keys: string[], fn: (seg: string, aggs: EsJson, docCount: number | undefined) => void, docCount?: number): void {
  if (!aggs) return;
  if (depth === groupBy.length) {
    fn(segmentKey(groupBy, keys), aggs, docCount);
    return;
  }
  const seg = aggs[`seg${depth}`] as { buckets?: EsJson[] } | undefined;
  for (const b of seg?.buckets ?? []) {
    eachSegment(b, groupBy, depth + 1, [...keys, keyOf(b)], fn, Number(b.doc_count));
  }
}

/** A bucket's key as text: booleans by key_as_string ("true"), numbers as JavaScript prints them. */
export function keyOf(b: EsJson): string {
  if (typeof b.key === 'number' && (b.key_as_string === 'true' || b.key_as_string === 'false')) return b.key_as_string;
  return String(b.key);
}
