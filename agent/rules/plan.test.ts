import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sturgesEdges } from '../stats/index.ts';
import type { FieldProfile, ReferenceProfile } from '../reference/profile.ts';
import { compile } from '../backends/embedded/sql.ts';
import { RuleSchema, type Rule } from './schema.ts';
import { parseSegmentKey, planPhase2, planRule, queryId, segmentKey, type Answers } from './plan.ts';

const W = { from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T01:00:00.000Z' };

function rule(raw: Record<string, unknown>): Rule {
  return { ...RuleSchema.parse({ model: 'fraud', window: '1h', schedule: '0 * * * *', ...raw }), name: 'r', source: { file: 'r.yml', line: 1, col: 1 } } as Rule;
}

function field(f: Partial<FieldProfile> & Pick<FieldProfile, 'field' | 'type'>): FieldProfile {
  return { model: 'fraud', version: '1.4.2', kind: f.field.startsWith('prediction.') ? 'prediction' : f.field.startsWith('text.') ? 'text' : 'feature', count: 2000, missing_count: 0, missing_share: 0, distinct_count: 3, ...f };
}

const profile: ReferenceProfile = {
  model: 'fraud', version: '1.4.2', built_at: W.from, source: { path: 't.jsonl', rows: 2000, format: 'jsonl' },
  fields: [
    field({ field: 'features.country', type: 'cat', categories: [{ value: 'US', count: 1500 }, { value: 'DE', count: 500 }] }),
    field({ field: 'features.amount', type: 'num', distinct_count: 1500, numeric: { min: 1, max: 500, mean: 50, std: 40, quantiles: {} }, sample: [1, 20, 50, 80, 500] }),
    field({ field: 'features.items', type: 'num', distinct_count: 4, categories: [{ value: '1', count: 1000 }, { value: '2', count: 1000 }] }),
    field({ field: 'text.note', type: 'text', vocabulary: [{ token: 'hi', count: 3 }] }),
    field({ field: 'prediction.score', type: 'num', distinct_count: 1800, missing_count: 20, missing_share: 0.01, numeric: { min: 0, max: 1, mean: 0.1, std: 0.1, quantiles: {} }, sample: [0.1, 0.2] }),
  ],
};

describe('planRule', () => {
  it('unseen_categories: default fields keep only categorical fields; the category set travels with the query', () => {
    const p = planRule(rule({ type: 'unseen_categories' }), W, profile, 3);
    assert.deepEqual(p.fields.map((f) => f.field), ['features.country']);
    const u = p.phase1.find((q) => q.kind === 'unseen');
    assert.deepEqual(u, {
      id: '3/cur/unseen/features.country', filter: { model: 'fraud', from: W.from, to: W.to }, groupBy: [],
      kind: 'unseen', field: 'features.country', size: 10, reference: { model: 'fraud', version: '1.4.2', field: 'features.country', values: ['US', 'DE'] },
    });
    assert.equal(p.referenceLabel, 'profile:fraud@1.4.2');
  });

  it('a field of the wrong kind named explicitly is an error of that field, with what to do', () => {
    const p = planRule(rule({ type: 'unseen_categories', fields: ['amount', 'country', 'nope'] }), W, profile, 0);
    assert.match(p.fields[0]!.problem!, /"features.amount" is num; a unseen_categories rule needs a categorical/);
    assert.equal(p.fields[1]!.problem, undefined);
    assert.match(p.fields[2]!.problem!, /not in the reference profile fraud@1.4.2/);
  });

  it('missing_spike asks one terms on missing for every field, with names as in documents', () => {
    const p = planRule(rule({ type: 'missing_spike', fields: ['amount', 'note', 'prediction.score'], group_by: ['model.version'] }), W, profile, 0);
    const m = p.phase1.find((q) => q.kind === 'missing')!;
    assert.deepEqual(m.kind === 'missing' && m.names, ['amount', 'note', 'prediction.score']);
    assert.deepEqual(m.groupBy, ['model.version']);
    assert.deepEqual(p.fields.map((f) => f.field), ['features.amount', 'text.note', 'prediction.score']);
  });

  it('distribution_shift routes as Evidently: categorical counts, > 20 distinct binned (psi), raw for wasserstein, few values as counts', () => {
    const p = planRule(rule({ type: 'distribution_shift', fields: ['country', 'amount', 'items'], method: 'psi' }), W, profile, 0);
    assert.deepEqual(p.fields.map((f) => [f.path, f.route]), [['features.country', 'counts'], ['features.amount', 'bins'], ['features.items', 'counts']]);
    assert.deepEqual(p.phase1.map((q) => q.kind), ['count', 'terms', 'stats', 'terms']);
    const auto = planRule(rule({ type: 'distribution_shift', fields: ['amount'] }), W, profile, 0);
    assert.equal(auto.fields[0]!.method, 'wasserstein', '2000 reference rows > 1000');
    assert.equal(auto.phase1[1]!.kind, 'values');
  });

  it('phase 2 bins the numeric field with Sturges edges over reference + current', () => {
    const p = planRule(rule({ type: 'distribution_shift', fields: ['amount'], method: 'psi' }), W, profile, 0);
    const answers: Answers = new Map([[queryId(p, 'cur', 'stats', 'features.amount'), new Map([['', { kind: 'stats', count: 300, min: -5, max: 900, sum: 0, sumOfSquares: 0 }]])]]);
    const q2 = planPhase2(p, answers);
    assert.equal(q2.length, 1);
    assert.deepEqual(q2[0]!.kind === 'range' && q2[0]!.edges, sturgesEdges(-5, 900, 2300));
  });

  it('offset and segment references query a live reference side', () => {
    const off = planRule(rule({ type: 'volume', min_ratio: 0.5, reference: { offset: '1d' } }), W, undefined, 0);
    assert.deepEqual(off.phase1.map((q) => [q.id, q.filter.from]), [['0/cur/count/', W.from], ['0/ref/count/', '2023-12-31T00:00:00.000Z']]);
    const seg = planRule(rule({ type: 'prediction_stats', version: '1.5.0', fields: ['prediction.score'], stats: { mean: { max: 1 } }, group_by: ['model.version', 'labels.region'], reference: { segment: { 'model.version': '1.4.2' } } }), W, undefined, 0);
    const ref = seg.phase1.find((q) => q.id.startsWith('0/ref/stats'))!;
    assert.deepEqual(ref.filter, { model: 'fraud', from: W.from, to: W.to, segment: { 'model.version': '1.4.2' } });
    assert.deepEqual(ref.groupBy, ['labels.region'], 'the reference segment field is fixed, not grouped');
  });

  it('segment keys round-trip', () => {
    const k = segmentKey(['model.version', 'labels.region'], ['1.4.2', 'eu']);
    assert.equal(k, 'model.version=1.4.2,labels.region=eu');
    assert.deepEqual(parseSegmentKey(k), { 'model.version': '1.4.2', 'labels.region': 'eu' });
  });
});

describe('embedded SQL', () => {
  it('never puts names or values from rule files into the SQL text', () => {
    const evil = "x'; DROP TABLE predictions; --";
    const r = rule({ type: 'unseen_categories', model: evil, fields: [evil], group_by: [`labels.${'a'}`] });
    const p = planRule(r, W, { ...profile, model: evil, fields: [field({ field: `features.${evil}`, type: 'cat', categories: [{ value: evil, count: 1 }] })] }, 0);
    for (const q of p.phase1) {
      for (const st of compile([q])) {
        assert.ok(!st.sql.includes('DROP'), st.sql);
        assert.ok(st.params.includes(evil) || st.params.some((v) => Array.isArray(v) && v.includes(evil)));
      }
    }
  });
});
