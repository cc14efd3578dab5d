/**
 * `driftbeat demo --fast` end to end: the demo model writes a simulated day with five scheduled
 * changes, the real agent ingests it into DuckDB, the demo rules run every simulated hour. Each
 * change must fire exactly its rule on its field inside its hours and recover after it, nothing
 * else may fire, and the data folder must be usable afterwards (rules test, alerts list).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../agent/config/load.ts';
import { alertsList, openStateStore } from '../agent/alerts/commands.ts';
import { rulesTestCommand } from '../agent/rules/commands.ts';
import { demoCommand } from '../demo/command.ts';
import { DEMO_CHANGES, HOUR_MS } from '../demo/model.ts';
import { DEMO_RULES_DIR, type DemoReport, type FiredAlert } from '../demo/run.ts';

test('driftbeat demo --fast: every scheduled change fires its rule on its field, then recovers; nothing else fires', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-demo-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'demo-data');
  let text = '';
  // Not a TTY, as in CI logs: plain lines, no escape codes.
  const stdout = { write: (s: string) => ((text += s), true), isTTY: false };
  let report: DemoReport | undefined;
  const started = Date.now();

  const code = await demoCommand({ fast: true, data }, { stdout, onReport: (r) => (report = r) });

  assert.equal(code, 0);
  assert.ok(report);
  assert.ok(Date.now() - started < 60_000, `fast demo took ${Date.now() - started} ms`);
  assert.ok(report.linesWritten > 40_000);
  assert.equal(report.indexed, report.linesWritten, 'every prediction written was stored');

  const hourOf = (iso: string) => (Date.parse(iso) - report!.startMs) / HOUR_MS;
  const key = (a: { rule: string; field: string; segment: string }) => `${a.rule} ${a.field}${a.segment ? ` [${a.segment}]` : ''}`;
  const expected = DEMO_CHANGES.map((c) => key({ rule: c.rule, field: c.field, segment: '' })).sort();
  assert.deepEqual(report.fired.map(key).sort(), expected, 'alerts fired');
  assert.deepEqual(report.recovered.map(key).sort(), expected, 'alerts recovered');
  for (const c of DEMO_CHANGES) {
    const f: FiredAlert = report.fired.find((a) => a.rule === c.rule)!;
    // Fires at the end of the change's first hour, recovers at the end of the first clean hour.
    assert.equal(hourOf(f.at), c.fromHour + 1, `${c.rule} fired at ${f.at}`);
    const r: FiredAlert = report.recovered.find((a) => a.rule === c.rule)!;
    assert.equal(hourOf(r.at), c.toHour + 1, `${c.rule} recovered at ${r.at}`);
  }

  // Stronger than the alerts: no window drifted outside its change, on any other field.
  for (const r of report.results) {
    assert.notEqual(r.status, 'error', `${r.rule} ${r.field}: ${r.error ?? ''}`);
    if (!r.drifted) continue;
    const c = DEMO_CHANGES.find((x) => x.rule === r.rule && x.field === r.field);
    assert.ok(c, `unexpected drift: ${r.rule} on ${r.field} in ${r.window.from}`);
    const h = hourOf(r.window.from);
    assert.ok(h >= c.fromHour && h < c.toHour, `${r.rule} drifted at ${r.window.from}, outside ${c.fromHour}:00-${c.toHour}:00`);
  }
  // The clean rule ran every hour and never drifted.
  const volume = report.results.filter((r) => r.rule === 'demo-volume');
  assert.equal(volume.length, report.hours);
  assert.ok(volume.every((r) => r.status === 'ok'));

  // What a person sees.
  assert.ok(!text.includes('\x1b'), 'no escape codes when stdout is not a terminal');
  assert.match(text, /FIRING\s+demo-unseen-categories on merchant: unseen_share [\d.]+ \(threshold > 0\.01\) - unseen: crypto \(\d+\)/);
  assert.match(text, /FIRING\s+demo-note-oov on text\.customer_note: .* - new words: .*refund/);
  assert.match(text, /RECOVERED demo-score-shift on prediction\.score/);
  assert.match(text, /^01:00 {2}ingest: [\d,]+ lines written, [\d,]+ indexed/m);
  assert.match(text, /^rule\s+field\s+statistic\s+value\s+threshold\s+state$/m);
  assert.match(text, /^demo-missing-spike\s+dist_km\s+missing_share\s+[\d.]+\s+0\s+recovered \(fired 06:00-09:00\)$/m);
  assert.match(text, /^demo-volume\s+\*\s+count\s+\d+\s+500\s+ok$/m);
  assert.match(text, /driftbeat rules test \S+demo-unseen-categories\.yml -c \S+driftbeat\.yml --from \S+ --to \S+/);

  // The data folder: a config pointing at it, a store that rules test and alerts list can read.
  const configFile = join(data, 'driftbeat.yml');
  assert.ok(existsSync(join(data, 'logs')) && existsSync(join(data, 'training', 'fraud-train.csv')));
  const { config } = loadConfig(configFile);
  assert.equal(config.output.embedded?.path, join(data, 'driftbeat.duckdb'));
  const from = new Date(report.startMs + 3 * HOUR_MS).toISOString();
  const to = new Date(report.startMs + 4 * HOUR_MS).toISOString();
  const tested = await rulesTestCommand({ ruleFile: join(DEMO_RULES_DIR, 'demo-unseen-categories.yml'), configFile, from, to, json: true });
  assert.equal(tested.exitCode, 0, tested.text);
  const json = JSON.parse(tested.text) as { status: string; results: { field: string; drifted: boolean; details: { unseen_values?: { value: string; count: number }[] } }[] };
  assert.equal(json.status, 'drifted');
  assert.deepEqual(json.results.filter((r) => r.drifted).map((r) => r.field), ['features.merchant']);
  assert.equal(json.results.find((r) => r.drifted)!.details.unseen_values?.[0]?.value, 'crypto');
  const opened = await openStateStore(config);
  try {
    const alerts = await alertsList(opened.store, { all: true });
    assert.ok(alerts.length > DEMO_CHANGES.length);
    assert.deepEqual(alerts.filter((a) => a.status === 'firing' || a.status === 'pending'), []);
    // The history holds each episode: fired, then recovered.
    const history = await opened.store.history(100);
    const episodes = (action: string) => history.filter((e) => e.alert.to === action).map((e) => key({ rule: e.rule.name, field: e.field, segment: e.segment })).sort();
    assert.deepEqual(episodes('firing'), expected);
    assert.deepEqual(episodes('recovered'), expected);
  } finally {
    await opened.close();
  }
});
