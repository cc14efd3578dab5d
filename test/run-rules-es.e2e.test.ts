/**
 * The production path on Elasticsearch: `driftbeat run` with rules.path ships to a real HTTP server
 * that speaks Elasticsearch (bulk, search/msearch with aggregations in the real response format,
 * documents with if_seq_no for the lease), takes the rules lease, evaluates, writes the result to
 * driftbeat-results and the alert transition to driftbeat-alerts, and the alert reaches a webhook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEsServer, type EsServer } from './support/es-server.ts';
import { aggregationsHook } from './support/es-aggs.ts';
import { startRecorder } from './support/http-recorder.ts';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

test('run on Elasticsearch: lease, rule evaluation, results and alert documents, webhook message', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-run-rules-es-'));
  let server: EsServer | undefined;
  const es = server = await startEsServer({ onSearch: aggregationsHook((index, id) => server!.doc(index, id)) });
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
  elasticsearch: { hosts: ["${es.url}"], backoff: { initial: 10ms, max: 100ms } }
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
    await waitFor('the shipped lines', () => es.count('driftbeat-predictions-fraud') === 300, 30_000);
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());

    assert.match(hook.requests[0]!.body, /fraud-volume-es/);
    // setup was never run against this cluster: the agent says what to do.
    assert.match(agent.output(), /index template driftbeat-predictions is not installed: run `driftbeat setup/);
    const results = es.docs('driftbeat-results').map((d) => d._source as { rule: string; status: string; statistic: string });
    assert.ok(results.some((r) => r.rule === 'fraud-volume-es' && r.status === 'drifted' && r.statistic === 'count'), JSON.stringify(results));
    const transitions = JSON.stringify(es.docs('driftbeat-alerts').map((d) => d._source));
    assert.match(transitions, /fraud-volume-es/);
    assert.match(transitions, /firing/);
    // The lease was taken with optimistic concurrency on the state index.
    const leaseWrites = es.requests.filter((r) => r.path.startsWith('/driftbeat-state/') && (r.query.if_seq_no !== undefined || r.query.op_type === 'create' || r.path.includes('/_create/')));
    assert.ok(leaseWrites.length > 0, `the lease document was written with a concurrency check (state requests: ${es.requests.filter((r) => r.path.startsWith('/driftbeat-state')).map((r) => `${r.method} ${r.path}`).join(', ')})`);
  } finally {
    await hook.close();
    await es.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
