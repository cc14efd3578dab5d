/**
 * Watches across components: the example watches in kibana/watches/ are what the generator makes
 * of rules/ (kept in sync), and `driftbeat setup --watches` installs the generated watches through
 * the real setup loop against the stand-in Elasticsearch, license check included.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../agent/config/load.ts';
import type { Config } from '../agent/config/schema.ts';
import { runSetup, type SetupReport } from '../agent/assets/setup.ts';
import { EXAMPLE_RULES_DIR, EXAMPLE_WATCHES_DIR, exampleWatches, watchesSetupProvider, watchJson } from '../agent/assets/watches.ts';
import { FakeElasticStack } from './support/fake-elastic-stack.ts';

describe('kibana/watches', () => {
  it('holds exactly the watches generated from rules/ (regenerate: node --import tsx agent/assets/watches.ts)', async () => {
    const set = await exampleWatches();
    const onDisk = readdirSync(EXAMPLE_WATCHES_DIR).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(onDisk, set.watches.map((w) => `${w.id}.json`).sort(), 'stale or missing files: run node --import tsx agent/assets/watches.ts');
    for (const w of set.watches) {
      assert.ok(readFileSync(join(EXAMPLE_WATCHES_DIR, `${w.id}.json`), 'utf8') === watchJson(w), `${w.id}.json is stale: run node --import tsx agent/assets/watches.ts`);
      assert.match(w.body.metadata.driftbeat.generated_by, /node --import tsx agent\/assets\/watches\.ts/);
    }
    // Every example rule either has a watch or a reason why not.
    const names = readdirSync(EXAMPLE_RULES_DIR).filter((f) => f.endsWith('.yml')).length;
    assert.equal(set.watches.length + set.warnings.filter((w) => /: no watch: /.test(w)).length, names);
  });
});

describe('driftbeat setup --watches', () => {
  const stack = new FakeElasticStack();
  let url = '';
  const config = (): Config => loadConfig('driftbeat.yml', {
    env: {},
    text: `
output: { elasticsearch: { hosts: ["${url}"], username: elastic, password: s3cret-pass } }
rules: { path: ${JSON.stringify(EXAMPLE_RULES_DIR)} }
notifiers:
  slack-ml: { type: slack, webhook_url: "https://hooks.slack.com/services/T0/B0/s3cretpath" }
  oncall-email: { type: email, host: smtp.example.com, password: s3cret-smtp, from: a@example.com, to: [b@example.com] }
  retrain: { type: webhook, url: "https://ci.example.com/hook" }
`,
  }).config;

  before(async () => {
    url = await stack.start();
  });
  after(async () => {
    await stack.stop();
  });
  beforeEach(() => {
    stack.requests.length = 0;
  });

  async function setup(): Promise<{ report: SetupReport; lines: string[] }> {
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    const report = await runSetup({ config: config(), steps: ['watches'], out, watches: watchesSetupProvider({ out, profiles: false }) });
    return { report, lines };
  }

  it('installs every watch in rule order, then finds them unchanged (Watcher normalizes what it returns)', async () => {
    stack.license = { type: 'trial', status: 'active' };
    const first = await setup();
    assert.ok(first.report.ok, first.lines.join('\n'));
    const ids = (await exampleWatches()).watches.map((w) => w.id);
    assert.deepEqual(first.report.actions.map((a) => [a.name, a.result]), ids.map((id) => [id, 'created']));
    assert.deepEqual(stack.calls().filter((c) => c.startsWith('PUT')), ids.map((id) => `PUT /_watcher/watch/${id}`));
    assert.equal(stack.calls()[0], 'GET /_license');
    assert.ok([...stack.watches.values()].every((w) => w.active));
    const stored = JSON.stringify([...stack.watches.values()]);
    assert.ok(!/s3cret/.test(stored), 'no secret of the config reaches a watch');
    assert.ok(first.lines.some((l) => /fraud-missing-spike: no watch/.test(l)), 'rules without a watch are named');

    stack.requests.length = 0;
    const second = await setup();
    assert.deepEqual(second.report.actions.map((a) => a.result), ids.map(() => 'unchanged'));
    assert.equal(stack.calls().filter((c) => c.startsWith('PUT')).length, 0);
  });

  it('creates the watches inactive with a clear message when the license has no Watcher, and activates them after an upgrade', async () => {
    stack.watches.clear();
    stack.license = { type: 'basic', status: 'active' };
    const { report, lines } = await setup();
    assert.ok(report.ok);
    assert.ok(stack.calls().filter((c) => c.startsWith('PUT')).every((c) => c.endsWith('?active=false')));
    assert.ok([...stack.watches.values()].every((w) => !w.active));
    assert.ok(lines.some((l) => /license \(basic, active\) does not include Watcher: the 4 watch\(es\) are created inactive/.test(l)), lines.join('\n'));

    stack.requests.length = 0;
    stack.license = { type: 'platinum', status: 'active' };
    const again = await setup();
    assert.ok(again.report.actions.every((a) => a.result === 'updated'));
    assert.ok([...stack.watches.values()].every((w) => w.active));
  });
});
