import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReferenceStore } from '../reference/profile.ts';
import type { Answers, Backend, Query } from '../rules/plan.ts';
import { evaluateRules } from '../rules/runner.ts';
import { RuleSchema, type Rule } from '../rules/schema.ts';
import { registry } from './metrics.ts';

test('process metrics have their standard names', async () => {
  const text = await registry.metrics();
  assert.match(text, /^process_cpu_seconds_total \d/m);
  assert.match(text, /^process_resident_memory_bytes \d/m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.doesNotMatch(text, /driftbeat_process_/);
});

test('rule duration is per rule: each rule is charged its share of the backend call it was in', async () => {
  const rule = (name: string, fields: string[]) => ({ ...RuleSchema.parse({ type: 'prediction_stats', model: 'm', fields, window: '1h', schedule: '0 * * * *', stats: { mean: { max: 1 } }, min_samples: 0, reference: { offset: '7d' } }), name, source: { file: `${name}.yml`, line: 1, col: 1 } }) as Rule;
  const small = rule('dur-small', ['prediction.a']);
  const big = rule('dur-big', Array.from({ length: 20 }, (_, i) => `prediction.p${i}`));
  // A backend whose one call takes a while and answers nothing (empty windows).
  const backend: Backend = {
    name: 'embedded',
    async execute(queries: readonly Query[]): Promise<Answers> {
      await new Promise((r) => setTimeout(r, 200));
      return new Map(queries.map((q) => [q.id, new Map()]));
    },
    explain: () => '',
    close: async () => undefined,
  };
  const references: ReferenceStore = { save: async () => undefined, get: async () => undefined, list: async () => [] };
  const window = { from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T01:00:00.000Z' };
  const report = await evaluateRules([{ rule: small, window }, { rule: big, window }], { backend, references });
  assert.equal(report.roundTrips, 1);
  const sums = new Map((await registry.getSingleMetric('driftbeat_rule_duration_seconds')!.get()).values
    .filter((v) => (v as { metricName?: string }).metricName === 'driftbeat_rule_duration_seconds_sum')
    .map((v) => [String(v.labels.rule), v.value]));
  const a = sums.get('dur-small')!;
  const b = sums.get('dur-big')!;
  assert.ok(a > 0 && b > 0, `${a} ${b}`);
  assert.notEqual(a, b);
  assert.ok(b > a, `the rule with 42 of the 46 queries is charged more: ${b} vs ${a}`);
});
