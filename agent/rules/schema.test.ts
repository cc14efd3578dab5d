import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ruleJsonSchemaText, SCHEMA_PATH } from './gen-schema.ts';
import { DRIFT_METHODS, METHOD_DEFAULTS, RuleSchema, matchFields, normalizeField, referenceLabel } from './schema.ts';

const base = { model: 'fraud', window: '1h', schedule: '5 * * * *' };
const parse = (v: Record<string, unknown>) => RuleSchema.safeParse({ ...base, ...v }, { reportInput: true });
const ok = (v: Record<string, unknown>) => {
  const r = parse(v);
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  return r.data;
};
const issues = (v: Record<string, unknown>) => {
  const r = parse(v);
  assert.ok(!r.success, 'expected the rule to be rejected');
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

test('rules/schema.json is up to date with schema.ts (regenerate: node --import tsx agent/rules/gen-schema.ts)', () => {
  assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), ruleJsonSchemaText());
  const doc = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { $comment: string };
  assert.match(doc.$comment, /do not edit by hand/);
});

test('editors using rules/schema.json accept every example rule and flag the broken ones', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  for (const f of readdirSync('rules').filter((n) => n.endsWith('.yml'))) {
    const doc: unknown = parseYaml(readFileSync(join('rules', f), 'utf8'));
    assert.ok(validate(doc), `${f}: ${JSON.stringify(validate.errors)}`);
  }
  for (const f of ['unknown-type.yml', 'unknown-key.yml', 'wrong-threshold-type.yml', 'many-problems.yml']) {
    const doc: unknown = parseYaml(readFileSync(join('test/fixtures/rules-bad', f), 'utf8'));
    assert.equal(validate(doc), false, `${f} should be flagged by the JSON Schema`);
  }
});

test('defaults: profile reference, delay 1m, min_samples 100, warning, type-appropriate fields', () => {
  const r = ok({ type: 'unseen_categories' });
  assert.equal(r.type, 'unseen_categories');
  if (r.type !== 'unseen_categories') return;
  assert.deepEqual(r.reference, { kind: 'profile' });
  assert.equal(r.delay, 60_000);
  assert.equal(r.minSamples, 100);
  assert.equal(r.severity, 'warning');
  assert.equal(r.enabled, true);
  assert.equal(r.for, 1);
  assert.deepEqual(r.notify, []);
  assert.deepEqual(r.groupBy, []);
  assert.equal(r.maxUnseenCount, 0, 'Evidently: any unseen value fails by default');
  assert.equal(r.top, 10);
  assert.deepEqual(r.fields, ['features.*']);
  assert.equal(r.fieldsDefaulted, true);
  const p = ok({ type: 'prediction_stats', reference_mean_k: 3 });
  assert.deepEqual(p.fields, ['prediction.*']);
  if (p.type === 'prediction_stats') assert.deepEqual(p.stats, { mean: {} });
  const m = ok({ type: 'missing_spike' });
  if (m.type === 'missing_spike') assert.deepEqual([m.maxRelativeIncrease, m.minAbsoluteIncrease, m.maxShare], [0.1, 0, undefined]);
  const o = ok({ type: 'oov_rate' });
  if (o.type === 'oov_rate') assert.deepEqual([o.maxOovShare, o.top], [0.05, 20]);
  const d = ok({ type: 'distribution_shift' });
  if (d.type === 'distribution_shift') assert.deepEqual([d.method, d.threshold, d.zeroFill, d.bins, d.jsBase, d.jsOutput], ['auto', undefined, 'evidently', 'evidently_sturges_combined', 'e', 'distance']);
  const v = ok({ type: 'volume', min_count: 1 });
  assert.equal(v.minSamples, 0);
  assert.equal(v.type === 'volume' ? v.reference : 'x', undefined);
});

test('reference kinds and their labels', () => {
  const prof = ok({ type: 'oov_rate', reference: { profile: { version: '1.4.2' } } });
  assert.deepEqual(prof.reference, { kind: 'profile', version: '1.4.2' });
  const off = ok({ type: 'oov_rate', reference: { offset: '7d' } });
  assert.deepEqual(off.reference, { kind: 'offset', offset: 604_800_000 });
  const seg = ok({ type: 'oov_rate', reference: { segment: { 'model.version': '1.3.0', 'labels.region': 'eu' } } });
  assert.deepEqual(seg.reference, { kind: 'segment', segment: { 'model.version': '1.3.0', 'labels.region': 'eu' } });
  assert.equal(referenceLabel({ kind: 'profile' }, 'fraud', '1.5.0'), 'profile:fraud@1.5.0');
  assert.equal(referenceLabel({ kind: 'profile', version: '1.4.2' }, 'fraud', '1.5.0'), 'profile:fraud@1.4.2');
  assert.equal(referenceLabel({ kind: 'profile' }, 'fraud'), 'profile:fraud');
  assert.equal(referenceLabel({ kind: 'offset', offset: 604_800_000 }, 'fraud'), 'offset:1w');
  assert.equal(referenceLabel({ kind: 'offset', offset: 86_400_000 }, 'fraud'), 'offset:1d');
  assert.equal(referenceLabel({ kind: 'segment', segment: { 'model.version': '1.3.0' } }, 'fraud'), 'segment:model.version=1.3.0');
  assert.deepEqual(issues({ type: 'oov_rate', reference: {} }), [': expected exactly one of profile, offset or segment, received none'].map((s) => `reference${s}`));
  assert.deepEqual(issues({ type: 'oov_rate', reference: { segment: { 'features.country': 'FR' } } }), ['reference.segment.features.country: expected model.version, host.name or labels.<name>, received "features.country"']);
  assert.deepEqual(issues({ type: 'oov_rate', reference: { segment: {} } }), ['reference.segment: expected at least one segment field, e.g. { model.version: \'1.4.2\' }']);
});

