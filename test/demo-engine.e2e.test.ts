/**
 * The demo into the real engine (what `npm start -- --engine` does), then the Kibana objects
 * checked against what the engine really holds: every field a data view or panel uses exists in
 * `_field_caps` of the data view's pattern, aggregatable where the panel aggregates it.
 * (Kibana itself cannot run here; the engine's field capabilities are what Kibana reads.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildKibanaObjects, type SavedObject } from '../agent/assets/kibana.ts';
import { DEMO_INDEX_PREFIX, runDemo } from '../demo/run.ts';
import { testEngine } from './support/engine.ts';
import { workspace } from './support/workspace.ts';

const engine = await testEngine();
const dir = workspace('demo-engine');

const sink = { write: () => true };

interface Column { sourceField?: string; operationType: string; dataType: string }

function fieldsUsed(objects: SavedObject[]): { view: string; field: string; aggregated: boolean; where: string }[] {
  const views = new Map(objects.filter((o) => o.type === 'index-pattern').map((o) => [o.id, o]));
  const used: { view: string; field: string; aggregated: boolean; where: string }[] = [];
  for (const v of views.values()) used.push({ view: v.id, field: String(v.attributes['timeFieldName']), aggregated: true, where: `${v.id} time field` });
  for (const l of objects.filter((o) => o.type === 'lens')) {
    const view = l.references.find((r) => r.name.startsWith('indexpattern-datasource-layer-'))!.id;
    const layers = (l.attributes['state'] as { datasourceStates: { formBased: { layers: Record<string, { columns: Record<string, Column> }> } } }).datasourceStates.formBased.layers;
    for (const layer of Object.values(layers)) {
      for (const c of Object.values(layer.columns)) {
        if (c.sourceField && c.sourceField !== '___records___') used.push({ view, field: c.sourceField, aggregated: true, where: l.id });
      }
    }
  }
  return used;
}

test('the demo into the real engine fires and recovers every scheduled change, and every field Kibana reads is there', async (t) => {
  engine.prefix(t); // counted in the real-engine tally; the demo owns its own prefix, emptied at start
  const report = await runDemo({ dataDir: join(dir, 'demo'), fast: true, out: sink as never, engineUrl: engine.url, env: {} });
  const firedRules = [...new Set(report.fired.map((f) => f.rule))].sort();
  // Every scheduled change, the concept drift (demo-model-quality, from the outcomes joined on the engine) included.
  assert.deepEqual(firedRules, ['demo-input-drift', 'demo-missing-spike', 'demo-model-quality', 'demo-note-oov', 'demo-score-shift', 'demo-unseen-categories']);
  assert.equal(report.recovered.length, report.fired.length, 'every alert recovered once its change ended');
  assert.equal(report.indexed, report.linesWritten, 'every line stored, none refused');
  assert.equal(report.results.filter((r) => r.status === 'error').length, 0, 'no rule in error');

  await engine.refresh(DEMO_INDEX_PREFIX);
  const objects = buildKibanaObjects();
  const titles = new Map(objects.filter((o) => o.type === 'index-pattern').map((o) => [o.id, String(o.attributes['title']).replace(/^driftbeat-/, `${DEMO_INDEX_PREFIX}-`)]));
  const runtime = new Map(objects.filter((o) => o.type === 'index-pattern').map((o) => [o.id, JSON.parse(String(o.attributes['runtimeFieldMap'])) as Record<string, { script: { source: string } }>]));
  const caps = new Map<string, Record<string, Record<string, { aggregatable: boolean }>>>();
  for (const [id, title] of titles) {
    const r = await engine.request('GET', `/${title}/_field_caps?fields=*`);
    assert.equal(r.status, 200, `${title}: ${JSON.stringify(r.body)}`);
    caps.set(id, r.body.fields);
  }
  const problems: string[] = [];
  const need = (view: string, field: string, where: string) => {
    const c = caps.get(view)![field];
    if (!c) problems.push(`${where}: ${field} is not a field of ${titles.get(view)}`);
    else if (!Object.values(c).some((x) => x.aggregatable)) problems.push(`${where}: ${field} is not aggregatable in ${titles.get(view)}`);
  };
  for (const u of fieldsUsed(objects)) {
    const rf = runtime.get(u.view)![u.field];
    if (rf) {
      // A runtime field: what its script reads from doc values must be aggregatable.
      for (const [, f] of rf.script.source.matchAll(/doc\['([^']+)'\]/g)) need(u.view, f!, `${u.where} (runtime ${u.field})`);
      continue;
    }
    need(u.view, u.field, u.where);
  }
  assert.deepEqual(problems, []);
});
