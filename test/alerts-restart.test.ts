/**
 * The alert path end to end across a restart: AlertManager + outbox + a real HTTP server standing
 * in for Slack, with the state in the embedded DuckDB store and in the real engine (test/engine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConfigSchema, ElasticsearchOutputSchema } from '../agent/config/schema.ts';
import { EngineClient } from '../agent/engine/client.ts';
import { AlertManager, type AlertRule } from '../agent/alerts/manager.ts';
import type { StateStore } from '../agent/alerts/state.ts';
import { openEmbeddedStateStore } from '../agent/alerts/state-embedded.ts';
import { ElasticsearchStateStore } from '../agent/alerts/state-es.ts';
import { silentLogger } from '../agent/telemetry/logger.ts';
import { at, result } from './support/alert-results.ts';
import { startRecorder, type Recorder } from './support/http-recorder.ts';
import { testEngine } from './support/engine.ts';
import { workspace } from './support/workspace.ts';

const root = workspace('alerts');

const rules: AlertRule[] = [{ name: 'fraud-country', notify: ['slack-ml'] }];

function config(dataDir: string, slackUrl: string) {
  return ConfigSchema.parse({
    output: { embedded: { path: join(dataDir, 'db.duckdb') } },
    path: { data: dataDir },
    notifiers: { 'slack-ml': { type: 'slack', webhook_url: `${slackUrl}/hook`, retry: { max_attempts: 5, initial_backoff: '10ms', max_backoff: '50ms' } } },
  });
}

const kinds = (slack: Recorder) => slack.requests.filter((r) => r.status === 200).map((r) => (JSON.parse(r.body) as { text: string }).text.split(' ')[0]);

async function restartScenario(name: string, openStore: () => Promise<StateStore>) {
  const dataDir = join(root, name);
  const slack = await startRecorder();
  try {
    const cfg = config(dataDir, slack.url);
    let clock = at(0);
    // first run: window 0 clean, window 1 drifted -> one firing message
    let store = await openStore();
    let mgr = new AlertManager({ config: cfg, store, logger: silentLogger, now: () => clock });
    await mgr.start();
    await mgr.process([result(0, false)], rules);
    clock = at(1);
    const r1 = await mgr.process([result(1, true)], rules);
    assert.equal(r1.enqueued, 1);
    assert.equal(await mgr.drain(3000), true);
    assert.deepEqual(kinds(slack), ['FIRING']);
    assert.deepEqual(mgr.cursors(), { 'fraud-country': result(1, true).window.to });
    await mgr.stop();
    await store.close();

    // restart in the middle of the firing alert
    store = await openStore();
    mgr = new AlertManager({ config: cfg, store, logger: silentLogger, now: () => clock });
    await mgr.start();
    assert.deepEqual(mgr.cursors(), { 'fraud-country': result(1, true).window.to }, 'the rule cursor survived');
    assert.equal(mgr.alerts().find((a) => a.rule === 'fraud-country')?.status, 'firing', 'the firing alert survived');
    // the same window replayed (crash before the cursor moved) and a later drifted window: no new message
    await mgr.process([result(1, true)], rules);
    clock = at(2);
    const r2 = await mgr.process([result(2, true)], rules);
    assert.equal(r2.enqueued, 0);
    clock = at(3);
    const r3 = await mgr.process([result(3, false)], rules);
    assert.equal(r3.enqueued, 1);
    assert.equal(await mgr.drain(3000), true);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(kinds(slack), ['FIRING', 'RECOVERED'], 'exactly one firing and one recovery message');
    const history = await store.history(10);
    assert.deepEqual(history.map((h) => `${h.alert.from}->${h.alert.to}`).reverse(), ['ok->firing', 'firing->recovered']);
    await mgr.stop();
    await store.close();
  } finally {
    await slack.close();
  }
}

test('embedded store: a restart neither repeats the firing message nor forgets the alert', async () => {
  const file = join(root, 'embedded.duckdb');
  await restartScenario('embedded', () => openEmbeddedStateStore(file));
});

test('search-engine store: a restart neither repeats the firing message nor forgets the alert', async (t) => {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  const clients: EngineClient[] = [];
  try {
    await restartScenario('es', async () => {
      const c = new EngineClient(ElasticsearchOutputSchema.parse({ hosts: [engine.url] }));
      clients.push(c);
      return new ElasticsearchStateStore(c, { indexPrefix: prefix });
    });
    await engine.refresh(prefix);
    const state = await engine.request('GET', `/${prefix}-state/_doc/${encodeURIComponent('alert:fraud-country|features.country|')}`);
    assert.equal(state.body._source.state.status, 'recovered');
    assert.equal((await engine.request('GET', `/${prefix}-state/_doc/cursor:fraud-country`)).status, 200);
    const history = await engine.request('POST', `/${prefix}-alerts/_search`, { sort: [{ '@timestamp': 'asc' }] });
    assert.deepEqual(history.body.hits.hits.map((h: { _source: { alert: { to: string } } }) => h._source.alert.to), ['firing', 'recovered']);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('a crash after the outbox write but before the state save sends nothing twice', async () => {
  const dataDir = join(root, 'crash');
  const slack = await startRecorder();
  try {
    const cfg = config(dataDir, slack.url);
    const store = await openEmbeddedStateStore(join(root, 'crash.duckdb'));
    // A manager whose state save fails: the message is in the outbox, the state is not stored.
    const failing: StateStore = Object.assign(Object.create(store) as StateStore, { saveAlerts: async () => { throw new Error('disk full'); } });
    const first = new AlertManager({ config: cfg, store: failing, logger: silentLogger, now: () => at(0) });
    await assert.rejects(first.process([result(0, true)], rules), /disk full/);
    const second = new AlertManager({ config: cfg, store, logger: silentLogger, now: () => at(0) });
    await second.start();
    await second.process([result(0, true)], rules);
    assert.equal(await second.drain(3000), true);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(kinds(slack), ['FIRING']);
    await second.stop();
    await store.close();
  } finally {
    await slack.close();
  }
});
