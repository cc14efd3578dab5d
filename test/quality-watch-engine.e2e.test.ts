/**
 * model_quality watches compute what the agent computes, on the real engine (OpenSearch 2.19 from
 * test/engine): the agent ships predictions and joins their outcomes (driftbeat run --once, as in
 * quality-join-engine.e2e.test.ts), `driftbeat rules test --json` evaluates the rule over a window,
 * and the watch generated from the same rule file runs as Watcher would at the trigger time that
 * covers that window: every search of its input chain on the engine, then its condition and
 * transform Painless through _scripts/painless/_execute with the watch's params. Same metric
 * values per metric and segment, same verdicts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WatchSearchInput } from '../agent/backends/watcher/types.ts';
import { generateWatch } from '../agent/backends/watcher/watch.ts';
import type { RuleResult } from '../agent/rules/result.ts';
import { loadRules } from '../agent/rules/load.ts';
import type { Rule } from '../agent/rules/schema.ts';
import { cliArgs, REPO_ROOT } from './support/agent-process.ts';
import { testEngine } from './support/engine.ts';
import { atFire, runWatchScript } from './support/painless-engine.ts';
import { feedbackLines, predictionLines, QUALITY, T0 } from './support/quality-logs.ts';

const engine = await testEngine();

/** Predictions of the binary fixture are 1 s apart from T0 (400 s): one hour's window holds them all. */
const WINDOW = { from: new Date(T0).toISOString(), to: new Date(T0 + 3600_000).toISOString() };

/** Every tenth outcome never arrives: label coverage 0.9, not 1. */
const UNLABELLED = new Set(QUALITY.binary.ids.filter((_, i) => i % 10 === 3));

function regressionLines(): { preds: string; labels: string } {
  const r = QUALITY.regression;
  const preds = r.ids.map((id, i) => JSON.stringify({ timestamp: new Date(T0 + i * 1000).toISOString(), request_id: id, prediction: { value: r.predicted[i] } }));
  const labels = r.ids.map((id, i) => JSON.stringify({ request_id: id, actual: r.actual[i], timestamp: new Date(T0 + i * 1000 + 600_000).toISOString() }));
  return { preds: preds.join('\n') + '\n', labels: labels.join('\n') + '\n' };
}

