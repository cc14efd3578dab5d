/**
 * `driftbeat setup` on the real engine, then every writer of driftbeat writing real documents into
 * what setup made, and reading them back: the predictions data stream (sink), the dead letter,
 * results, alert state (alerts, cursors, silences), alert history, the lease and reference
 * profiles. A template that disagrees with its writer makes the engine refuse the writes here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runSetup } from '../agent/assets/setup.ts';
import { templatePlanFor } from '../agent/assets/templates.ts';
import { loadConfig } from '../agent/config/load.ts';
import type { Config } from '../agent/config/schema.ts';
import { createNormalizeContext, normalizeLine } from '../agent/normalize/normalize.ts';
import { openOutputs } from '../agent/outputs.ts';
import { buildReference } from '../agent/reference/build.ts';
import { csvRows, writeCsv } from './fixtures/training-csv.ts';
import type { RuleResult } from '../agent/rules/result.ts';
import type { OutEvent } from '../agent/sinks/sink.ts';
import { silentLogger } from '../agent/telemetry/logger.ts';
import { predictionLine } from './support/agent-process.ts';
import { testEngine } from './support/engine.ts';
import { workspace } from './support/workspace.ts';

const engine = await testEngine();
const dir = workspace('setup-engine');

function config(prefix: string): Config {
  const text = `
inputs:
  - paths: [${dir}/*.jsonl]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id, timestamp: timestamp }
output:
  elasticsearch:
    hosts: ["${engine.url}"]
    index_prefix: ${prefix}
path: { data: ${dir}/data-${prefix} }
`;
  return loadConfig('driftbeat.yml', { text, env: {} }).config;
}

async function setup(cfg: Config, steps: ('templates' | 'kibana' | 'watches')[] = ['templates']): Promise<string[]> {
  const lines: string[] = [];
  const report = await runSetup({ config: cfg, steps, out: (l) => lines.push(l) });
  assert.ok(report.ok || steps.length > 1, lines.join('\n'));
  return lines;
}

const memoryDeadLetter = () => {
  const written: { reason: string }[] = [];
  return { written, write: (e: { reason: string }) => void written.push(e) };
};

test('setup installs every template on OpenSearch, says what it skipped and why, and a second run changes nothing', async (t) => {
  const prefix = engine.prefix(t);
  const cfg = config(prefix);
  const first = await setup(cfg);
  assert.equal(first[0], `setup: OpenSearch ${engine.version} at ${engine.url}`);
  assert.ok(first.includes(`templates: ISM policy ${prefix}-predictions: skipped (the Index State Management plugin (opensearch-index-management) is not installed: prediction indices are kept until deleted by hand; install the plugin and run setup again for rollover and retention)`), first.join('\n'));
  const created = first.filter((l) => l.endsWith(': created'));
  // Every resource of the plan but the lifecycle policy, which needs a plugin this engine lacks.
  assert.equal(created.length, templatePlanFor(cfg, (await openOutputs(cfg).engine!.dialect())).length - 1, first.join('\n'));

  const second = await setup(cfg);
  assert.deepEqual(second.filter((l) => / (created|updated|failed)/.test(l)), [], second.join('\n'));

  // The engine holds what setup meant: flat_object on OpenSearch, no ILM setting it would refuse.
  const m = await engine.request('GET', `/_component_template/${prefix}-predictions@mappings`);
  const props = m.body.component_templates[0].component_template.template.mappings.properties;
  assert.equal(props.features_unparsed.type, 'flat_object');
  const settings = await engine.request('GET', `/_component_template/${prefix}-predictions@settings`);
  assert.equal(settings.body.component_templates[0].component_template.template.settings.index.lifecycle, undefined);

  // Kibana and Watcher are Elasticsearch-only: skipped with the reason, not failed, when defaulted.
  const all: string[] = [];
  await runSetup({ config: cfg, out: (l) => all.push(l) });
  assert.ok(all.some((l) => l.startsWith('kibana: saved object *: skipped (the saved objects are for Kibana')), all.join('\n'));
  assert.ok(all.some((l) => l.startsWith("watches: watch *: skipped (Watcher is Elasticsearch-only; on OpenSearch the agent's own alerting")), all.join('\n'));
});

test('the user\'s own @custom component template is never overwritten, and takes effect', async (t) => {
  const prefix = engine.prefix(t);
  const cfg = config(prefix);
  await engine.request('PUT', `/_component_template/${prefix}-predictions@custom`, { template: { settings: { index: { number_of_replicas: 0, refresh_interval: '5s' } } } });
  const lines = await setup(cfg);
  assert.ok(lines.includes(`templates: component template ${prefix}-predictions@custom: unchanged`), lines.join('\n'));
  const stream = await engine.request('GET', `/_data_stream/${prefix}-predictions-fraud`);
  const backing = stream.body.data_streams[0].indices[0].index_name as string;
  const s = await engine.request('GET', `/${backing}/_settings`);
  assert.equal(s.body[backing].settings.index.refresh_interval, '5s');
});

test('after setup, every writer writes real documents and reads them back', async (t) => {
  const prefix = engine.prefix(t);
  const cfg = config(prefix);
  await setup(cfg);
  const outputs = openOutputs(cfg, { name: 'test' });
  try {
    // predictions: bulk create into the model's data stream, a re-send is a 409 duplicate
    const deadLetter = memoryDeadLetter();
    const sink = await outputs.predictionsSink({ deadLetter, logger: silentLogger });
    await sink.start();
    const ctx = createNormalizeContext(cfg.inputs[0]!, { hostName: 'test-host' });
    const events: OutEvent[] = [];
    for (let i = 0; i < 50; i++) {
      const r = normalizeLine(predictionLine(i), { key: 'k', path: join(dir, 'p.jsonl'), offset: i * 300 }, ctx);
      assert.ok(r.ok);
      events.push(r.event);
    }
    const firstSend = await sink.send({ events, bytes: 0 });
    assert.deepEqual({ indexed: firstSend.indexed, duplicates: firstSend.duplicates, dead: firstSend.deadLettered }, { indexed: 50, duplicates: 0, dead: 0 });
    const again = await sink.send({ events: events.slice(0, 10), bytes: 0 });
    assert.deepEqual({ indexed: again.indexed, duplicates: again.duplicates }, { indexed: 0, duplicates: 10 });

    // a document the mapping refuses (a number field given an object) goes to the dead letter with the engine's reason
    const bad = structuredClone(events[0]!);
    bad.id = 'bad-1';
    bad.doc.event.id = 'bad-1';
    (bad.doc.features as Record<string, unknown>)['amount'] = { not: 'a number' };
    const refused = await sink.send({ events: [bad], bytes: 0 });
    assert.equal(refused.deadLettered, 1);
    assert.match(deadLetter.written[0]!.reason, /mapper_parsing_exception|document_parsing_exception/);
    await sink.stop();

    // results
    const results = await outputs.resultsWriter();
    const result: RuleResult = {
      rule: 'fraud-volume', type: 'volume', model: 'fraud', version: '1.4.2', field: '*', segment: '', status: 'drifted',
      window: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-01T01:00:00.000Z' }, statistic: 'count', value: 3, threshold: { value: 100, direction: 'below', unit: 'count' },
      drifted: true, reference_count: null, current_count: 3, severity: 'warning', details: { bounds: { min: 100 }, note: ['a', 'b'] },
      reference: 'none', evaluated_at: '2026-11-01T01:05:00.000Z',
    };
    await results.write([result]);
    await engine.refresh(prefix);
    assert.equal((await results.lastWindowEnd('fraud-volume'))?.toISOString(), result.window.to);
    // The threshold object is mapped as the writer writes it: a number, the side that breaches, the unit.
    const caps = await engine.request('GET', `/${prefix}-results/_field_caps?fields=threshold.*`);
    assert.deepEqual(Object.fromEntries(Object.entries(caps.body.fields as Record<string, Record<string, unknown>>).filter(([k]) => k.includes('.')).map(([k, v]) => [k, Object.keys(v)[0]])), { 'threshold.value': 'double', 'threshold.direction': 'keyword', 'threshold.unit': 'keyword' });
    const stored = await engine.request('POST', `/${prefix}-results/_search`, { query: { range: { 'threshold.value': { gte: 100 } } } });
    assert.deepEqual(stored.body.hits.hits[0]._source.threshold, result.threshold);

    // alert state, cursors, silences and history
    const state = await outputs.stateStore();
    await state.init();
    await state.saveAlerts([{ key: 'fraud-volume|*|', rule: 'fraud-volume', field: '*', segment: '', model: 'fraud', status: 'firing', since: result.window.to, breaches: 1, firingSince: result.window.to, notified: true, lastNotifiedAt: result.evaluated_at, lastWindowTo: result.window.to, updatedAt: result.evaluated_at }]);
    await state.saveCursor('fraud-volume', result.window.to);
    await state.saveSilence({ rule: 'fraud-volume', until: '2026-11-02T00:00:00.000Z', created_at: result.evaluated_at });
    await state.recordEvents([{
      '@timestamp': result.evaluated_at, event: { kind: 'alert', action: 'firing', id: 'fraud-volume|*||1' },
      alert: { key: 'fraud-volume|*|', from: 'ok', to: 'firing', message: 'firing', silenced: false },
      rule: { name: 'fraud-volume', type: 'volume' }, model: { name: 'fraud', version: '1.4.2' }, field: '*', segment: '',
      severity: 'warning', statistic: 'count', value: 3, threshold: result.threshold, window: result.window, current_count: 3, reference_count: null, details: result.details,
    }]);
    await engine.refresh(prefix);
    assert.equal((await state.loadAlerts())[0]?.status, 'firing');
    assert.deepEqual(await state.loadCursors(), { 'fraud-volume': result.window.to });
    assert.equal((await state.loadSilences())[0]?.until, '2026-11-02T00:00:00.000Z');
    // A silence of one field and segment is its own document beside the rule's.
    await state.saveSilence({ rule: 'fraud-volume', field: '*', segment: 'model.version=1.5.0', until: '2026-11-03T00:00:00.000Z', created_at: result.evaluated_at });
    await engine.refresh(prefix);
    assert.deepEqual((await state.loadSilences()).map((x) => [x.rule, x.field ?? null, x.segment ?? null, x.until]).sort(), [
      ['fraud-volume', '*', 'model.version=1.5.0', '2026-11-03T00:00:00.000Z'], ['fraud-volume', null, null, '2026-11-02T00:00:00.000Z'],
    ]);
    assert.equal((await state.history(10))[0]?.alert.to, 'firing');
    assert.deepEqual((await state.history(10))[0]?.threshold, result.threshold);

    // the lease
    const lease = await outputs.lease(silentLogger, { holder: 'agent-1' });
    await lease.start();
    assert.equal(lease.isLeader(), true);
    await lease.stop();

    // reference profiles
    const csv = join(dir, `train-${prefix}.csv`);
    writeCsv(csv, csvRows());
    const profile = await buildReference({ input: cfg.inputs[0]!, model: 'fraud', version: '1.4.2', dataPath: csv });
    const refs = await outputs.referenceStore();
    await refs.save(profile);
    assert.deepEqual((await refs.get('fraud', '1.4.2'))?.fields.map((f) => f.field), profile.fields.map((f) => f.field));

    // Nothing above made the engine add fields on its own: every index kept the mapping setup gave it.
    await engine.refresh(prefix);
    const dl = await engine.request('GET', `/${prefix}-deadletter/_search`);
    assert.equal(dl.body.hits.total.value, 1);
    assert.match(dl.body.hits.hits[0]._source.error.type, /mapper_parsing_exception|document_parsing_exception/);
    for (const index of ['state', 'reference', 'deadletter']) {
      const mapping = await engine.request('GET', `/${prefix}-${index}/_mapping`);
      assert.equal(mapping.body[`${prefix}-${index}`].mappings.dynamic, 'false', `${index} stays dynamic: false`);
    }
    const counts = await engine.request('GET', `/${prefix}-predictions-fraud/_count`);
    assert.equal(counts.body.count, 50);
  } finally {
    await outputs.close();
  }
});

test('each OpenSearch entry of the dialect table is there because the engine refuses the Elasticsearch form', async (t) => {
  const prefix = engine.prefix(t);
  const { DIALECTS } = await import('../agent/engine/dialect.ts');
  const { predictionsComponentTemplates, predictionsIndexTemplate, indexNames } = await import('../agent/assets/templates.ts');
  const n = indexNames(prefix);
  const es = DIALECTS.elasticsearch;
  const [mappings, settings] = predictionsComponentTemplates(n, es);
  const refused = async (path: string, body: unknown) => {
    const r = await engine.request('PUT', path, body);
    assert.equal(r.status, 400, `${path} accepted`);
    return JSON.stringify(r.body.error);
  };
  assert.match(await refused(`/_component_template/${mappings!.name}`, mappings!.body), /No handler for type \[flattened\]/);
  assert.match(await refused(`/_component_template/${settings!.name}`, settings!.body), /unknown setting \[index\.lifecycle\.name\]/);
  assert.match(await refused(`/_index_template/${n.predictionsTemplate}`, predictionsIndexTemplate(n, es)), /unknown field \[(ignore_missing_component_templates|allow_auto_create)\]/);
  // ... and the OpenSearch forms are taken.
  const os = DIALECTS.opensearch;
  for (const c of predictionsComponentTemplates(n, os)) assert.equal((await engine.request('PUT', `/_component_template/${c.name}`, c.body)).status, 200);
  assert.equal((await engine.request('PUT', `/_component_template/${n.predictionsTemplate}@custom`, { template: {} })).status, 200);
  assert.equal((await engine.request('PUT', `/_index_template/${n.predictionsTemplate}`, predictionsIndexTemplate(n, os))).status, 200);
});
