import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { compileSearches, type EsJson } from './body.ts';
import type { Query, Side } from '../../rules/plan.ts';

const REF = new URL('../../../test/fixtures/elastic/es/search/', import.meta.url);
const response = (name: string) => JSON.parse(readFileSync(new URL(`aggs/${name}.response.cleaned.json`, REF), 'utf8')) as { aggregations: EsJson };

const side: Side = { model: 'fraud', version: '1.4.2', from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T01:00:00.000Z' };
const q = (spec: Partial<Query> & Pick<Query, 'kind'>, groupBy: string[] = []): Query => ({ id: `0/cur/${spec.kind}/x`, filter: side, groupBy, ...spec } as Query);

/** Parses a real aggregation response placed under the name our body gives the query. */
function parseAs(query: Query, agg: unknown, extra: EsJson = {}, total = 11) {
  const [s] = compileSearches([query]);
  return s!.parse({ hits: { total: { value: total, relation: 'eq' }, hits: [] }, aggregations: { q0: agg, ...extra } }).get(query.id)!.get('');
}

describe('Elasticsearch bodies', () => {
  it('filters on model, version and the closed-open window, and counts every hit', () => {
    const [s] = compileSearches([q({ kind: 'count' })]);
    assert.deepEqual(s!.header, { index: 'driftbeat-predictions-fraud', ignore_unavailable: true, allow_no_indices: true });
    assert.equal(s!.body.size, 0);
    assert.equal(s!.body.track_total_hits, true);
    assert.deepEqual(s!.body.query, { bool: { filter: [
      { term: { 'model.name': 'fraud' } },
      { range: { '@timestamp': { gte: side.from, lt: side.to, format: 'strict_date_optional_time' } } },
      { term: { 'model.version': '1.4.2' } },
    ] } });
  });

  it('queries with the same filter share one search; raw values get their own', () => {
    const s = compileSearches([q({ kind: 'count' }), { ...q({ kind: 'stats', field: 'features.amount' }), id: 'b' }, { ...q({ kind: 'values', field: 'features.amount', limit: 10 }), id: 'c' }]);
    assert.equal(s.length, 2);
    assert.deepEqual(s.map((x) => x.ids), [['c'], ['0/cur/count/x', 'b']]);
  });

  it('group_by nests terms aggregations, one level per segment field', () => {
    const [s] = compileSearches([q({ kind: 'stats', field: 'prediction.score' }, ['model.version', 'labels.region'])]);
    assert.deepEqual(s!.body.aggs, {
      seg0: { terms: { field: 'model.version', size: 1000 }, aggs: { seg1: { terms: { field: 'labels.region', size: 1000 }, aggs: { q0: { extended_stats: { field: 'prediction.score' } } } } } },
    });
  });

  it('the unseen filter is a terms lookup on the reference index, never the values', () => {
    const [s] = compileSearches([q({ kind: 'unseen', field: 'features.country', size: 5, reference: { model: 'fraud', version: '1.4.2', field: 'features.country', values: ['US', 'DE'] } })]);
    const body = JSON.stringify(s!.body);
    assert.ok(!body.includes('"US"'));
    assert.deepEqual((s!.body.aggs as EsJson).q0, {
      filter: { bool: { filter: [{ exists: { field: 'features.country' } }], must_not: [{ terms: { 'features.country': { index: 'driftbeat-reference', id: 'fraud@1.4.2:features.country', path: 'category_values' } } }] } },
      aggs: { values: { terms: { field: 'features.country', size: 5 } } },
    });
  });

  it('range bins are [e_i, e_i+1) with the last bin open above', () => {
    const [s] = compileSearches([q({ kind: 'range', field: 'features.amount', edges: [0, 1, 2.5, 4] })]);
    assert.deepEqual((s!.body.aggs as EsJson).q0, { range: { field: 'features.amount', ranges: [{ from: 0, to: 1 }, { from: 1, to: 2.5 }, { from: 2.5 }] } });
  });
});

describe('parsing the real response formats (test/fixtures/elastic/es/search)', () => {
  it('terms: buckets by count, sum_other_doc_count', () => {
    const a = parseAs(q({ kind: 'terms', field: 'features.genre', size: 10 }), response('terms').aggregations.genres);
    assert.deepEqual(a, { kind: 'terms', buckets: [{ key: 'electronic', count: 6 }, { key: 'rock', count: 3 }, { key: 'jazz', count: 2 }], other: 0 });
  });

  it('terms on a boolean: key 1/0 with key_as_string', () => {
    const a = parseAs(q({ kind: 'terms', field: 'features.vip', size: 10 }), { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 1, key_as_string: 'true', doc_count: 4 }, { key: 0, key_as_string: 'false', doc_count: 2 }] });
    assert.deepEqual(a, { kind: 'terms', buckets: [{ key: 'true', count: 4 }, { key: 'false', count: 2 }], other: 0 });
  });

  it('extended_stats: count, min, max, sum, sum_of_squares', () => {
    const a = parseAs(q({ kind: 'stats', field: 'grade' }), response('extended_stats').aggregations.grades_stats);
    assert.deepEqual(a, { kind: 'stats', count: 2, min: 50, max: 100, sum: 150, sumOfSquares: 12500 });
  });

  it('percentiles, keyed ("50.0") and keyed: false', () => {
    const query = q({ kind: 'percentiles', field: 'load_time', percents: [50, 99] });
    assert.deepEqual(parseAs(query, response('percentiles').aggregations.load_time_outlier), { kind: 'percentiles', values: { 50: 445, 99: 980 } });
    assert.deepEqual(parseAs(query, response('percentiles-keyed-false').aggregations.load_time_outlier), { kind: 'percentiles', values: { 50: 445, 99: 980 } });
  });

  it('filter: doc_count (filter-with-avg), sum: value', () => {
    const f = response('filter-with-avg').aggregations.t_shirts as EsJson;
    const sum = response('sum').aggregations.hat_prices;
    const query = q({ kind: 'text', field: 'note' });
    const [s] = compileSearches([query]);
    const a = s!.parse({ hits: { total: { value: 7, relation: 'eq' } }, aggregations: { q0_docs: f, q0_tokens: sum, q0_oov: { value: 45 } } }).get(query.id)!.get('');
    assert.deepEqual(a, { kind: 'text', docs: 3, tokens: 450, oov: 45 });
  });

  it('range buckets in request order (msearch typed_keys test shape)', () => {
    const docs = parseYaml(readFileSync(new URL('yamlRestTest-msearch-20_typed_keys.yml', REF), 'utf8').split('\n---\n')[1]!) as unknown;
    assert.ok(JSON.stringify(docs).includes('"*-19.25"'), 'the reference file names range keys as "*-19.25"');
    const a = parseAs(q({ kind: 'range', field: 'float', edges: [0, 19.25, 30] }), { buckets: [{ key: '0.0-19.25', from: 0, to: 19.25, doc_count: 2 }, { key: '19.25-*', from: 19.25, doc_count: 1 }] });
    assert.deepEqual(a, { kind: 'range', counts: [2, 1] });
  });

  it('count without group_by is hits.total.value (or an int with rest_total_hits_as_int)', () => {
    const query = q({ kind: 'count' });
    const [s] = compileSearches([query]);
    assert.deepEqual(s!.parse({ hits: { total: { value: 42, relation: 'eq' } } }).get(query.id)!.get(''), { kind: 'count', count: 42 });
    assert.deepEqual(s!.parse({ hits: { total: 5 } }).get(query.id)!.get(''), { kind: 'count', count: 5 });
  });

  it('segments come from nested terms buckets', () => {
    const query = q({ kind: 'count' }, ['model.version']);
    const [s] = compileSearches([query]);
    const a = s!.parse({ hits: { total: { value: 9, relation: 'eq' } }, aggregations: { seg0: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: '1.4.2', doc_count: 6 }, { key: '1.5.0', doc_count: 3 }] } } }).get(query.id)!;
    assert.deepEqual([...a], [['model.version=1.4.2', { kind: 'count', count: 6 }], ['model.version=1.5.0', { kind: 'count', count: 3 }]]);
  });
});
