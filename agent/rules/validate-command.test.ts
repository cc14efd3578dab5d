import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateRulesCommand, validateRulesWithConfig } from './validate-command.ts';
import { InputSchema } from '../config/schema.ts';
import { buildReference } from '../reference/build.ts';
import { csvRows, writeCsv } from '../../test/fixtures/training-csv.ts';
import { EmbeddedReferenceStore } from '../reference/store-embedded.ts';
import { openStore } from '../sinks/embedded/store.ts';

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-validate-'));
  try { fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

const CONFIG = (rulesPath: string) => `output:
  embedded: { path: ./data/db.duckdb }
rules:
  path: ${rulesPath}
notifiers:
  slack-ml: { type: slack, webhook_url: "\${SLACK_URL:-https://hooks.slack.invalid/x}" }
  oncall-email: { type: email, host: smtp.invalid, from: a@b.invalid, to: [c@d.invalid] }
  retrain: { type: log }
`;

test('rules validate lists every example rule as OK, taking the rules path and notifiers from the config', () => {
  withTmp((dir) => {
    const rules = join(dir, 'rules');
    cpSync('rules', rules, { recursive: true });
    writeFileSync(join(dir, 'driftbeat.yml'), CONFIG(rules));
    const r = validateRulesCommand([], join(dir, 'driftbeat.yml'), { cwd: dir, env: {} });
    assert.equal(r.ok, true, r.output);
    const lines = r.output.trim().split('\n');
    assert.ok(lines.includes('OK   rules/fraud-volume.yml: rule "fraud-volume" (volume, fraud, window 15m, schedule "*/15 * * * *")'), r.output);
    assert.ok(lines.includes('OK   rules/fraud-input-drift.yml: rule "fraud-input-drift" (distribution_shift, fraud@1.5.0, window 6h, schedule "0 */6 * * *")'), r.output);
    assert.equal(lines.at(-1), '8 rules OK');
    assert.ok(!r.output.includes('not checked'));
  });
});

test('rules validate prints every problem of every file, with file:line:col, and fails', () => {
  withTmp((dir) => {
    writeFileSync(join(dir, 'driftbeat.yml'), CONFIG('unused'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, "type: volume\nmodel: fraud\nwindow: 15m\nschedule: '*/15 * * * *'\nmin_count: 10\nnotify: [pagerduty]\nseverity: high\n");
    const r = validateRulesCommand(['rules/fraud-volume.yml', bad], join(dir, 'driftbeat.yml'), { cwd: process.cwd(), env: {} });
    assert.equal(r.ok, false);
    const lines = r.output.trim().split('\n');
    assert.equal(lines[0], 'OK   rules/fraud-volume.yml: rule "fraud-volume" (volume, fraud, window 15m, schedule "*/15 * * * *")');
    assert.equal(lines[1]!.startsWith(`${bad}:6:10: `), true, lines[1]);
    assert.match(lines[1]!, /bad\.yml:6:10: rule "bad": notify\[0\]: unknown notifier "pagerduty"; the config defines "slack-ml", "oncall-email", "retrain"$/);
    assert.match(lines[2]!, /bad\.yml:7:11: rule "bad": severity: expected one of "info", "warning", "critical", received string "high"$/);
    assert.equal(lines[3], '2 problems in 1 of 2 rule files');
  });
});

test('rules validate without a config checks the files alone and says what it skipped', () => {
  const r = validateRulesCommand(['test/fixtures/rules-bad/unknown-notifier.yml']);
  assert.equal(r.ok, true, r.output);
  assert.match(r.output, /note: notifier names, models and fields were not checked \(pass the config with -c to check them\)\n1 rule OK\n$/);
  const none = validateRulesCommand([]);
  assert.equal(none.ok, false);
  assert.match(none.output, /^no rule paths given/);
});

test('rules validate reports a broken config instead of checking rules against it', () => {
  withTmp((dir) => {
    writeFileSync(join(dir, 'driftbeat.yml'), 'output: {}\n');
    const r = validateRulesCommand(['rules'], join(dir, 'driftbeat.yml'));
    assert.equal(r.ok, false);
    assert.match(r.output, /^config .*driftbeat\.yml is invalid, so the rules were not checked:\n.*driftbeat\.yml:1:9: output: expected exactly one of elasticsearch or embedded, received none/);
  });
});

test('rules validate -c checks models against the config\'s inputs and fields against the stored profiles', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-validate-profiles-'));
  try {
    const input = InputSchema.parse({ paths: ['x'], model: { name: 'fraud' }, fields: { id: 'request_id', text: ['note'] } });
    const csv = join(dir, 'train.csv');
    writeCsv(csv, csvRows());
    const profile = await buildReference({ input, model: 'fraud', version: '1.0', dataPath: csv, now: () => new Date('2024-06-01T00:00:00Z') });
    const store = await openStore(join(dir, 'db.duckdb'));
    await new EmbeddedReferenceStore(store).save(profile);
    await store.close();
    const rules = join(dir, 'rules');
    mkdirSync(rules);
    writeFileSync(join(rules, 'typo.yml'), "type: missing_spike\nmodel: fraud\nfields: [amount, contry]\nwindow: 1h\nschedule: '0 * * * *'\n");
    writeFileSync(join(rules, 'other-model.yml'), "type: volume\nmodel: frauds\nwindow: 1h\nschedule: '0 * * * *'\nmin_count: 1\n");
    writeFileSync(join(dir, 'driftbeat.yml'), `inputs:\n  - paths: ["${dir}/*.jsonl"]\n    model: { name: fraud }\noutput:\n  embedded: { path: ${join(dir, 'db.duckdb')} }\nrules:\n  path: ${rules}\n`);
    const r = await validateRulesWithConfig([], join(dir, 'driftbeat.yml'), { cwd: dir, env: {} });
    assert.equal(r.ok, false, r.output);
    assert.match(r.output, /rules\/other-model\.yml:2:8: rule "other-model": model: unknown model "frauds"; the config's inputs and reference profiles know "fraud"/);
    assert.match(r.output, /rules\/typo\.yml:3:18: rule "typo": fields\[1\]: "contry" matches no field of the reference profile fraud \(it has features\.amount, /);
    assert.doesNotMatch(r.output, /features\.amount" matches no field/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
