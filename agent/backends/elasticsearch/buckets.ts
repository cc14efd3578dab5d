/**
 * Bucket budget of a search body (pure): the engine refuses a search whose aggregations make more
 * than `search.max_buckets` buckets (65,535 by default on Elasticsearch 8 and OpenSearch 2), with
 * `too_many_buckets_exception` for the whole _msearch item. A rule asks up to 10,000 terms per
 * field, for every field in one body, under a segment `terms` of up to 1,000 buckets per group_by
 * level, so it can exceed it. Two defences, both here:
 *
 * - packing: the queries of one filter + group_by are spread over as many bodies as needed so that
 *   the buckets they ask for per segment stay within the budget (without group_by this bounds the
 *   body exactly: one "segment");
 * - capping, for a body the engine still refused (many segments times many values): each query in
 *   a body of its own, the segment size and the terms sizes lowered so that the worst case
 *   (segments x values) fits; the answers then say `other > 0` where values were cut off, and the
 *   results say current_truncated / reference_truncated.
 */
import type { Query } from '../../rules/query.ts';

/** search.max_buckets' default on Elasticsearch 8.x and OpenSearch 2.x. */
export const DEFAULT_MAX_BUCKETS = 65_535;

/** Buckets one query makes in one segment, at most (multi-bucket aggregations and filters). */
export function bucketsPerSegment(q: Query): number {
  switch (q.kind) {
    case 'count': case 'stats': case 'percentiles': case 'values': return 0;
    case 'missing': return Math.max(1, q.names.length);
    case 'terms': case 'oov_terms': return q.size;
    case 'unseen': return q.size + 2;
    case 'text': return 1;
    case 'range': return Math.max(0, q.edges.length - 1);
    // Searched alone (qualitySearch), never packed with others: its score bins.
    case 'quality': return q.bins;
  }
}

/** Splits `queries` (one filter + group_by) into groups whose buckets per segment fit `budget`. */
export function packQueries<Q extends Query>(queries: readonly Q[], budget: number): Q[][] {
  const out: Q[][] = [];
  let cur: Q[] = [];
  let used = 0;
  for (const q of queries) {
    const b = bucketsPerSegment(q);
    if (cur.length > 0 && used + b > budget) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(q);
    used += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Segment buckets of `depth` nested levels of `size`: size + size^2 + ... */
function segmentBuckets(size: number, depth: number): number {
  let total = 0;
  let level = 1;
  for (let i = 0; i < depth; i++) total += (level *= size);
  return total;
}

/**
 * Sizes for one query alone in a body whose worst case must fit `maxBuckets`: the segment size
 * (per group_by level) and the query's own size. Half the budget goes to segments at most.
 */
export function cappedSizes(q: Query, segmentSize: number, maxBuckets: number): { segmentSize: number; size?: number } {
  const depth = q.groupBy.length;
  let seg = segmentSize;
  while (depth > 0 && seg > 1 && segmentBuckets(seg, depth) > maxBuckets / 2) seg = Math.floor(seg / 2);
  const segments = depth > 0 ? seg ** depth : 1;
  const room = Math.floor((maxBuckets - segmentBuckets(seg, depth)) / segments);
  if (q.kind === 'terms' || q.kind === 'oov_terms') return { segmentSize: seg, size: Math.max(1, Math.min(q.size, room)) };
  if (q.kind === 'unseen') return { segmentSize: seg, size: Math.max(1, Math.min(q.size, room - 2)) };
  return { segmentSize: seg };
}
