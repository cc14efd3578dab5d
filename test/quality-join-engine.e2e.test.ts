/**
 * The join on the real engine (OpenSearch 2.19 from test/engine): setup installs the outcomes
 * template; early, duplicate, corrected, out-of-order and orphan outcomes; the metrics from the
 * outcome index's aggregations equal scikit-learn's; and a SIGKILL of the agent in the middle of
 * joining loses and double-counts nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rocAucFromHistograms } from '../agent/stats/quality.ts';
import { cliArgs, REPO_ROOT, startAgent, waitFor } from './support/agent-process.ts';
import { testEngine } from './support/engine.ts';
import { CORRECTED, feedbackLines, NEVER_PREDICTED, predictionLines, QUALITY, T0 } from './support/quality-logs.ts';

const engine = await testEngine();

function config(dir: string, prefix: string, giveUp = '1h'): string {
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/preds.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
    scan_frequency: 200ms
  - kind: feedback
    paths: ["${dir}/logs/labels.jsonl"]
    model: { name: fraud }
    fields: { id: request_id, actual: actual }
    scan_frequency: 200ms
    join: { prediction: label, score: score, positive: 1, give_up_after: ${giveUp}, retry_interval: 300ms }
output:
  elasticsearch: { hosts: ["${engine.url}"], index_prefix: ${prefix}, flush_interval: 100ms, bulk_max_docs: 500 }
path: { data: "${dir}/data" }
http: { enabled: false }
logging: { level: warn }
`);
  return cfg;
}

function cli(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, cliArgs(args), { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

async function count(prefix: string): Promise<number> {
  await engine.refresh(prefix);
  const r = await engine.request<{ count?: number }>('GET', `/${prefix}-outcomes-fraud/_count`);
  return r.body.count ?? 0;
}

test('real engine: outcomes joined once each; aggregations on them equal scikit-learn', { timeout: 120_000 }, async (t) => {
  const prefix = engine.prefix(t);
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-join-engine-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const b = QUALITY.binary;
    const late = b.ids.filter((_, i) => i % 40 === 7);
    writeFileSync(join(dir, 'logs', 'preds.jsonl'), predictionLines(b.ids.filter((id) => !late.includes(id))));
    writeFileSync(join(dir, 'logs', 'labels.jsonl'), feedbackLines());
    const cfg = config(dir, prefix);
    const setup = cli(['setup', '-c', cfg, '--templates']);
    assert.equal(setup.code, 0, setup.out);
    const tpl = await engine.request('GET', `/_index_template/${prefix}-outcomes`);
    assert.equal(tpl.status, 200, 'setup installs the outcomes template');

    let run = cli(['run', '--once', '-c', cfg]);
    assert.equal(run.code, 0, run.out);
    assert.equal(await count(prefix), b.ids.length - late.length);
    appendFileSync(join(dir, 'logs', 'preds.jsonl'), predictionLines(late));
    run = cli(['run', '--once', '-c', cfg]);
    assert.equal(run.code, 0, run.out);
    assert.equal(await count(prefix), b.ids.length, 'one outcome per prediction');

    // The mapping is the writer's: quality fields aggregate as numbers and keywords.
    const mapping = await engine.request('GET', `/${prefix}-outcomes-fraud/_mapping`);
    const props = (Object.values(mapping.body)[0] as any).mappings.properties;
    assert.equal(props.quality.properties.correct.type, 'integer');
    assert.equal(props.quality.properties.actual_class.type, 'keyword');
    assert.equal(props.actual.properties.value.type, 'double');

    const fixed = await engine.request('POST', `/${prefix}-outcomes-fraud/_search`, { size: 10, query: { terms: { 'event.id': CORRECTED } }, _source: ['event.id', 'quality.actual_class'] });
    for (const h of fixed.body.hits.hits) assert.equal(h._source.quality.actual_class, String(b.actual[b.ids.indexOf(h._source.event.id)]), `correction of ${h._source.event.id}`);

    const aggs = await engine.request('POST', `/${prefix}-outcomes-fraud/_search`, {
      size: 0,
      aggs: {
        accuracy: { avg: { field: 'quality.correct' } },
        log_loss: { avg: { field: 'quality.log_loss' } },
        cm: { terms: { field: 'quality.actual_class', size: 10 }, aggs: { p: { terms: { field: 'quality.predicted_class', size: 10 } } } },
        bins: { histogram: { field: 'quality.score_bin', interval: 1 }, aggs: { pos: { sum: { field: 'quality.actual_positive' } } } },
        delay: { min: { field: 'outcome.label_delay_ms' } },
      },
    });
    const a = aggs.body.aggregations;
    assert.ok(Math.abs(a.accuracy.value - b.expected.accuracy!.value) < 1e-12, b.expected.accuracy!.call);
    assert.ok(Math.abs(a.log_loss.value - b.expected.log_loss!.value) < 1e-9, `${b.expected.log_loss!.call}: ${a.log_loss.value}`);
    const cell = (x: string, y: string) => a.cm.buckets.find((k: any) => k.key === x)?.p.buckets.find((k: any) => k.key === y)?.doc_count ?? 0;
    assert.deepEqual([[cell('0', '0'), cell('0', '1')], [cell('1', '0'), cell('1', '1')]], b.expected.confusion_matrix!.value, b.expected.confusion_matrix!.call);
    const pos = new Array(100).fill(0);
    const neg = new Array(100).fill(0);
    for (const k of a.bins.buckets) { pos[k.key] = k.pos.value; neg[k.key] = k.doc_count - k.pos.value; }
    const auc = rocAucFromHistograms(pos, neg);
    assert.ok(Math.abs(auc.auc - b.expected.roc_auc!.value) <= auc.errorBound, b.expected.roc_auc!.call);
    assert.equal(a.delay.value, 3600_000 * 2, 'label delay = label time - prediction time');

    // Orphans: given up, not written.
    run = cli(['run', '--once', '-c', config(dir, prefix, '1ms')]);
    assert.equal(run.code, 0, run.out);
    const orphans = await engine.request('POST', `/${prefix}-outcomes-fraud/_count`, { query: { terms: { 'event.id': NEVER_PREDICTED } } });
    assert.equal(orphans.body.count, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real engine: SIGKILL of the agent in the middle of joining loses and double-counts nothing', { timeout: 180_000 }, async (t) => {
  const prefix = engine.prefix(t);
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-join-kill-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const n = 20_000;
    const ids = Array.from({ length: n }, (_, i) => `k${i}`);
    const preds = ids.map((id, i) => JSON.stringify({ timestamp: new Date(T0 + i).toISOString(), request_id: id, prediction: { label: i % 3 === 0 ? 1 : 0, score: (i % 100) / 100 } })).join('\n') + '\n';
    const labels = ids.map((id, i) => JSON.stringify({ request_id: id, actual: i % 2, timestamp: new Date(T0 + i + 60_000).toISOString() })).join('\n') + '\n';
    writeFileSync(join(dir, 'logs', 'preds.jsonl'), preds);
    const cfg = config(dir, prefix);
    assert.equal(cli(['setup', '-c', cfg, '--templates']).code, 0);
    let agent = startAgent(['run', '-c', cfg]);
    await waitFor('predictions stored', async () => { await engine.refresh(prefix); return ((await engine.request('GET', `/${prefix}-predictions-fraud/_count`)).body.count ?? 0) === n; }, 60_000, 200);
    writeFileSync(join(dir, 'logs', 'labels.jsonl'), labels);
    await waitFor('joining under way', async () => (await count(prefix)) > 0, 60_000, 20);
    agent.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    const atKill = await count(prefix);
    assert.ok(atKill < n, `killed in the middle (${atKill} of ${n} joined)`);
    agent = startAgent(['run', '-c', cfg]);
    await waitFor('every outcome joined after the restart', async () => (await count(prefix)) >= n, 90_000, 200).finally(() => agent.kill('SIGTERM'));
    await agent.exited;
    assert.equal(await count(prefix), n, 'one outcome per prediction');
    const sum = await engine.request('POST', `/${prefix}-outcomes-fraud/_search`, { size: 0, aggs: { c: { sum: { field: 'quality.correct' } }, p: { sum: { field: 'quality.actual_positive' } } } });
    const correct = ids.filter((_, i) => (i % 3 === 0 ? 1 : 0) === i % 2).length;
    assert.equal(sum.body.aggregations.c.value, correct);
    assert.equal(sum.body.aggregations.p.value, n / 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
