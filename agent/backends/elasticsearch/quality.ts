/**
 * model_quality queries -> one search on `<prefix>-outcomes-<model>` and its response back into a
 * QualityAnswer, pure. Plain aggregations on the outcome documents' precomputed fields
 * (agent/quality/outcome.ts): terms x terms on quality.actual_class / predicted_class (the
 * confusion matrix), a histogram on quality.score_bin with sums of actual_positive and log_loss
 * (ROC AUC and log loss), and sums of the regression fields.
 */
import type { estypes } from '@elastic/elasticsearch';
import { outcomesIndex } from '../../quality/outcome.ts';
import type { Query, SegmentAnswers } from '../../rules/plan.ts';
import { emptyQualityAnswer, type QualityAnswer } from '../../rules/quality.ts';
import { eachSegment, filterOf, nest, type CompiledSearch, type EsJson } from './search.ts';

type QualityQuery = Extract<Query, { kind: 'quality' }>;

/** Classes per model are few; this is a bound, not a sample. */
const CLASS_BUCKETS = 1000;

function inner(q: QualityQuery): Record<string, estypes.AggregationsAggregationContainer> {
  if (q.task === 'regression') {
    const sum = (field: string): estypes.AggregationsAggregationContainer => ({ sum: { field: `quality.${field}` } });
    return { e: sum('error'), ae: sum('abs_error'), se: sum('squared_error'), ape: sum('abs_pct_error'), a: sum('actual_value'), a2: sum('actual_squared') };
  }
  return {
    cm: { terms: { field: 'quality.actual_class', size: CLASS_BUCKETS }, aggs: { p: { terms: { field: 'quality.predicted_class', size: CLASS_BUCKETS } } } },
    bins: { histogram: { field: 'quality.score_bin', interval: 1, min_doc_count: 1 }, aggs: { pos: { sum: { field: 'quality.actual_positive' } }, ll: { sum: { field: 'quality.log_loss' } } } },
  };
}

function answerOf(q: QualityQuery, aggs: EsJson, docCount: number): QualityAnswer {
  const a = emptyQualityAnswer(q.bins);
  const v = (name: string) => Number((aggs[name] as EsJson | undefined)?.value ?? 0);
  if (q.task === 'regression') {
    a.labelled = docCount;
    a.sums = { n: docCount, error: v('e'), absError: v('ae'), squaredError: v('se'), absPctError: v('ape'), actual: v('a'), actualSquared: v('a2') };
    return a;
  }
  for (const b of ((aggs.cm as EsJson | undefined)?.buckets ?? []) as EsJson[]) {
    const row: Record<string, number> = (a.confusion[String(b.key)] = {});
    for (const p of ((b.p as EsJson).buckets ?? []) as EsJson[]) {
      row[String(p.key)] = Number(p.doc_count);
      a.labelled += Number(p.doc_count);
    }
  }
  for (const b of ((aggs.bins as EsJson | undefined)?.buckets ?? []) as EsJson[]) {
    const k = Number(b.key);
    const pos = Number((b.pos as EsJson).value ?? 0);
    a.pos[k] = pos;
    a.neg[k] = Number(b.doc_count) - pos;
    a.scored += Number(b.doc_count);
    a.logLossSum += Number((b.ll as EsJson).value ?? 0);
  }
  return a;
}

export function qualitySearch(q: QualityQuery, prefix: string, segSize: number): CompiledSearch {
  const body: estypes.MsearchMultisearchBody = {
    size: 0,
    track_total_hits: true,
    query: { bool: { filter: [...filterOf(q.filter), { term: { 'quality.task': q.task } }] } },
    aggs: nest(q.groupBy, inner(q), segSize),
  };
  return {
    // No outcomes yet (no feedback input, or no label so far) is an empty window: no_data, not an error.
    header: { index: outcomesIndex(prefix, q.filter.model), ignore_unavailable: true, allow_no_indices: true },
    body,
    ids: [q.id],
    parse(resp) {
      const seg: SegmentAnswers = new Map();
      const total = Number(((resp.hits as EsJson | undefined)?.total as EsJson | undefined)?.value ?? 0);
      if (q.groupBy.length === 0) seg.set('', answerOf(q, (resp.aggregations ?? {}) as EsJson, total));
      else eachSegment(resp.aggregations as EsJson | undefined, q.groupBy, 0, [], (k, a, n) => seg.set(k, answerOf(q, a, n ?? 0)));
      return new Map([[q.id, seg]]);
    },
  };
}
