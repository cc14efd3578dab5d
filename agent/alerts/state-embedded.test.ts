import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { step } from './lifecycle.ts';
import { toEvent } from './state.ts';
import { openEmbeddedStateStore } from './state-embedded.ts';
import { at, result } from '../../test/support/alert-results.ts';
import { workspace } from '../../test/support/workspace.ts';

const dir = workspace('state');

test('alert states, cursors, silences and history survive closing and reopening the DuckDB file', async () => {
  const file = join(dir, 'driftbeat.duckdb');
  const o = step(undefined, result(0, true), at(0));
  let s = await openEmbeddedStateStore(file);
  await s.saveAlerts([o.state]);
  await s.saveAlerts([{ ...o.state, breaches: 2 }]);
  await s.saveCursor('fraud-country', '2024-05-01T01:00:00.000Z');
  await s.saveSilence({ rule: 'fraud-country', until: '2024-05-02T00:00:00.000Z', created_at: '2024-05-01T00:00:00.000Z', comment: 'deploy' });
  await s.recordEvents(o.transitions.map(toEvent));
  await s.recordEvents(o.transitions.map(toEvent)); // replay: stored once
  await s.close();

  s = await openEmbeddedStateStore(file);
  try {
    const alerts = await s.loadAlerts();
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.status, 'firing');
    assert.equal(alerts[0]!.breaches, 2);
    assert.equal(alerts[0]!.lastBreach?.value, 0.125);
    assert.deepEqual(await s.loadCursors(), { 'fraud-country': '2024-05-01T01:00:00.000Z' });
    assert.deepEqual(await s.loadSilences(), [{ rule: 'fraud-country', until: '2024-05-02T00:00:00.000Z', created_at: '2024-05-01T00:00:00.000Z', comment: 'deploy' }]);
    const h = await s.history(10);
    assert.equal(h.length, 1);
    assert.equal(h[0]!.alert.to, 'firing');
    assert.equal(h[0]!.alert.message, 'firing');
    assert.deepEqual(h[0]!.details, { unseen_values: [{ value: 'XK', count: 120 }, { value: 'ZZ', count: 30 }], na_share: 0.02 });
  } finally {
    await s.close();
  }
});
