/**
 * One bad rule never stops the agent (issue 12, item 3): `run --check` lists the rule problems
 * with the config and exits 2; `run` ships, runs the good rule, reports the bad one (log, metric,
 * /healthz, an error result) and picks up a fixed file without a restart (file change, SIGHUP).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startRecorder } from './support/http-recorder.ts';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

const GOOD = `
type: volume
name: fraud-volume-good
model: fraud
window: 1h
schedule: '*/10 * * * *'
min_count: 1000000
notify: [pipeline]
`;
// "min_cuont": a typo.
const BAD = GOOD.replace('fraud-volume-good', 'fraud-volume-bad').replace('min_count', 'min_cuont');

function config(dir: string, extra: string): string {
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
output:
  embedded: { path: "${dir}/db.duckdb" }
path: { data: "${dir}/data" }
${extra}
`);
  return cfg;
}

test('run --check checks the rules with the config: typo, unknown notifier, unknown field, missing rules.path: exit 2', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-check-rules-'));
  try {
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'good.yml'), GOOD);
    writeFileSync(join(dir, 'rules', 'bad.yml'), BAD);
    writeFileSync(join(dir, 'rules', 'notify.yml'), GOOD.replace('fraud-volume-good', 'fraud-volume-notify').replace('[pipeline]', '[pipelin]'));
    writeFileSync(join(dir, 'rules', 'fields.yml'), `
type: missing_spike
name: fraud-missing
model: fraud
fields: [amuont]
window: 1h
schedule: '0 * * * *'
`);
    writeFileSync(join(dir, 'train.csv'), 'amount,country\n1.5,US\n2.5,FR\n3.5,DE\n');
    const cfg = config(dir, `rules: { path: "${dir}/rules" }\nnotifiers:\n  pipeline: { type: webhook, url: "http://127.0.0.1:9/hook" }`);
    const build = startAgent(['reference', 'build', '-c', cfg, '--model', 'fraud', '--version', '1.0', join(dir, 'train.csv')]);
    assert.equal(await build.exited, 0, build.output());

    const check = startAgent(['run', '-c', cfg, '--check']);
    assert.equal(await check.exited, 2, check.output());
    const out = check.output();
    assert.match(out, /bad\.yml:\d+:\d+: rule "fraud-volume-bad": min_cuont: unknown key \(did you mean min_count\?\)/);
    assert.match(out, /notify\.yml:\d+:\d+: rule "fraud-volume-notify": notify\[0\]: unknown notifier "pipelin"; the config defines "pipeline"/);
    assert.match(out, /fields\.yml:\d+:\d+: rule "fraud-missing": fields\[0\]: "amuont" matches no field of the reference profile fraud/);
    assert.match(out, /OK {3}.*good\.yml: rule "fraud-volume-good"/);
    assert.doesNotMatch(out, /: OK \(/);

    rmSync(join(dir, 'rules'), { recursive: true });
    const missing = startAgent(['run', '-c', cfg, '--check']);
    assert.equal(await missing.exited, 2, missing.output());
    assert.match(missing.output(), /driftbeat\.yml:\d+:\d+: rules\.path: .*rules does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

test('run ships and runs the good rule while a bad one is reported and skipped; a fix is picked up on change and SIGHUP', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-run-bad-rules-'));
  const hook = await startRecorder();
  try {
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'rules'));
    new LogWriter(join(dir, 'logs', 'preds.jsonl')).write(50);
    writeFileSync(join(dir, 'rules', 'good.yml'), GOOD);
    writeFileSync(join(dir, 'rules', 'bad.yml'), BAD);
    const cfg = config(dir, `http: { port: 0 }
rules: { path: "${dir}/rules" }
notifiers:
  pipeline: { type: webhook, url: "${hook.url}/hook", retry: { initial_backoff: 10ms } }`);
    const agent = startAgent(['run', '-c', cfg]);
    try {
      await waitFor('the metrics URL', () => /metrics on (http:\/\/[\d.:]+)\/metrics/.test(agent.output()), 30_000);
      const base = /metrics on (http:\/\/[\d.:]+)\/metrics/.exec(agent.output())![1]!;
      await hook.waitFor(1, 60_000);
      assert.match(hook.requests[0]!.body, /fraud-volume-good/, 'the good rule ran and fired');
      assert.match(agent.output(), /bad\.yml:\d+:\d+: rule \\"fraud-volume-bad\\": min_cuont: unknown key/);
      assert.match(agent.output(), /1 rule\(s\) from .*rules; 1 invalid rule file\(s\) skipped until fixed/);

      const h = await getJson(`${base}/healthz`);
      assert.equal(h.status, 'degraded');
      assert.equal(h.rules.loaded, 1);
      assert.equal(h.rules.invalid[0].rule, 'fraud-volume-bad');
      assert.match(h.rules.invalid[0].problems.join('\n'), /min_cuont: unknown key/);
      assert.match(await (await fetch(`${base}/metrics`)).text(), /^driftbeat_rules_invalid 1$/m);
      await waitFor('the 50 lines shipped', async () => (await getJson(`${base}/healthz`)).pipeline?.indexed === 50, 30_000);

      // Fixed on disk: reloaded without a restart.
      writeFileSync(join(dir, 'rules', 'bad.yml'), GOOD.replace('fraud-volume-good', 'fraud-volume-bad'));
      await waitFor('the reload after the fix', async () => (await getJson(`${base}/healthz`)).rules.loaded === 2, 30_000);
      assert.equal((await getJson(`${base}/healthz`)).status, 'ok');
      assert.match(await (await fetch(`${base}/metrics`)).text(), /^driftbeat_rules_invalid 0$/m);
      await hook.waitFor(2, 60_000);
      assert.ok(hook.requests.some((r) => /fraud-volume-bad/.test(r.body)), 'the fixed rule runs and fires');

      // SIGHUP reloads too (the watcher may see the write first: both end in one invalid rule).
      writeFileSync(join(dir, 'rules', 'bad.yml'), BAD);
      agent.kill('SIGHUP');
      await waitFor('the reload on SIGHUP', async () => (await getJson(`${base}/healthz`)).rules.loaded === 1, 30_000);
      assert.match(agent.output(), /rules reloaded \((SIGHUP|a rule file changed)\)/);
    } finally {
      agent.kill('SIGTERM');
      assert.equal(await agent.exited, 0, agent.output());
    }
    const inst = await DuckDBInstance.create(join(dir, 'db.duckdb'));
    const con = await inst.connect();
    const rows = (await con.runAndReadAll("SELECT rule, status, statistic, error FROM results WHERE statistic = 'rule_invalid'")).getRowObjectsJson();
    con.closeSync();
    inst.closeSync();
    assert.ok(rows.some((r) => r.rule === 'fraud-volume-bad' && r.status === 'error' && /min_cuont/.test(String(r.error))), JSON.stringify(rows));
  } finally {
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
