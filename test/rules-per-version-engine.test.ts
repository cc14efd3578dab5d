/**
 * Per-version references on the real engine (issue 12 item 1): a rule without `version` and with
 * `group_by: [model.version]` compares each version's segment with that version's own profile,
 * read from `<prefix>-reference` by the Elasticsearch reference store; a version without a profile
 * is `no_reference`, and a newer profile of another version changes nothing for the champion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSetup } from '../agent/assets/setup.ts';
import { loadConfig } from '../agent/config/load.ts';
import { openOutputs } from '../agent/outputs.ts';
import { loadRules } from '../agent/rules/load.ts';
import { evaluateRules } from '../agent/rules/runner.ts';
import { silentLogger } from '../agent/telemetry/logger.ts';
import { buildDataset, START, WINDOW } from './fixtures/plans/dataset.ts';
import { testEngine } from './support/engine.ts';
import { workspace } from './support/workspace.ts';

const engine = await testEngine();
const dir = workspace('per-version-engine');

test('each model.version segment uses its own profile on the real engine; a version without one is no_reference', async (t) => {
  const prefix = engine.prefix(t);
  const data = await buildDataset(dir);
  const { config } = loadConfig('driftbeat.yml', { env: {}, text: `
inputs:
  - paths: [${dir}/*.jsonl]
    model: { name: fraud, version_field: model_version }
output:
  elasticsearch:
    hosts: ["${engine.url}"]
    index_prefix: ${prefix}
path: { data: ${dir}/data }
` });
  const report = await runSetup({ config, steps: ['templates'], out: () => undefined });
  assert.ok(report.ok);
  const outputs = openOutputs(config, { name: 'test' });
  try {
    const sink = await outputs.predictionsSink({ deadLetter: { write: () => undefined }, logger: silentLogger });
    await sink.start();
    const sent = await sink.send({ events: data.events, bytes: 0 });
    assert.equal(sent.indexed, data.events.length);
    await sink.stop();
    const references = await outputs.referenceStore();
    await references.save(data.profile);
    await engine.refresh(prefix);
    const ruleFile = join(dir, 'na.yml');
    writeFileSync(ruleFile, "type: missing_spike\nname: na-per-version\nmodel: fraud\nfields: [dist_km]\nwindow: 1h\nschedule: '0 * * * *'\ndelay: 0s\nmin_samples: 10\ngroup_by: [model.version]\n");
    const [rule] = loadRules([ruleFile]);
    const backend = await outputs.ruleBackend();
    const evaluate = async () => (await evaluateRules([{ rule: rule!, window: WINDOW }], { backend, references })).evaluations[0]!.results;

    let results = await evaluate();
    const champion = results.find((r) => r.segment === 'model.version=1.4.2')!;
    assert.equal(champion.reference, 'profile:fraud@1.4.2');
    assert.equal(champion.status, 'drifted');
    const challenger = results.find((r) => r.segment === 'model.version=1.5.0')!;
    assert.equal(challenger.status, 'no_reference');
    assert.match(String(challenger.details.reason), /version "1\.5\.0" \(profiles: 1\.4\.2\)/);

    const dist = data.profile.fields.find((f) => f.field === 'features.dist_km')!;
    await references.save({ ...data.profile, version: '1.5.0', built_at: new Date(START + 1000).toISOString(), fields: data.profile.fields.map((f) => ({ ...f, version: '1.5.0', ...(f === dist ? { missing_share: 0.5 } : {}) })) });
    results = await evaluate();
    assert.equal(results.find((r) => r.segment === 'model.version=1.4.2')!.reference, 'profile:fraud@1.4.2');
    assert.equal(results.find((r) => r.segment === 'model.version=1.4.2')!.details.reference_missing_share, dist.missing_share);
    const own = results.find((r) => r.segment === 'model.version=1.5.0')!;
    assert.equal(own.reference, 'profile:fraud@1.5.0');
    assert.equal(own.details.reference_missing_share, 0.5);
  } finally {
    await outputs.close();
  }
});
