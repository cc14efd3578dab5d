import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldProfile, ReferenceProfile } from '../reference/profile.ts';
import { RuleSchema, type Rule } from './schema.ts';
import { planRule, queryId, type Answers, type Payload } from './plan.ts';
import { evaluatePlan } from './evaluate.ts';
import { formatThreshold } from './threshold.ts';

const W = { from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T01:00:00.000Z' };

function rule(raw: Record<string, unknown>): Rule {
  return { ...RuleSchema.parse({ model: 'fraud', window: '1h', schedule: '0 * * * *', min_samples: 10, ...raw }), name: 'r', source: { file: 'r.yml', line: 1, col: 1 } } as Rule;
}

function profileWith(missingShare: number): ReferenceProfile {
  const f: FieldProfile = { model: 'fraud', version: '1', field: 'features.a', kind: 'feature', type: 'num', count: 1000, missing_count: missingShare * 1000, missing_share: missingShare, distinct_count: 50 };
  return { model: 'fraud', version: '1', built_at: W.from, source: { path: 'x', rows: 1000, format: 'csv' }, fields: [f] };
}

function answers(entries: [string, Payload][]): Answers {
  return new Map(entries.map(([id, p]) => [id, new Map([['', p]])]));
}

function missingVerdict(refShare: number, missing: number, total: number, extra: Record<string, unknown> = {}) {
  const p = planRule(rule({ type: 'missing_spike', fields: ['a'], ...extra }), W, profileWith(refShare), 0);
  const a = answers([[queryId(p, 'cur', 'count'), { kind: 'count', count: total }], [queryId(p, 'cur', 'missing'), { kind: 'missing', total, counts: { a: missing } }]]);
  return evaluatePlan(p, a)[0]!;
}

describe('missing_spike (Evidently: share > ref_share * 1.1, absolute tolerance 1e-12)', () => {
  it('at exactly 1.1 x the reference share: ok; above: drifted', () => {
    assert.equal(missingVerdict(0.1, 110, 1000).drifted, false);
    const r = missingVerdict(0.1, 111, 1000);
    assert.equal(r.drifted, true);
    assert.equal(r.statistic, 'missing_share');
    assert.equal(r.value, 0.111);
    assert.ok(Math.abs(r.threshold!.value - 0.11) < 1e-15);
    assert.deepEqual({ ...r.threshold!, value: 0 }, { value: 0, direction: 'above', unit: 'share' });
    assert.equal(r.details.reference_missing_share, 0.1);
  });

  it('no NA in the reference: any NA is drifted, unless the absolute floor says otherwise', () => {
    assert.equal(missingVerdict(0, 0, 1000).drifted, false);
    assert.equal(missingVerdict(0, 1, 1000).drifted, true);
    assert.equal(missingVerdict(0, 1, 1000, { min_absolute_increase: 0.01 }).drifted, false);
    assert.equal(missingVerdict(0, 10, 1000, { min_absolute_increase: 0.01 }).drifted, true);
  });

  it('with min_absolute_increase the threshold shown is the one used: reference + floor when it is the larger', () => {
    // reference share 0.0198, floor 0.02: Evidently's 0.02178 alone would call 0.03 a spike; the floor needs 0.0398.
    const ok = missingVerdict(0.0198, 30, 1000, { min_absolute_increase: 0.02 });
    assert.equal(ok.drifted, false);
    assert.equal(ok.threshold!.direction, 'at_or_above');
    assert.ok(Math.abs(ok.threshold!.value - 0.0398) < 1e-12, String(ok.threshold!.value));
    assert.equal(formatThreshold(ok.threshold), '≥ 0.0398');
    assert.equal(missingVerdict(0.0198, 40, 1000, { min_absolute_increase: 0.02 }).drifted, true);
    // a reference without NA: "> 0", never 1e-12
    const zero = missingVerdict(0, 1, 1000);
    assert.deepEqual(zero.threshold, { value: 0, direction: 'above', unit: 'share' });
    assert.equal(formatThreshold(zero.threshold), '> 0');
  });

  it('fewer documents than min_samples: no_data, not an alarm', () => {
    const r = missingVerdict(0, 5, 9);
    assert.equal(r.status, 'no_data');
    assert.equal(r.drifted, false);
  });
});

describe('volume', () => {
  it('count against min_count, and the ratio to a past window', () => {
    const p = planRule(rule({ type: 'volume', min_count: 100, reference: { offset: '7d' }, min_ratio: 0.5, min_samples: 0 }), W, undefined, 0);
    const eval_ = (cur: number, ref: number) => evaluatePlan(p, answers([[queryId(p, 'cur', 'count'), { kind: 'count', count: cur }], [queryId(p, 'ref', 'count'), { kind: 'count', count: ref }]]))[0]!;
    assert.equal(eval_(150, 200).drifted, false);
    const low = eval_(150, 400);
    assert.equal(low.drifted, true);
    assert.equal(low.statistic, 'count_ratio');
    assert.equal(low.value, 0.375);
    assert.equal(eval_(50, 60).statistic, 'count');
    // min_count breaches below: "< 100", not ">"
    assert.equal(formatThreshold(eval_(50, 60).threshold), '< 100');
    assert.equal(formatThreshold(low.threshold), '< 0.5');
  });

  it('with min_count and max_count, the bound shown is the one breached', () => {
    const p = planRule(rule({ type: 'volume', min_count: 100, max_count: 1000, min_samples: 0 }), W, undefined, 0);
    const r = evaluatePlan(p, answers([[queryId(p, 'cur', 'count'), { kind: 'count', count: 5000 }]]))[0]!;
    assert.equal(r.drifted, true);
    assert.deepEqual(r.threshold, { value: 1000, direction: 'above', unit: 'count' });
  });
});

describe('errors', () => {
  it('a failed query makes its field error; the message is kept', () => {
    const p = planRule(rule({ type: 'missing_spike', fields: ['a'] }), W, profileWith(0), 0);
    const a: Answers = new Map();
    a.set(queryId(p, 'cur', 'count'), new Map([['', { kind: 'count', count: 100 }]]));
    a.set(queryId(p, 'cur', 'missing'), new Error('boom: index closed'));
    const [r] = evaluatePlan(p, a);
    assert.equal(r!.status, 'error');
    assert.equal(r!.error, 'boom: index closed');
  });
});

describe('distribution_shift thresholds', () => {
  it('a p-value threshold reads "p < 0.05" (breaches below), a distance "≥ 0.1"', () => {
    const f: FieldProfile = { model: 'fraud', version: '1', field: 'features.c', kind: 'feature', type: 'cat', count: 100, missing_count: 0, missing_share: 0, distinct_count: 2, categories: [{ value: 'a', count: 50 }, { value: 'b', count: 50 }] };
    const prof: ReferenceProfile = { model: 'fraud', version: '1', built_at: W.from, source: { path: 'x', rows: 100, format: 'csv' }, fields: [f] };
    for (const [method, shown] of [['chisquare', 'p < 0.05'], ['psi', '≥ 0.1']] as const) {
      const p = planRule(rule({ type: 'distribution_shift', fields: ['c'], method }), W, prof, 0);
      const r = evaluatePlan(p, answers([[queryId(p, 'cur', 'count'), { kind: 'count', count: 100 }], [queryId(p, 'cur', 'terms', 'features.c'), { kind: 'terms', buckets: [{ key: 'a', count: 95 }, { key: 'b', count: 5 }], other: 0 }]]))[0]!;
      assert.equal(r.drifted, true, method);
      assert.equal(formatThreshold(r.threshold), shown);
    }
  });
});