test('per-type rules: thresholds, either/or keys, bounds', () => {
  const tfdv = ok({ type: 'unseen_categories', min_domain_mass: 0.99 });
  if (tfdv.type === 'unseen_categories') {
    assert.ok(Math.abs(tfdv.maxUnseenShare! - 0.01) < 1e-12);
    assert.equal(tfdv.maxUnseenCount, undefined);
  }
  assert.deepEqual(issues({ type: 'unseen_categories', min_domain_mass: 0.99, max_unseen_share: 0.01 }), ['min_domain_mass: expected max_unseen_share or min_domain_mass, received both']);
  assert.deepEqual(issues({ type: 'distribution_shift', method: 'ks', threshold: 5 }), ['threshold: expected a p-value between 0 and 1 for method ks, received 5']);
  assert.deepEqual(issues({ type: 'prediction_stats', stats: { mean: {} } }), ['stats: expected bounds on at least one statistic (stats: { mean: { max: 0.2 } }) or reference_mean_k, received neither']);
  assert.deepEqual(issues({ type: 'prediction_stats', stats: { p999x: { max: 1 }, mean: { min: 2, max: 1 } } }), [
    'stats.mean.min: expected min <= max, received min 2 and max 1',
    'stats.p999x: expected mean, median, std, min, max or a percentile such as p95, received "p999x"',
  ]);
  const pct = ok({ type: 'prediction_stats', stats: { 'p99.9': { max: 0.99 }, median: null } });
  if (pct.type === 'prediction_stats') assert.deepEqual(pct.stats, { 'p99.9': { max: 0.99 }, median: {} });
  assert.deepEqual(issues({ type: 'volume' }), ['type: expected at least one of min_count, max_count, min_ratio, max_ratio, received none']);
  assert.deepEqual(issues({ type: 'volume', min_ratio: 0.5 }), ["min_ratio: min_ratio/max_ratio compare with a past window or another segment: set reference: { offset: 7d } or reference: { segment: { model.version: '1.4.2' } }"]);
  assert.deepEqual(issues({ type: 'volume', min_count: 1, fields: ['amount'] }), ['fields: a volume rule counts documents and has no fields; remove fields']);
  assert.deepEqual(issues({ type: 'volume', min_count: 1, reference: { offset: '1d' } }), ['reference: reference is used only with min_ratio/max_ratio; remove it or add a ratio']);
  assert.deepEqual(issues({ type: 'oov_rate', group_by: ['country'], name: 'has space' }), [
    'name: expected letters, digits, \'_\', \'-\' or \'.\', starting with a letter or digit, received "has space"',
    'group_by.0: expected model.version, host.name or labels.<name>, received "country"',
  ]);
  assert.deepEqual(issues({ type: 'oov_rate', schedule: '* * * *' }), ['schedule: invalid cron expression "* * * *": expected 5 or 6 fields: [second] minute hour day-of-month month day-of-week, in UTC, e.g. "*/5 * * * *", received 4 field(s)']);
  assert.deepEqual(issues({ type: 'oov_rate', schedule: '0 0 31 2 *' }), ['schedule: invalid cron expression "0 0 31 2 *": 31 2 is an impossible day of month for the given month (5 or 6 fields: [second] minute hour day-of-month month day-of-week, in UTC, e.g. "*/5 * * * *")']);
});

test('every drift method has a default threshold and direction as in STATS.md', () => {
  for (const m of DRIFT_METHODS) if (m !== 'auto') assert.ok(METHOD_DEFAULTS[m], m);
  assert.deepEqual(METHOD_DEFAULTS.ks, { threshold: 0.05, drifted: 'p_le' });
  assert.deepEqual(METHOD_DEFAULTS.chisquare, { threshold: 0.05, drifted: 'p_lt' });
  assert.deepEqual(METHOD_DEFAULTS.psi, { threshold: 0.1, drifted: 'ge' });
});

test('fields: bare names are features; globs match dotted document paths', () => {
  assert.equal(normalizeField('amount'), 'features.amount');
  assert.equal(normalizeField('features.amount'), 'features.amount');
  assert.equal(normalizeField('prediction.score'), 'prediction.score');
  assert.equal(normalizeField('text.customer_note'), 'features.customer_note');
  const all = ['features.amount', 'features.addr.city', 'features.country', 'prediction.score', 'prediction.label'];
  assert.deepEqual(matchFields(['features.a*'], all), ['features.amount', 'features.addr.city']);
  assert.deepEqual(matchFields(['prediction.*', 'features.countr?'], all), ['features.country', 'prediction.score', 'prediction.label']);
  assert.deepEqual(matchFields(['features.amount.'], all), []);
});
