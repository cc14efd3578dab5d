/**
 * Watches across components: the example watches in kibana/watches/ are what the generator makes
 * of rules/ (kept in sync), `driftbeat setup --watches` installs the generated watches through
 * the real setup loop against the stand-in Elasticsearch, license check included, and the
 * distribution_shift watches, their searches run on the real engine (after setup's templates)
 * and their Painless compiled and executed by it (`_scripts/painless/_execute`), decide what the
 * agent's backend on the same engine decides (the plan fixture dataset). Installing watches stays
 * on the stand-in stack: Watcher is Elasticsearch-only.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { estypes } from '@elastic/elasticsearch';
import { EngineClient } from '../agent/engine/client.ts';
import { ElasticsearchBackend } from '../agent/backends/elasticsearch/backend.ts';
import { predictionsStream } from '../agent/normalize/document.ts';
import type { ReferenceProfile, ReferenceStore } from '../agent/reference/profile.ts';
import type { RuleResult } from '../agent/rules/result.ts';
import { evaluateRules } from '../agent/rules/runner.ts';
import { RuleSchema, type Rule } from '../agent/rules/schema.ts';
import type { WatchSearchInput } from '../agent/backends/watcher/types.ts';
import { generateWatch, watchJson } from '../agent/backends/watcher/watch.ts';
import { buildDataset, WINDOW, type Dataset } from './fixtures/plans/dataset.ts';
import { ElasticsearchReferenceStore } from '../agent/reference/store-elasticsearch.ts';
import { testEngine } from './support/engine.ts';
import { atFire, runWatchScript } from './support/painless-engine.ts';
import { loadConfig } from '../agent/config/load.ts';
import type { Config } from '../agent/config/schema.ts';
import { runSetup, type SetupReport } from '../agent/assets/setup.ts';
import { watchesSetupProvider } from '../agent/assets/setup-watches.ts';
import { EXAMPLE_RULES_DIR, EXAMPLE_WATCHES_DIR, exampleWatches } from '../agent/assets/watches.ts';
import { FakeElasticStack } from './support/fake-elastic-stack.ts';

const engine = await testEngine();

describe('kibana/watches', () => {
  it('holds exactly the watches generated from rules/ (regenerate: node --import tsx agent/assets/watches.ts)', async () => {
    const set = await exampleWatches();
    const onDisk = readdirSync(EXAMPLE_WATCHES_DIR).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(onDisk, set.watches.map((w) => `${w.id}.json`).sort(), 'stale or missing files: run node --import tsx agent/assets/watches.ts');
    for (const w of set.watches) {
      assert.ok(readFileSync(join(EXAMPLE_WATCHES_DIR, `${w.id}.json`), 'utf8') === watchJson(w), `${w.id}.json is stale: run node --import tsx agent/assets/watches.ts`);
      assert.match(w.body.metadata.driftbeat.generated_by, /node --import tsx agent\/assets\/watches\.ts/);
    }
    // Every example rule either has a watch or a reason why not.
    const names = readdirSync(EXAMPLE_RULES_DIR).filter((f) => f.endsWith('.yml')).length;
    assert.equal(set.watches.length + set.warnings.filter((w) => /: no watch: /.test(w)).length, names);
  });
});

describe('driftbeat setup --watches', () => {
  const stack = new FakeElasticStack();
  let url = '';
  const config = (): Config => loadConfig('driftbeat.yml', {
    env: {},
    text: `
output: { elasticsearch: { hosts: ["${url}"], username: elastic, password: s3cret-pass } }
rules: { path: ${JSON.stringify(EXAMPLE_RULES_DIR)} }
notifiers:
  slack-ml: { type: slack, webhook_url: "https://hooks.slack.com/services/T0/B0/s3cretpath" }
  oncall-email: { type: email, host: smtp.example.com, password: s3cret-smtp, from: a@example.com, to: [b@example.com] }
  retrain: { type: webhook, url: "https://ci.example.com/hook" }
`,
  }).config;

  before(async () => {
    url = await stack.start();
  });
  after(async () => {
    await stack.stop();
  });
  beforeEach(() => {
    stack.requests.length = 0;
  });

  async function setup(): Promise<{ report: SetupReport; lines: string[] }> {
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    const report = await runSetup({ config: config(), steps: ['watches'], out, watches: watchesSetupProvider({ out, profiles: false }) });
    return { report, lines };
  }

  it('installs every watch in rule order, then finds them unchanged (Watcher normalizes what it returns)', async () => {
    stack.license = { type: 'trial', status: 'active' };
    const first = await setup();
    assert.ok(first.report.ok, first.lines.join('\n'));
    const ids = (await exampleWatches()).watches.map((w) => w.id);
    assert.deepEqual(first.report.actions.map((a) => [a.name, a.result]), ids.map((id) => [id, 'created']));
    assert.deepEqual(stack.calls().filter((c) => c.startsWith('PUT')), ids.map((id) => `PUT /_watcher/watch/${id}`));
    assert.deepEqual(stack.calls().slice(0, 2), ['GET /', 'GET /_license'], 'which engine, then its licence');
    assert.ok([...stack.watches.values()].every((w) => w.active));
    const stored = JSON.stringify([...stack.watches.values()]);
    assert.ok(!/s3cret/.test(stored), 'no secret of the config reaches a watch');
    assert.ok(first.lines.some((l) => /fraud-missing-spike: no watch/.test(l)), 'rules without a watch are named');

    stack.requests.length = 0;
    const second = await setup();
    assert.deepEqual(second.report.actions.map((a) => a.result), ids.map(() => 'unchanged'));
    assert.equal(stack.calls().filter((c) => c.startsWith('PUT')).length, 0);
  });

  it('creates the watches inactive with a clear message when the license has no Watcher, and activates them after an upgrade', async () => {
    stack.watches.clear();
    stack.license = { type: 'basic', status: 'active' };
    const { report, lines } = await setup();
    assert.ok(report.ok);
    assert.ok(stack.calls().filter((c) => c.startsWith('PUT')).every((c) => c.endsWith('?active=false')));
    assert.ok([...stack.watches.values()].every((w) => !w.active));
    assert.ok(lines.some((l) => /license \(basic, active\) does not include Watcher: the 6 watch\(es\) are created inactive/.test(l)), lines.join('\n'));

    stack.requests.length = 0;
    stack.license = { type: 'platinum', status: 'active' };
    const again = await setup();
    assert.ok(again.report.actions.every((a) => a.result === 'updated'));
    assert.ok([...stack.watches.values()].every((w) => w.active));
  });
});

describe('distribution_shift watches decide what the agent decides (the agent\'s backend and the watch\'s searches and Painless on the real engine)', () => {
  let dir = '';
  let data: Dataset;
  let client: EngineClient;
  let prefix = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'driftbeat-watch-shift-'));
    data = await buildDataset(dir);
    prefix = engine.prefix({ name: 'watches: distribution_shift on the real engine' });
    const text = `output:\n  elasticsearch: { hosts: ["${engine.url}"], index_prefix: ${prefix} }\npath: { data: ${dir}/data }\n`;
    const cfg: Config = loadConfig('driftbeat.yml', { text, env: {} }).config;
    const lines: string[] = [];
    assert.ok((await runSetup({ config: cfg, steps: ['templates'], out: (l) => lines.push(l) })).ok, lines.join('\n'));
    client = new EngineClient(cfg.output.elasticsearch!);
    const operations: estypes.BulkRequest['operations'] = [];
    for (const e of data.events) operations.push({ create: { _index: predictionsStream(prefix, 'fraud'), _id: e.id } }, e.doc);
    const res = await client.bulk({ operations, refresh: true });
    assert.equal(res.errors, false);
    await new ElasticsearchReferenceStore(client, { indexPrefix: prefix }).save(data.profile);
  });
  after(async () => {
    await client?.close();
    if (prefix) await engine.drop(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  function rule(yaml: Record<string, unknown>): Rule {
    const r = RuleSchema.parse({ type: 'distribution_shift', name: 'shift', model: 'fraud', window: '1h', schedule: '0 * * * *', delay: '0s', min_samples: 10, ...yaml });
    return { source: { file: 'shift.yml', line: 1, col: 1 }, ...r } as Rule;
  }

  async function agentResults(r: Rule, profile: ReferenceProfile | undefined): Promise<RuleResult[]> {
    const references: ReferenceStore = { get: async () => profile, save: async () => undefined, list: async () => (profile ? [{ model: profile.model, version: profile.version, built_at: profile.built_at }] : []) };
    const report = await evaluateRules([{ rule: r, window: WINDOW }], { backend: new ElasticsearchBackend(client, { indexPrefix: prefix }), references, now: () => new Date(WINDOW.to) });
    return report.evaluations[0]!.results;
  }


  interface Breach { field: string; segment: string; statistic: string; value: number; threshold: number; details: string }

  /** Runs the watch as Watcher would: every search of its input at the fire time, then condition and transform. */
  async function watchBreaches(r: Rule, profile: ReferenceProfile | undefined): Promise<Breach[]> {
    const w = generateWatch(r, { notifiers: {}, indexPrefix: prefix, ...(profile ? { profile } : {}) });
    assert.equal(w.skipped, undefined, w.skipped);
    assert.deepEqual(w.body.metadata.driftbeat.not_checked, []);
    const fire = Date.parse(WINDOW.to) + r.delay;
    const inputs: [string, WatchSearchInput][] = 'search' in w.body.input ? [['', w.body.input]] : w.body.input.chain.inputs.map((i) => Object.entries(i)[0]!);
    const payload: Record<string, unknown> = {};
    for (const [name, input] of inputs) {
      const req = input.search.request;
      const res = await engine.request<Record<string, unknown>>('POST', `/${req.indices.join(',')}/_search?rest_total_hits_as_int=true`, atFire(req.body, fire));
      const body = res.body;
      assert.equal(res.status, 200, JSON.stringify(body).slice(0, 2000));
      if (name === '') Object.assign(payload, body);
      else payload[name] = body;
    }
    const ctx = { payload, scheduledMs: fire };
    const c = w.body.condition.script!;
    const met = (await runWatchScript(engine, c.source!, c.params as Record<string, unknown>, ctx)) as boolean;
    const t = w.body.transform.script!;
    const out = (await runWatchScript(engine, t.source!, t.params as Record<string, unknown>, ctx)) as { breaches: Breach[] };
    assert.equal(out.breaches.length > 0, met, 'the transform finds breaches exactly when the condition is met');
    return out.breaches;
  }

  const P_VALUE = new Set(['ks', 'chisquare', 'z']);

  /**
   * Same drifted fields and segments at the rule's thresholds; then at thresholds every score
   * passes (0 for distances, 1 for p-values), the same score per field and segment.
   */
  async function sameVerdicts(label: string, yaml: Record<string, unknown>, withProfile: boolean): Promise<RuleResult[]> {
    const profile = withProfile ? data.profile : undefined;
    const r = rule(yaml);
    const results = await agentResults(r, profile);
    assert.deepEqual(results.filter((x) => x.status === 'error').map((x) => `${x.field}: ${x.error}`), [], `${label}: the agent evaluates every field`);
    const key = (x: { field: string; segment: string }) => `${x.field} [${x.segment}]`;
    const breaches = await watchBreaches(r, profile);
    assert.deepEqual(breaches.map(key).sort(), results.filter((x) => x.drifted).map(key).sort(), `${label}: drifted fields`);
    for (const threshold of [0, 1]) {
      const all = rule({ ...yaml, threshold });
      const expected = (await agentResults(all, profile)).filter((x) => x.drifted);
      const got = await watchBreaches(all, profile);
      assert.deepEqual(got.map(key).sort(), expected.map(key).sort(), `${label}, threshold ${threshold}: drifted fields`);
      for (const b of got) {
        const a = expected.find((x) => key(x) === key(b))!;
        assert.equal(b.statistic, a.statistic, `${label}: ${key(b)} method`);
        if (b.statistic === 'ks') assert.ok(Math.abs(b.value - a.value!) < 0.05, `${label}: ${key(b)} asymptotic ${b.value}, exact ${a.value}`);
        else assert.ok(Math.abs(b.value - a.value!) <= 1e-9 * Math.max(1, Math.abs(a.value!)), `${label}: ${key(b)} ${b.statistic} watch ${b.value}, agent ${a.value}`);
      }
      if (!P_VALUE.has(String(yaml['method'])) && threshold === 0 && yaml['method'] !== 'auto') assert.ok(got.length > 0, `${label}: threshold 0 fires`);
    }
    return results;
  }

  it('categories and numbers against the profile with Evidently\'s auto routing (jensenshannon on counts, wasserstein on raw values)', async () => {
    const res = await sameVerdicts('auto', { fields: ['country', 'channel', 'new_device', 'hour', 'prediction.score', 'items'], method: 'auto' }, true);
    assert.deepEqual([...new Set(res.map((x) => x.statistic))].sort(), ['jensenshannon', 'wasserstein']);
    assert.ok(res.some((x) => x.drifted) && res.some((x) => !x.drifted), 'some fields drift, some do not');
  });

  it('psi, kl_div and jensenshannon: numeric category counts and Sturges bins over reference + current, per model version', async () => {
    const fields = ['items', 'chargebacks', 'amount', 'prediction.score', 'age_days'];
    const res = await sameVerdicts('psi', { fields, method: 'psi', group_by: ['model.version'] }, true);
    assert.ok(res.some((x) => x.details['bins']) && res.some((x) => x.details['top_changes']), 'both bins and counts');
    assert.ok(res.some((x) => x.drifted), 'the shifted amount drifts');
    await sameVerdicts('kl_div', { fields, method: 'kl_div', zero_fill: 'min_over_10', group_by: ['model.version'] }, true);
    await sameVerdicts('js', { fields, method: 'jensenshannon', js_base: '2', js_output: 'divergence' }, true);
    await sameVerdicts('psi, reference quantile bins', { fields: ['amount', 'prediction.score'], method: 'psi', bins: 'reference_quantiles', group_by: ['model.version'] }, true);
  });

  it('chisquare, z, hellinger, l_infinity and ks against the profile', async () => {
    await sameVerdicts('chisquare', { fields: ['country', 'channel', 'items', 'chargebacks'], method: 'chisquare', group_by: ['model.version'] }, true);
    await sameVerdicts('z', { fields: ['new_device', 'prediction.label'], method: 'z', group_by: ['model.version'] }, true);
    await sameVerdicts('hellinger', { fields: ['country', 'amount', 'items'], method: 'hellinger', group_by: ['model.version'] }, true);
    await sameVerdicts('l_infinity', { fields: ['country', 'amount', 'items'], method: 'l_infinity' }, true);
    const ksRes = await sameVerdicts('ks', { fields: ['amount', 'prediction.score', 'hour'], method: 'ks', version: '1.4.2' }, true);
    assert.ok(ksRes.some((x) => x.drifted), 'the shifted 1.4.2 amount drifts');
  });

  it('a live reference: the champion version in the same window, and the hour before, with and without a profile', async () => {
    // Without a profile the route is decided from the data at run time (phase 2 of the agent).
    const champion = { fields: ['prediction.score', 'amount', 'channel', 'items'], version: '1.5.0', reference: { segment: { 'model.version': '1.4.2' } } };
    const res = await sameVerdicts('champion psi', { ...champion, method: 'psi' }, false);
    assert.ok(res.find((x) => x.field === 'prediction.score')!.drifted, 'the challenger\'s shifted score drifts');
    await sameVerdicts('champion psi, profile', { ...champion, method: 'psi' }, true);
    await sameVerdicts('champion auto', { ...champion, method: 'auto' }, false);
    const hourBefore = { fields: ['amount', 'prediction.score', 'merchant', 'chargebacks'], reference: { offset: '1h' }, group_by: ['model.version'] };
    await sameVerdicts('offset wasserstein', { ...hourBefore, fields: ['amount', 'prediction.score', 'age_days'], method: 'wasserstein' }, true);
    await sameVerdicts('offset jensenshannon', { ...hourBefore, method: 'jensenshannon' }, false);
  });
});
