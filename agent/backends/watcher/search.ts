/**
 * A watch's searches: the agent's own search bodies (backends/elasticsearch/body.ts) with the
 * window's instants replaced by date math on the trigger time. Pure.
 */
import { compileSearches, type CompiledSearch } from '../elasticsearch/body.ts';
import { queryId, type RulePlan } from '../../rules/plan.ts';
import type { SearchBody, WatchBody, WatchSearchInput } from './types.ts';

/** The trigger time planned with: any fixed instant works, the times are replaced by date math. */
export const ANCHOR = Date.UTC(2001, 0, 1);

function replaceStrings<T>(value: T, map: Map<string, string>): T {
  if (typeof value === 'string') return (map.get(value) ?? value) as T;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, map)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, map)])) as T;
  return value;
}

export interface SidePlan {
  search: CompiledSearch;
  /** Aggregation name of each query id in that search (body.ts names them q0, q1, ... in order). */
  names: Map<string, string>;
}

export function sideSearch(plan: RulePlan, side: 'cur' | 'ref', indexPrefix: string): SidePlan | undefined {
  const queries = plan.phase1.filter((q) => q.id.split('/')[1] === side);
  const countId = queryId(plan, side, 'count');
  // One body per side (a watch's chain names its inputs): not packed under search.max_buckets as the agent's are.
  const search = compileSearches(queries, { indexPrefix, maxBuckets: Number.POSITIVE_INFINITY }).find((s) => s.ids.includes(countId));
  if (!search) return undefined;
  return { search, names: new Map(search.ids.map((id, i) => [id, `q${i}`])) };
}

export function searchInput(s: CompiledSearch, map: Map<string, string>): WatchSearchInput {
  const index = s.header.index;
  return {
    search: {
      request: {
        indices: Array.isArray(index) ? index : [String(index)],
        // As the agent's _msearch header: a model without documents yet is an empty window, not a failed watch.
        indices_options: { ignore_unavailable: s.header.ignore_unavailable ?? true, allow_no_indices: s.header.allow_no_indices ?? true },
        // hits.total as a number, as the compare conditions and the scripts read it.
        rest_total_hits_as_int: true,
        body: replaceStrings(structuredClone(s.body), map),
      },
    },
  };
}

/** The search bodies of a watch with the date math put back to a window (tests; `rules explain` parity). */
export function watchSearches(body: WatchBody): { current: SearchBody; reference?: SearchBody } {
  if ('search' in body.input) return { current: body.input.search.request.body };
  const all = Object.assign({}, ...body.input.chain.inputs) as Record<string, WatchSearchInput>;
  return { current: all['current']!.search.request.body, ...(all['reference'] ? { reference: all['reference'].search.request.body } : {}) };
}
