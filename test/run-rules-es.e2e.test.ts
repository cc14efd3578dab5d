/**
 * The production path on a search engine: `driftbeat run` with rules.path ships to the real engine
 * (without setup, as a first-time user might), takes the rules lease (optimistic concurrency on
 * `<prefix>-state`), evaluates, writes the result to `<prefix>-results` and the alert transition
 * to `<prefix>-alerts`, and the alert reaches a webhook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine } from './support/engine.ts';
import { startRecorder } from './support/http-recorder.ts';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

const engine = await testEngine();

test('run on the real engine: lease, rule evaluation, results and alert documents, webhook message', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-run-rules-es-'));
  const prefix = engine.prefix(t);
  const hook = await startRecorder();
  try {
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'rules'));
    new LogWriter(join(dir, 'logs', 'preds.jsonl')).write(300);
    writeFileSync(join(dir, 'rules', 'volume.yml'), `
type: volume
name: fraud-volume-es
model: fraud
window: 1h
schedule: '*/10 * * * *'
min_count: 1000000
notify: [pipeline]
`);
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
output:
  elasticsearch: { hosts: ["${engine.url}"], index_prefix: ${prefix}, backoff: { initial: 10ms, max: 100ms } }
path: { data: "${dir}/data" }
http: { enabled: false }
rules: { path: "${dir}/rules" }
notifiers:
  pipeline: { type: webhook, url: "${hook.url}/hook", retry: { initial_backoff: 10ms } }
`);
    const agent = startAgent(['run', '-c', cfg]);
    await hook.waitFor(1, 60_000).catch((err: Error) => {
      agent.kill('SIGKILL');
      throw new Error(`${err.message}; agent log:\n${agent.output().slice(-4000)}`);
    });
    const count = async (index: string) => {
      await engine.refresh(prefix);
      return (await engine.request('GET', `/${index}/_count`)).body?.count ?? 0;
    };
    await waitFor('the shipped lines', async () => (await count(`${prefix}-predictions-fraud`)) === 300, 30_000, 200);
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());

    assert.match(hook.requests[0]!.body, /fraud-volume-es/);
    // setup was never run against this cluster: the agent says what to do.
    assert.match(agent.output(), new RegExp(`index template ${prefix}-predictions is not installed: run \`driftbeat setup`));
    await engine.refresh(prefix);
    const search = async (index: string) => ((await engine.request('GET', `/${index}/_search?size=100&seq_no_primary_term=true`)).body?.hits?.hits ?? []) as { _id: string; _seq_no: number; _source: Record<string, unknown> }[];
    const results = (await search(`${prefix}-results`)).map((d) => d._source as { rule: string; status: string; statistic: string });
    assert.ok(results.some((r) => r.rule === 'fraud-volume-es' && r.status === 'drifted' && r.statistic === 'count'), JSON.stringify(results));
    const transitions = JSON.stringify((await search(`${prefix}-alerts`)).map((d) => d._source));
    assert.match(transitions, /fraud-volume-es/);
    assert.match(transitions, /firing/);
    // The lease document: taken, renewed or released with a concurrency check (its sequence number moved on), released at stop.
    const lease = (await search(`${prefix}-state`)).find((d) => d._id === 'lease:rules');
    assert.ok(lease, 'the lease document is in the state index');
    assert.equal(lease._source.doc_type, 'lease');
    assert.ok(lease._seq_no >= 1, `the lease was written more than once (seq_no ${lease._seq_no})`);
  } finally {
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
