/**
 * `driftbeat run` with rules.path set: the running agent evaluates the rules (the latest window at
 * start, then on schedule), stores the results, and the alert reaches a webhook. This is the
 * production wiring of the rule runner, the alert manager and the outbox (agent/alerts/service.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startRecorder } from './support/http-recorder.ts';
import { LogWriter, startAgent } from './support/agent-process.ts';

test('run evaluates rules and a firing alert reaches the webhook; results are stored', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-run-rules-'));
  const hook = await startRecorder();
  try {
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'rules'));
    new LogWriter(join(dir, 'logs', 'preds.jsonl')).write(500);
    // Far more predictions expected than any window has: the model looks down, the rule fires.
    writeFileSync(join(dir, 'rules', 'volume.yml'), `
type: volume
name: fraud-volume-e2e
model: fraud
window: 1h
schedule: '*/10 * * * *'
min_count: 1000000
severity: critical
notify: [pipeline]
`);
    const db = join(dir, 'db.duckdb');
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
output:
  embedded: { path: "${db}" }
path: { data: "${dir}/data" }
http: { enabled: false }
rules: { path: "${dir}/rules" }
notifiers:
  pipeline: { type: webhook, url: "${hook.url}/hooks/retrain", retry: { initial_backoff: 10ms } }
`);
    const agent = startAgent(['run', '-c', cfg]);
    await hook.waitFor(1, 60_000);
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());

    const msg = hook.requests[0]!;
    assert.equal(msg.method, 'POST');
    assert.equal(msg.url, '/hooks/retrain');
    const body = JSON.parse(msg.body) as Record<string, unknown>;
    assert.match(JSON.stringify(body), /fraud-volume-e2e/);
    assert.match(JSON.stringify(body), /firing/);

    const inst = await DuckDBInstance.create(db);
    const con = await inst.connect();
    const rows = (await con.runAndReadAll("SELECT rule, status, statistic FROM results WHERE rule = 'fraud-volume-e2e'")).getRowObjectsJson();
    con.closeSync();
    inst.closeSync();
    assert.ok(rows.length >= 1, 'the result is stored');
    assert.equal(rows[0]!.status, 'drifted');
    assert.equal(rows[0]!.statistic, 'count');
  } finally {
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
