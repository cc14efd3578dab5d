import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { estypes } from '@elastic/elasticsearch';
import type { AlertState } from '../alerts/lifecycle.ts';
import type { AlertEvent } from '../alerts/state.ts';
import { alertsMappings as alertsMappingsOf, stateMappings } from '../alerts/state-es.ts';
import { DIALECTS } from '../engine/dialect.ts';
import type { PredictionDocument } from '../normalize/document.ts';
import { resultsMappings as resultsMappingsOf } from '../results/elasticsearch.ts';
import type { RuleResult } from '../rules/result.ts';
import { deadLetterMappings, predictionsMappings as predictionsMappingsOf } from '../sinks/elasticsearch/mappings.ts';
import {
  ilmPolicyBody,
  indexNames,
  mappedType,
  PREDICTIONS_PRIORITY,
  templatePlan,
  type EsResource,
  type JsonKind,
} from './templates.ts';

const REF = new URL('../../test/fixtures/elastic/es/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, REF), 'utf8');
/** Built-in templates hold ${...} placeholders that ES fills in at install time. */
const builtin = (p: string) => JSON.parse(read(p).replace(/\$\{xpack\.stack\.template\.version\}/g, '1').replace(/\$\{xpack\.stack\.template\.deprecated\}/g, 'false')) as Record<string, unknown>;
const specValue = (p: string): Record<string, unknown> => {
  const v = (parseYaml(read(p)) as { value: unknown }).value;
  return (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
};

interface RestSpec { url: { paths: { path: string; methods: string[] }[] } }
function restSpec(api: string): RestSpec {
  const j = JSON.parse(read(`rest-api-spec/${api}.json`)) as Record<string, RestSpec>;
  return j[api]!;
}
function matchesSpec(api: string, method: string, path: string): boolean {
  return restSpec(api).url.paths.some((p) => p.methods.includes(method) && new RegExp(`^${p.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
}

// Kibana and these format checks are about Elasticsearch; OpenSearch's are checked on the real engine.
const ES = DIALECTS.elasticsearch;
const predictionsMappings = () => predictionsMappingsOf(ES);
const resultsMappings = () => resultsMappingsOf(ES);
const alertsMappings = () => alertsMappingsOf(ES);

const plan = templatePlan({ prefix: 'driftbeat', models: ['fraud', 'Churn Model'] });
const byKind = (k: EsResource['kind']) => plan.filter((r) => r.kind === k);

describe('templates: requests match the real Elasticsearch formats', () => {
  it('the ILM policy is PUT as {"policy": ...} like the specification example', () => {
    const example = specValue('templates/spec-PutLifecycleRequestExample1-ilm.yaml');
    const [ilm] = byKind('ilm_policy');
    assert.ok(ilm);
    assert.ok(matchesSpec('ilm.put_lifecycle', ilm.put.method, ilm.put.path), ilm.put.path);
    assert.deepEqual(Object.keys(ilm.put.body!), Object.keys(example));
    const policy = (ilm.put.body as { policy: estypes.IlmPolicy }).policy;
    // Same phase/action layout as the example and the built-in logs policy (hot rollover, then delete).
    const logs = builtin('templates/builtin-logs@lifecycle.json.tmpl') as unknown as estypes.IlmPolicy;
    assert.deepEqual(Object.keys(policy.phases.hot!.actions!.rollover!).sort(), Object.keys(logs.phases.hot!.actions!.rollover!).sort());
    assert.deepEqual(policy.phases.delete, { min_age: '90d', actions: { delete: {} } });
    assert.deepEqual((example['policy'] as estypes.IlmPolicy).phases.delete!.actions, policy.phases.delete!.actions);
  });

  it('index templates use only the fields of real composable templates, at a priority above logs', () => {
    const logs = builtin('templates/builtin-logs@template.json.tmpl');
    const ex1 = specValue('templates/spec-IndicesPutIndexTemplateRequestExample1.yaml');
    const ex2 = specValue('templates/spec-IndicesPutIndexTemplateRequestExample2-aliases.yaml');
    const docs = parseAllDocuments(read('templates/yamlRestTest-data_stream-30_auto_create_data_stream.yml')).map((d) => d.toJS() as Record<string, { do?: { 'indices.put_index_template'?: { body: Record<string, unknown> } } }[]>);
    const restBodies = docs.flatMap((d) => Object.values(d).flat()).map((s) => s.do?.['indices.put_index_template']?.body).filter((b): b is Record<string, unknown> => b !== undefined);
    assert.ok(restBodies.length > 0);
    const known = new Set([...Object.keys(logs), ...Object.keys(ex1), ...Object.keys(ex2), ...restBodies.flatMap((b) => Object.keys(b))]);
    const knownInner = new Set([...Object.keys(ex1['template'] as object), ...Object.keys(ex2['template'] as object), ...restBodies.flatMap((b) => Object.keys((b['template'] ?? {}) as object)), 'mappings']);
    const templates = byKind('index_template');
    assert.equal(templates.length, 7); // predictions, five plain indices, outcomes
    for (const t of templates) {
      assert.ok(matchesSpec('indices.put_index_template', t.put.method, t.put.path), t.put.path);
      for (const k of Object.keys(t.put.body!)) assert.ok(known.has(k), `${t.name}: ${k} is not a field of the reference templates`);
      for (const k of Object.keys((t.put.body!['template'] ?? {}) as object)) assert.ok(knownInner.has(k), `${t.name}: template.${k}`);
      assert.ok((t.put.body!['priority'] as number) > (logs['priority'] as number));
    }
    const predictions = templates.find((t) => t.name === 'driftbeat-predictions')!.put.body!;
    assert.deepEqual(predictions['index_patterns'], ['driftbeat-predictions-*']);
    assert.deepEqual(predictions['data_stream'], {});
    assert.equal(predictions['priority'], PREDICTIONS_PRIORITY);
    // As logs@template: a user-owned @custom component may be missing.
    const composed = predictions['composed_of'] as string[];
    assert.deepEqual(predictions['ignore_missing_component_templates'], ['driftbeat-predictions@custom']);
    for (const c of composed.filter((c) => !c.endsWith('@custom'))) assert.ok(byKind('component_template').some((r) => r.name === c), `${c} is installed before it is used`);
    assert.ok(plan.findIndex((r) => r.name === 'driftbeat-predictions@mappings') < plan.findIndex((r) => r.kind === 'index_template'));
    // No two templates may share a priority and overlapping patterns (ES refuses that).
    const patterns = templates.flatMap((t) => t.put.body!['index_patterns'] as string[]);
    assert.equal(new Set(patterns).size, patterns.length);
  });

  it('component templates wrap settings and mappings in "template", as the built-in ones do', () => {
    const ecs = builtin('templates/builtin-ecs@mappings.json.tmpl');
    const logsMappings = builtin('templates/builtin-logs@mappings.json.tmpl');
    for (const c of byKind('component_template')) {
      assert.equal(c.put.path, `/_component_template/${c.name}`);
      for (const k of Object.keys(c.put.body!)) assert.ok(k in ecs || k in logsMappings, `${c.name}: ${k}`);
      const inner = c.put.body!['template'] as Record<string, unknown>;
      assert.ok(inner['mappings'] || inner['settings']);
    }
  });

  it('dynamic_templates are arrays of single-key objects with a mapping and a matcher, like ecs@mappings', () => {
    const ecs = builtin('templates/builtin-ecs@mappings.json.tmpl') as { template: { mappings: estypes.MappingTypeMapping } };
    const allowed = new Set(ecs.template.mappings.dynamic_templates!.flatMap((e) => Object.values(e).flatMap((t) => Object.keys(t!))));
    for (const m of [predictionsMappings(), resultsMappings(), alertsMappings()]) {
      for (const entry of m.dynamic_templates!) {
        assert.equal(Object.keys(entry).length, 1);
        const t = Object.values(entry)[0]!;
        assert.ok(t.mapping);
        assert.ok(t.match || t.path_match || t.match_mapping_type);
        for (const k of Object.keys(t)) assert.ok(allowed.has(k), k);
      }
    }
  });

  it('indices and data streams are created with an empty PUT, as in the create-data-stream example', () => {
    const ex = parseYaml(read('templates/spec-IndicesCreateDataStreamExample1.yaml')) as { method_request: string; value?: unknown };
    assert.equal(ex.value, undefined);
    assert.match(ex.method_request, /^PUT _data_stream\//);
    const streams = byKind('data_stream');
    assert.deepEqual(streams.map((s) => s.name), ['driftbeat-predictions-fraud', 'driftbeat-predictions-churn_model']);
    for (const s of streams) {
      assert.ok(matchesSpec('indices.create_data_stream', s.put.method, s.put.path));
      assert.equal(s.put.body, undefined);
    }
    assert.deepEqual(byKind('index').map((i) => i.name), ['driftbeat-reference', 'driftbeat-results', 'driftbeat-alerts', 'driftbeat-state', 'driftbeat-deadletter']);
  });

  it('follows the index prefix of the config everywhere', () => {
    const other = templatePlan({ prefix: 'mlmon' });
    for (const r of other) assert.ok(r.name.startsWith('mlmon-'), r.name);
    assert.equal(indexNames('mlmon').predictionsPattern, 'mlmon-predictions-*');
    const settings = other.find((r) => r.name === 'mlmon-predictions@settings')!.put.body as { template: { settings: { index: { lifecycle: { name: string } } } } };
    assert.equal(settings.template.settings.index.lifecycle.name, 'mlmon-predictions');
  });

  it('puts the ILM settings from the config into the policy', () => {
    const b = ilmPolicyBody({ rolloverMaxAge: '1d', rolloverMaxPrimaryShardSize: '10gb', deleteAfter: '14d' });
    assert.deepEqual(b.policy!.phases.hot!.actions!.rollover, { max_age: '1d', max_primary_shard_size: '10gb' });
    assert.equal(b.policy!.phases.delete!.min_age, '14d');
  });
});

/** Leaf paths of a document with the JSON kind of their value (arrays: their elements). */
function leaves(v: unknown, prefix = ''): [string, JsonKind][] {
  if (Array.isArray(v)) return v.length ? leaves(v[0], prefix) : [];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaves(x, prefix ? `${prefix}.${k}` : k));
  const kind: JsonKind = typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'boolean' : Number.isInteger(v) ? 'long' : 'double';
  return [[prefix, kind]];
}

describe('templates: mappings follow the documents (DESIGN.md section 2)', () => {
  const doc: PredictionDocument = {
    '@timestamp': '2024-05-01T12:00:00.000Z',
    event: { id: 'abc', ingested: '2024-05-01T12:00:01.000Z', duration: 1_250_000 },
    model: { name: 'fraud', version: '1.4.2' },
    features: { country: 'FR', amount: 3, ratio: 0.25, is_new: true, 'device.os': 'ios' },
    prediction: { score: 0.91, label: 'fraud', rank: 2 },
    missing: ['age', 'prediction.segment'],
    features_unparsed: { amount: 'twelve' },
    features_overflow: { f501: 1, f502: 'x' },
    text: { note: { content: 'please refund asap', token_count: 3, oov_count: 1, oov_tokens: ['asap'] } },
    labels: { region: 'eu-west', team: 'risk' },
    host: { name: 'model-host-1' },
    log: { file: { path: '/var/log/fraud/predictions.jsonl' }, offset: 1024 },
  };
  const m = predictionsMappings();
  const expected: Record<string, string> = {
    '@timestamp': 'date',
    'event.id': 'keyword',
    'event.ingested': 'date',
    'event.duration': 'long',
    'model.name': 'keyword',
    'model.version': 'keyword',
    'features.country': 'keyword',
    // An integer-looking first value must not make the field long (3.5 would be truncated later).
    'features.amount': 'double',
    'features.ratio': 'double',
    'features.is_new': 'keyword',
    'features.device.os': 'keyword',
    'prediction.score': 'double',
    'prediction.label': 'keyword',
    'prediction.rank': 'double',
    missing: 'keyword',
    'features_unparsed.amount': 'flattened',
    'features_overflow.f501': 'flattened',
    'text.note.content': 'text',
    'text.note.token_count': 'integer',
    'text.note.oov_count': 'integer',
    'text.note.oov_tokens': 'keyword',
    'labels.region': 'keyword',
    'host.name': 'keyword',
    'log.file.path': 'keyword',
    'log.offset': 'long',
  };

  it('maps every field of a prediction document to the type DESIGN.md names', () => {
    const got = Object.fromEntries(leaves(doc).map(([p, k]) => [p, mappedType(m, p, k)]));
    assert.deepEqual(got, { ...expected, 'features_overflow.f502': 'flattened', 'labels.team': 'keyword' });
  });

  it('caps keywords, limits the field count, and gathers OOV words in one keyword field', () => {
    const kw = m.dynamic_templates!.map((e) => Object.values(e)[0]!.mapping as { type?: string; ignore_above?: number }).filter((x) => x.type === 'keyword');
    assert.ok(kw.length > 0 && kw.every((x) => typeof x.ignore_above === 'number'));
    assert.equal((m.properties!['missing'] as estypes.MappingKeywordProperty).ignore_above, 1024);
    const oov = m.dynamic_templates!.find((e) => 'text_oov_tokens' in e)!['text_oov_tokens']!.mapping as estypes.MappingKeywordProperty;
    assert.equal(oov.copy_to, 'oov_tokens');
    assert.equal(mappedType(m, 'oov_tokens', 'string'), 'keyword');
    const settings = plan.find((r) => r.name === 'driftbeat-predictions@settings')!.put.body as { template: { settings: { index: { mapping: { total_fields: { limit: number } } } } } };
    assert.ok(settings.template.settings.index.mapping.total_fields.limit >= 1000);
    assert.equal(m.date_detection, false);
  });

  it('maps every field of a rule result explicitly (results index)', () => {
    const r: RuleResult = {
      rule: 'fraud-drift', type: 'distribution_shift', model: 'fraud', version: '1.4.2', field: 'features.amount', segment: '',
      window: { from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T01:00:00.000Z' }, status: 'drifted', statistic: 'psi', value: 0.31,
      threshold: { value: 0.2, direction: 'at_or_above', unit: 'distance' }, drifted: true, reference_count: 10000, current_count: 812, severity: 'warning', details: { bins: [1, 2] },
      reference: 'profile:fraud@1.4.2', error: 'none', evaluated_at: '2024-05-01T01:05:00.000Z',
    };
    const rm = resultsMappings();
    for (const [p, k] of leaves(r)) {
      const t = mappedType(rm, p, k);
      assert.ok(t && t !== 'text' || p === 'error', `${p} -> ${t}`);
    }
    assert.equal(mappedType(rm, 'window.to', 'string'), 'date');
    assert.equal(mappedType(rm, 'details.bins', 'long'), 'flattened');
  });

  it('maps alert history events, alert state and dead letters as their writers write them', () => {
    // What ElasticsearchStateStore.recordEvents writes (an AlertEvent), not the lifecycle's Transition.
    const e: AlertEvent = {
      '@timestamp': '2024-05-01T01:05:00.000Z', event: { kind: 'alert', action: 'firing', id: 'x' },
      alert: { key: 'r|f|', from: 'ok', to: 'firing', message: 'firing', silenced: false },
      rule: { name: 'r', type: 'volume' }, model: { name: 'm', version: '1' }, field: 'f', segment: '', severity: 'warning',
      statistic: 'count', value: 3, threshold: { value: 5, direction: 'below', unit: 'count' }, window: { from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T01:00:00.000Z' },
      current_count: 3, reference_count: null, details: { a: 1 },
    };
    const am = alertsMappings();
    for (const [p, k] of leaves(e)) assert.ok(mappedType(am, p, k) !== undefined && mappedType(am, p, k) !== 'text', `${p} -> ${mappedType(am, p, k)}`);
    assert.equal(mappedType(am, 'rule.name', 'string'), 'keyword');
    assert.equal(mappedType(am, 'alert.to', 'string'), 'keyword');
    assert.equal(mappedType(am, '@timestamp', 'string'), 'date');
    // What saveAlerts writes: the keys it reads by, and the whole state unparsed.
    const s: AlertState = { key: 'k', rule: 'r', field: 'f', segment: '', model: 'm', status: 'firing', since: 'x', breaches: 1, firingSince: 'x', notified: true, lastNotifiedAt: 'x', lastWindowTo: 'x', updatedAt: 'x' };
    const sm = stateMappings();
    for (const p of ['doc_type', 'key', 'rule', 'status']) assert.equal(mappedType(sm, p, 'string'), 'keyword');
    assert.equal(mappedType(sm, 'updated_at', 'string'), 'date');
    for (const [p, k] of leaves({ state: s })) assert.equal(mappedType(sm, p, k), undefined, `${p}: the alert state is kept whole in _source`);
    const dm = deadLetterMappings();
    for (const p of ['event.id', 'model.name', 'log.file.path', 'error.type']) assert.equal(mappedType(dm, p, 'string'), 'keyword', p);
  });
});