function cli(args: string[]): { code: number | null; out: string; stdout: string } {
  const r = spawnSync(process.execPath, cliArgs(args), { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
}

interface Breach { field: string; segment: string; statistic: string; value: number; threshold: number; details: string }

describe('model_quality watches compute what driftbeat rules test computes (agent-shipped outcomes, the watch\'s searches and Painless on the real engine)', () => {
  let dir = '';
  let prefix = '';
  let cfg = '';

  before(async () => {
    prefix = engine.prefix({ name: 'watches: model_quality on the real engine' });
    dir = mkdtempSync(join(tmpdir(), 'driftbeat-quality-watch-'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'preds.jsonl'), predictionLines());
    writeFileSync(join(dir, 'logs', 'labels.jsonl'), feedbackLines().split('\n').filter((l) => !l || !UNLABELLED.has(JSON.parse(l).request_id)).join('\n'));
    const reg = regressionLines();
    writeFileSync(join(dir, 'logs', 'price.jsonl'), reg.preds);
    writeFileSync(join(dir, 'logs', 'price-labels.jsonl'), reg.labels);
    cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/preds.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
  - kind: feedback
    paths: ["${dir}/logs/labels.jsonl"]
    model: { name: fraud }
    fields: { id: request_id, actual: actual }
    join: { prediction: label, score: score, positive: 1, give_up_after: 1h, retry_interval: 300ms }
  - paths: ["${dir}/logs/price.jsonl"]
    model: { name: price }
    fields: { id: request_id }
  - kind: feedback
    paths: ["${dir}/logs/price-labels.jsonl"]
    model: { name: price }
    fields: { id: request_id, actual: actual }
    join: { task: regression, prediction: value, give_up_after: 1h, retry_interval: 300ms }
output:
  elasticsearch: { hosts: ["${engine.url}"], index_prefix: ${prefix}, flush_interval: 100ms }
path: { data: "${dir}/data" }
http: { enabled: false }
logging: { level: warn }
`);
    const setup = cli(['setup', '-c', cfg, '--templates']);
    assert.equal(setup.code, 0, setup.out);
    // Twice: outcomes read before their prediction was stored are joined on the next run.
    for (let i = 0; i < 2; i++) {
      const run = cli(['run', '--once', '-c', cfg]);
      assert.equal(run.code, 0, run.out);
    }
    await engine.refresh(prefix);
    const joined = await engine.request<{ count?: number }>('GET', `/${prefix}-outcomes-fraud/_count`);
    assert.equal(joined.body.count, QUALITY.binary.ids.length - UNLABELLED.size, 'every sent outcome joined');
    const priced = await engine.request<{ count?: number }>('GET', `/${prefix}-outcomes-price/_count`);
    assert.equal(priced.body.count, QUALITY.regression.ids.length);
  });
  after(async () => {
    if (prefix) await engine.drop(prefix);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** The rule file, as a user writes it. */
  function ruleFile(yaml: string): { file: string; rule: Rule } {
    const file = join(dir, `quality-${n++}.yml`);
    writeFileSync(file, `type: model_quality\nname: quality-${n}\nwindow: 1h\nschedule: '0 * * * *'\ndelay: 10m\nlabel_delay: 2h\n${yaml}`);
    return { file, rule: loadRules([file], { env: {} })[0]! };
  }

  function agentResults(file: string): RuleResult[] {
    const r = cli(['rules', 'test', file, '-c', cfg, '--from', WINDOW.from, '--to', WINDOW.to, '--json']);
    assert.equal(r.code, 0, r.out);
    return (JSON.parse(r.stdout) as { results: RuleResult[] }).results;
  }

  /** Runs the watch as Watcher would at the trigger time whose window is WINDOW. */
  async function watchBreaches(rule: Rule): Promise<Breach[]> {
    const w = generateWatch(rule, { notifiers: {}, indexPrefix: prefix });
    assert.equal(w.skipped, undefined, w.skipped);
    assert.deepEqual(w.body.metadata.driftbeat.not_checked, []);
    assert.ok('chain' in w.body.input);
    const fire = Date.parse(WINDOW.to) + rule.delay;
    const payload: Record<string, unknown> = {};
    for (const [name, input] of w.body.input.chain.inputs.map((i) => Object.entries(i)[0]!) as [string, WatchSearchInput][]) {
      const req = input.search.request;
      const res = await engine.request<Record<string, unknown>>('POST', `/${req.indices.join(',')}/_search?rest_total_hits_as_int=true&ignore_unavailable=true&allow_no_indices=true`, atFire(req.body, fire));
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 2000));
      payload[name] = res.body;
    }
    const ctx = { payload, scheduledMs: fire };
    const c = w.body.condition.script!;
    const met = (await runWatchScript(engine, c.source!, c.params as Record<string, unknown>, ctx)) as boolean;
    const t = w.body.transform.script!;
    const out = (await runWatchScript(engine, t.source!, t.params as Record<string, unknown>, ctx)) as { breaches: Breach[]; window_from: string; window_to: string };
    assert.equal(out.breaches.length > 0, met, 'the transform finds breaches exactly when the condition is met');
    assert.deepEqual([Date.parse(out.window_from), Date.parse(out.window_to)], [Date.parse(WINDOW.from), Date.parse(WINDOW.to)], 'the watch covers the window rules test evaluated');
    return out.breaches;
  }

  const key = (x: { field: string; segment: string }) => `${x.field} [${x.segment}]`;

  /** Same breached metrics and segments, and the same value for each. */
  function assertSame(label: string, results: RuleResult[], breaches: Breach[]): void {
    assert.deepEqual(results.filter((r) => r.status === 'error').map((r) => `${r.field}: ${r.error}`), [], `${label}: the agent evaluates every metric`);
    const drifted = results.filter((r) => r.drifted);
    assert.deepEqual(breaches.map(key).sort(), drifted.map(key).sort(), `${label}: breached metrics`);
    for (const b of breaches) {
      const a = drifted.find((r) => key(r) === key(b))!;
      assert.equal(b.statistic, a.statistic);
      assert.ok(Math.abs(b.value - a.value!) <= 1e-9 * Math.max(1, Math.abs(a.value!)), `${label}: ${key(b)} watch ${b.value}, agent ${a.value}`);
      assert.equal(b.threshold, a.threshold!.value, `${label}: ${key(b)} threshold`);
    }
  }

  const CLASSIFICATION = ['accuracy', 'precision', 'recall', 'f1', 'precision_macro', 'recall_macro', 'f1_macro', 'precision_weighted', 'recall_weighted', 'f1_weighted', 'roc_auc', 'log_loss', 'label_coverage'];

  it('every classification metric per model version: at a bound every value breaches, the same value as the agent\'s', async () => {
    const metrics = CLASSIFICATION.map((m) => `  ${m}: { max: -1000000000 }`).join('\n');
    // A reference offset (no data a week earlier): without a reference, group_by model.version asks for a profile per version (rules/segments.ts).
    const { file, rule } = ruleFile(`model: fraud\npositive: 1\ngroup_by: [model.version]\nreference: { offset: 7d }\nmin_samples: 10\nmetrics:\n${metrics}\n`);
    const results = agentResults(file);
    assert.equal(results.filter((r) => r.drifted).length, CLASSIFICATION.length * 2, 'two versions, every metric breached');
    assertSame('all metrics', results, await watchBreaches(rule));
    // Not only self-consistent: the agent's label coverage is what was sent.
    const cov = results.filter((r) => r.statistic === 'label_coverage').map((r) => r.value!).reduce((s, x) => s + x, 0) / 2;
    assert.ok(Math.abs(cov - 0.9) < 0.01, `label coverage ${cov}`);
  });

  it('without group_by: one segment, accuracy, ROC AUC from the score bins and log loss', async () => {
    const { file, rule } = ruleFile(`model: fraud\npositive: 1\nmetrics:\n  accuracy: { max: -1 }\n  roc_auc: { max: -1 }\n  log_loss: { max: -1 }\n`);
    const results = agentResults(file);
    const breaches = await watchBreaches(rule);
    assertSame('no group_by', results, breaches);
    assert.equal(breaches.length, 3);
  });

  it('real thresholds and a live reference (version 2.0 against 1.0 in the same window): the same verdicts, some breached and some not', async () => {
    const values = agentResults(ruleFile(`model: fraud\npositive: 1\ngroup_by: [model.version]\nreference: { offset: 7d }\nmetrics:\n  recall: { max: -1 }\n`).file).filter((r) => r.statistic === 'recall').map((r) => r.value!);
    const mid = (Math.min(...values) + Math.max(...values)) / 2;
    assert.ok(Math.min(...values) < Math.max(...values), 'the versions differ in recall');
    const { file, rule } = ruleFile(`model: fraud\npositive: 1\ngroup_by: [model.version]\nreference: { segment: { model.version: '1.0' } }\nmin_samples: 10\nmetrics:\n  recall: { min: ${mid} }\n  f1: { max_drop: 0 }\n  accuracy: { max_increase: 0 }\n  label_coverage: { min: 0.95 }\n`);
    const results = agentResults(file);
    const breaches = await watchBreaches(rule);
    assertSame('live reference', results, breaches);
    assert.ok(breaches.length > 0 && results.some((r) => r.status === 'ok'), `some breached, some not: ${results.map((r) => `${key(r)} ${r.status}`).join('; ')}`);
  });

  it('min_samples above the labelled count: no verdict from either', async () => {
    const { file, rule } = ruleFile(`model: fraud\nmin_samples: 100000\nmetrics:\n  accuracy: { max: -1 }\n`);
    const results = agentResults(file);
    assert.deepEqual(results.map((r) => r.status), ['no_data']);
    assert.deepEqual(await watchBreaches(rule), []);
  });

  it('regression: MAE, MSE, RMSE, MAPE, mean error and R² as the agent (and scikit-learn) compute them', async () => {
    const names = ['mae', 'mse', 'rmse', 'mape', 'mean_error', 'r2', 'label_coverage'];
    const { file, rule } = ruleFile(`model: price\ntask: regression\nmetrics:\n${names.map((m) => `  ${m}: { max: -1000000000 }`).join('\n')}\n`);
    const results = agentResults(file);
    const breaches = await watchBreaches(rule);
    assertSame('regression', results, breaches);
    assert.equal(breaches.length, names.length);
    for (const [m, e] of Object.entries(QUALITY.regression.expected)) {
      const b = breaches.find((x) => x.statistic === m)!;
      assert.ok(Math.abs(b.value - e.value) <= 1e-9 * Math.max(1, Math.abs(e.value)), `${e.call}: ${e.value}, watch ${b.value}`);
    }
  });
});
