import { perVersionProfile, versionRule } from '../../rules/segments.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compileSearches } from '../elasticsearch/body.ts';
import { loadConfig } from '../../config/load.ts';
import { planRule } from '../../rules/plan.ts';
import { referenceQuantileEdges } from '../../stats/index.ts';
import { loadRules } from '../../rules/load.ts';
import type { Rule } from '../../rules/schema.ts';
import type { ReferenceProfile } from '../../reference/profile.ts';
import { clearSecrets } from '../../telemetry/redact.ts';
import { EXAMPLE_CONFIG, EXAMPLE_ENV, EXAMPLE_RULES_DIR } from '../../assets/watches.ts';
import { quartzCron, triggerMinus } from './cron.ts';
import { watchesExportCommand } from './export.ts';
import { watchSearches } from './search.ts';
import type { WatchBody } from './types.ts';
import { generateWatch } from './watch.ts';

const REF = new URL('../../../test/fixtures/elastic/es/watcher/', import.meta.url);
const refExample = JSON.parse((parseYaml(readFileSync(new URL('spec-WatcherPutWatchRequestExample1.yaml', REF), 'utf8')) as { value: string }).value) as Record<string, Record<string, unknown>>;

const exampleRules = (): Rule[] => loadRules([EXAMPLE_RULES_DIR], { env: {} });

const profile: ReferenceProfile = {
  model: 'fraud', version: '1.5.0', built_at: '2024-04-01T00:00:00.000Z', source: { path: 'train.csv', rows: 1000, format: 'csv' },
  fields: [
    ...['merchant', 'country', 'channel'].map((f) => ({ model: 'fraud', version: '1.5.0', field: `features.${f}`, kind: 'feature' as const, type: 'cat' as const, count: 1000, missing_count: 10, missing_share: 0.01, distinct_count: 3, categories: [{ value: 'a', count: 990 }] })),
    { model: 'fraud', version: '1.5.0', field: 'features.amount', kind: 'feature', type: 'num', count: 1000, missing_count: 0, missing_share: 0, distinct_count: 900, numeric: { min: 0, max: 100, mean: 40, std: 10, quantiles: {} }, sample: [1, 2, 3] },
    { model: 'fraud', version: '1.5.0', field: 'prediction.score', kind: 'prediction', type: 'num', count: 1000, missing_count: 0, missing_share: 0, distinct_count: 1000, numeric: { min: 0, max: 1, mean: 0.03, std: 0.1, quantiles: {} }, sample: [0.1] },
    { model: 'fraud', version: '1.5.0', field: 'prediction.label', kind: 'prediction', type: 'cat', count: 1000, missing_count: 0, missing_share: 0, distinct_count: 2, categories: [{ value: 'ok', count: 980 }, { value: 'fraud', count: 20 }] },
    { model: 'fraud', version: '1.5.0', field: 'text.customer_note', kind: 'text', type: 'text', count: 1000, missing_count: 0, missing_share: 0, distinct_count: 500, vocabulary: [{ token: 'refund', count: 10 }] },
  ],
};

/** Evaluates `{{ctx.trigger.scheduled_time}}||-2m-15m` at a fire time (Elasticsearch date math, UTC). */
function evalDateMath(expr: string, fire: number): string {
  const m = /^\{\{ctx\.trigger\.scheduled_time\}\}(?:\|\|((?:-\d+[smhdw])+))?$/.exec(expr);
  assert.ok(m, `date math ${expr}`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
  let t = fire;
  for (const p of (m[1] ?? '').match(/-\d+[smhdw]/g) ?? []) t -= Number(p.slice(1, -1)) * unit[p.slice(-1) as keyof typeof unit];
  return new Date(t).toISOString();
}

/** The body with every date-math string evaluated at `fire`. */
function atFire<T>(v: T, fire: number): T {
  if (typeof v === 'string') return (v.startsWith('{{ctx.trigger') ? evalDateMath(v, fire) : v) as T;
  if (Array.isArray(v)) return v.map((x) => atFire(x, fire)) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, atFire(x, fire)])) as T;
  return v;
}

function checkShape(id: string, body: WatchBody): void {
  // The reference example's top-level blocks, plus the transform and metadata Watcher also accepts.
  for (const k of Object.keys(refExample)) assert.ok(k in body, `${id}: ${k}`);
  assert.deepEqual(Object.keys(body).sort(), ['actions', 'condition', 'input', 'metadata', 'transform', 'trigger']);
  assert.match(String(body.trigger.schedule?.cron), /^\S+ \S+ \S+ \S+ \S+ \S+$/, `${id}: Quartz cron with seconds`);
  const searches = 'search' in body.input ? [body.input.search] : body.input.chain.inputs.map((i) => Object.values(i)[0]!.search);
  for (const s of searches) {
    assert.deepEqual(Object.keys(s.request).sort(), ['body', 'indices', 'indices_options', 'rest_total_hits_as_int']);
    // estypes.WatcherSearchInputRequestDefinition.indices_options, as the agent's _msearch header.
    assert.deepEqual(s.request.indices_options, { ignore_unavailable: true, allow_no_indices: true }, `${id}: a model without documents yet is an empty window`);
    assert.ok(Array.isArray(s.request.indices) && s.request.indices.every((x) => typeof x === 'string'));
    assert.ok(s.request.body.query, `${id}: a query as in the reference example`);
    assert.match(JSON.stringify(s.request.body), /\{\{ctx\.trigger\.scheduled_time\}\}\|\|-/, `${id}: the window is date math on the trigger time, as the reference example's range`);
  }
  const kinds = Object.keys(body.condition);
  assert.equal(kinds.length, 1);
  assert.ok(['compare', 'array_compare', 'script'].includes(kinds[0]!), `${id}: ${kinds[0]}`);
  if (body.condition.script) assert.deepEqual(Object.keys(body.condition.script).sort(), ['lang', 'params', 'source']);
  assert.ok(Object.keys(body.actions).length > 0);
  for (const [name, a] of Object.entries(body.actions)) {
    const types = Object.keys(a).filter((k) => k !== 'throttle_period');
    assert.equal(types.length, 1, `${id}/${name}: one action type`);
    if (a.throttle_period !== undefined) assert.match(a.throttle_period as string, /^\d+(ms|s|m|h|d)$/);
    if (a.slack) assert.ok(typeof a.slack.message.text === 'string' && a.slack.account === name);
    if (a.email) assert.ok(a.email.to && a.email.subject && a.email.account === name);
    if (a.webhook) assert.ok(a.webhook.url && a.webhook.method && typeof a.webhook.body === 'string');
    if (a.logging) assert.ok(typeof a.logging.text === 'string');
  }
  assert.match(body.metadata.driftbeat.generated_by, /do not edit by hand/);
}

describe('schedules and windows', () => {
  it('turns node-cron into Watcher\'s Quartz cron', () => {
    assert.equal(quartzCron('5 * * * *'), '0 5 * * * ?');
    assert.equal(quartzCron('*/15 * * * *'), '0 0/15 * * * ?');
    assert.equal(quartzCron('10 */6 * * *'), '0 10 0/6 * * ?');
    assert.equal(quartzCron('30 0 * * 1-5'), '0 30 0 ? * MON,TUE,WED,THU,FRI');
    assert.equal(quartzCron('0 9 * * 0'), '0 0 9 ? * SUN');
    assert.equal(quartzCron('0 */15 * * * *'), '0 0/15 * * * ?');
    assert.equal(quartzCron('0 0 1 * *'), '0 0 0 1 * ?');
    assert.equal(quartzCron('@daily'), '0 0 0 * * ?');
    assert.throws(() => quartzCron('0 0 1 * 1'), /cannot require both a day of month and a day of week/);
  });

  it('puts the window as date math on the trigger time', () => {
    assert.equal(triggerMinus(600_000, 21_600_000), '{{ctx.trigger.scheduled_time}}||-10m-6h');
    assert.equal(triggerMinus(0), '{{ctx.trigger.scheduled_time}}');
    assert.equal(triggerMinus(0, 1_800_000), '{{ctx.trigger.scheduled_time}}||-30m');
  });
});

describe('watches of the example rules', () => {
  const rules = exampleRules();
  const { config } = loadConfig(EXAMPLE_CONFIG, { env: { ...EXAMPLE_ENV } });

  for (const withProfile of [false, true]) {
    it(`have the Watcher spec's shape and search with the agent's compiled query (${withProfile ? 'with' : 'without'} a profile)`, () => {
      let generated = 0;
      for (const r of rules) {
        const w = generateWatch(r, { notifiers: config.notifiers, ...(withProfile ? { profile } : {}) });
        if (w.skipped) continue;
        generated++;
        checkShape(w.id, w.body);
        // The window the agent evaluates at a fire time, and the watch's search at that fire time.
        const fire = Date.parse('2024-05-06T06:10:00Z');
        const to = fire - r.delay;
        const window = { from: new Date(to - r.window).toISOString(), to: new Date(to).toISOString() };
        // The agent always has the profile for unseen_categories; the watch's search never depends on its values.
        // A per-version rule runs one plan per profiled version (rules/segments.ts); the watch is that of the profile's version.
        const agentRule = withProfile && perVersionProfile(r) ? versionRule(r, profile.version) : r;
        const plan = planRule(agentRule, window, withProfile || r.type === 'unseen_categories' ? profile : undefined, 0);
        // model_quality's reference side is its outcome search alone (label coverage needs no reference count).
        const sideId = (side: 'cur' | 'ref') => (side === 'ref' && r.type === 'model_quality' ? '0/ref/quality/' : `0/${side}/count/`);
        const compiled = (side: 'cur' | 'ref') => compileSearches(plan.phase1.filter((q) => q.id.split('/')[1] === side)).find((s) => s.ids.includes(sideId(side)));
        const s = watchSearches(w.body);
        assert.deepEqual(atFire(s.current, fire), compiled('cur')!.body, `${r.name}: current search`);
        if (plan.reference) assert.deepEqual(atFire(s.reference, fire), compiled('ref')!.body, `${r.name}: reference search`);
        else assert.equal(s.reference, undefined);
      }
      assert.ok(generated >= 4, `${generated} watches`);
    });
  }

  it('use profile numbers when given one, and say what they cannot check without', () => {
    const stats = rules.find((r) => r.name === 'fraud-score-stats')!;
    const without = generateWatch(stats, { notifiers: config.notifiers });
    assert.deepEqual(without.body.metadata.driftbeat.not_checked.map((u) => u.field), ['prediction.score']);
    assert.match(without.body.metadata.driftbeat.not_checked[0]!.reason, /reference_mean_k/);
    const withP = generateWatch(stats, { notifiers: config.notifiers, profile });
    assert.deepEqual(withP.body.metadata.driftbeat.not_checked, []);
    assert.equal(withP.body.metadata.driftbeat.profile, 'fraud@1.5.0');
    assert.equal((withP.body.condition.script!.params!['fields'] as { ref_mean: number }[])[0]!.ref_mean, 0.03);

    const missing = rules.find((r) => r.name === 'fraud-missing-spike')!;
    assert.match(String(generateWatch(missing, { notifiers: config.notifiers }).skipped), /needs a reference profile/);
    const m = generateWatch(missing, { notifiers: config.notifiers, profile });
    assert.equal(m.skipped, undefined);
    assert.ok((m.body.condition.script!.params!['fields'] as unknown[]).length >= 5);

    const drift = rules.find((r) => r.name === 'fraud-input-drift')!;
    assert.match(String(generateWatch(drift, { notifiers: config.notifiers }).skipped), /no reference for "features.amount"/);
    const d = generateWatch(drift, { notifiers: config.notifiers, profile });
    assert.equal(d.skipped, undefined);
    assert.equal(d.body.metadata.driftbeat.profile, 'fraud@1.5.0');
    // 1000 reference rows: Evidently's small-reference tests, KS on the amount's raw values against the profile's sample.
    assert.deepEqual(d.body.metadata.driftbeat.checks.map((c) => c.split(':')[0]), ['features.amount', 'features.merchant', 'features.country', 'prediction.label']);
    assert.match(d.body.metadata.driftbeat.checks[0]!, /ks p-value <= 0\.05/);
    assert.ok(d.body.metadata.driftbeat.notes.some((n) => /asymptotic p-value/.test(n)));
    const fields = d.body.condition.script!.params!['fields'] as { field: string; route: string; ref_sample?: number[]; ref_keys?: string[]; values: string | null }[];
    assert.deepEqual(fields.map((f) => [f.field, f.route]), [['features.amount', 'raw'], ['features.merchant', 'counts'], ['features.country', 'counts'], ['prediction.label', 'counts']]);
    assert.deepEqual(fields[0]!.ref_sample, [1, 2, 3]);
    assert.deepEqual(fields[3]!.ref_keys, ['ok', 'fraud']);
    // The raw values come from the agent's own values search, in the chain after the aggregations.
    const chain = 'chain' in d.body.input ? d.body.input.chain.inputs.map((i) => Object.keys(i)[0]) : [];
    assert.deepEqual(chain, ['current', fields[0]!.values]);
  });

  it('distribution_shift: raw values come from the agent\'s own values search; a profile lacking the sample is named, not guessed', () => {
    const drift = { ...rules.find((r) => r.name === 'fraud-input-drift')!, method: 'psi', fields: ['features.amount', 'prediction.score'] } as Rule;
    const fire = Date.parse('2024-05-06T06:10:00Z');
    const window = { from: new Date(fire - drift.delay - drift.window).toISOString(), to: new Date(fire - drift.delay).toISOString() };
    const w = generateWatch(drift, { notifiers: config.notifiers, profile });
    const plan = planRule(drift, window, profile, 0);
    const inputs = 'chain' in w.body.input ? Object.assign({}, ...w.body.input.chain.inputs) as Record<string, { search: { request: { body: unknown } } }> : {};
    assert.deepEqual(Object.keys(inputs), ['current', 'values_0', 'values_1']);
    const values = compileSearches([{ id: 'v', filter: plan.current, groupBy: [], kind: 'values', field: 'features.amount', limit: 10_000 }])[0]!;
    assert.deepEqual(atFire(inputs['values_0']!.search.request.body, fire), values.body);
    const fields = w.body.condition.script!.params!['fields'] as { route: string; ref_n: number; ref_min: number; inner_edges: null }[];
    assert.deepEqual(fields.map((f) => [f.route, f.ref_n, f.ref_min, f.inner_edges]), [['bins', 1000, 0, null], ['bins', 1000, 0, null]]);
    assert.ok(w.body.metadata.driftbeat.notes.some((n) => /counts per bin come from at most 10000 raw values/.test(n)));
    const q = generateWatch({ ...drift, bins: 'reference_quantiles' } as Rule, { notifiers: config.notifiers, profile: { ...profile, fields: profile.fields.map((f) => (f.field === 'features.amount' ? { ...f, sample: [5, 1, 4, 2, 3] } : f)) } });
    assert.deepEqual((q.body.condition.script!.params!['fields'] as { inner_edges: number[] }[])[0]!.inner_edges, referenceQuantileEdges([5, 1, 4, 2, 3], 10).slice(1, -1));
    const noSample = generateWatch(drift, { notifiers: config.notifiers, profile: { ...profile, fields: profile.fields.map((f) => (f.field === 'features.amount' ? { ...f, sample: [] } : f)) } });
    assert.deepEqual(noSample.body.metadata.driftbeat.not_checked.map((u) => u.field), ['features.amount']);
    assert.match(noSample.body.metadata.driftbeat.not_checked[0]!.reason, /needs the reference sample.*rebuild the profile/);
    assert.deepEqual(noSample.body.metadata.driftbeat.checks, ['prediction.score: psi >= 0.1']);
  });

  it('map realert to throttle_period and notifiers to slack, email, webhook and logging actions', () => {
    const unseen = generateWatch(rules.find((r) => r.name === 'fraud-unseen-categories')!, { notifiers: config.notifiers });
    assert.equal(unseen.body.actions['slack-ml']!.throttle_period, '6h');
    assert.deepEqual(unseen.body.actions['slack-ml']!.slack!.message.to, ['#ml-alerts']);
    const volume = generateWatch(rules.find((r) => r.name === 'fraud-volume')!, { notifiers: config.notifiers });
    assert.equal(volume.body.actions['oncall-email']!.throttle_period, '1h');
    assert.deepEqual(volume.body.actions['oncall-email']!.email!.to, ['ml-oncall@example.com']);
    const r = { ...rules.find((x) => x.name === 'fraud-volume')!, notify: ['retrain', 'console'], realert: undefined } as Rule;
    const w = generateWatch(r, { notifiers: { ...config.notifiers, console: { type: 'log', retry: { maxAttempts: 1, initialBackoff: 1, maxBackoff: 1 } } } });
    assert.equal(w.body.actions['retrain']!.webhook!.url, 'https://ci.example.com/hooks/retrain');
    assert.equal(w.body.actions['console']!.logging!.level, 'error');
    assert.equal(w.body.actions['console']!.throttle_period, undefined);
    assert.ok(w.body.metadata.driftbeat.notes.some((n) => /acknowledge the watch/.test(n)));
  });
});

describe('watches export', () => {
  it('writes one JSON file per watch: no Slack or email secret in it (Watcher accounts), the webhook\'s token resolved (Watcher substitutes nothing)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'driftbeat-watches-'));
    try {
      const cfg = join(dir, 'driftbeat.yml');
      writeFileSync(cfg, readFileSync(EXAMPLE_CONFIG, 'utf8').replace('path: rules', `path: ${EXAMPLE_RULES_DIR}`));
      const env = { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T1/B1/sekr1tpath', SMTP_USER: 'ml', SMTP_PASSWORD: 'sekr1tpass', RETRAIN_TOKEN: 'sekr1ttoken' };
      const saved = { ...process.env };
      Object.assign(process.env, env);
      let res;
      let json;
      try {
        res = await watchesExportCommand({ configFile: cfg, out: join(dir, 'out'), profiles: false });
        // Without --out: one JSON object on stdout.
        json = await watchesExportCommand({ configFile: cfg, profiles: false });
      } finally {
        for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
        clearSecrets();
      }
      assert.equal(res.exitCode, 0, res.stderr);
      const files = readdirSync(join(dir, 'out')).sort();
      assert.deepEqual(files, ['driftbeat-fraud-challenger-score-shift.json', 'driftbeat-fraud-note-oov.json', 'driftbeat-fraud-quality.json', 'driftbeat-fraud-score-stats.json', 'driftbeat-fraud-unseen-categories.json', 'driftbeat-fraud-volume.json']);
      const all = files.map((f) => readFileSync(join(dir, 'out', f), 'utf8')).join('\n');
      assert.ok(!/sekr1tpath|sekr1tpass/.test(all), 'no Slack or email secret in the exported JSON');
      const challenger = JSON.parse(readFileSync(join(dir, 'out', 'driftbeat-fraud-challenger-score-shift.json'), 'utf8')) as WatchBody;
      assert.equal(challenger.actions['retrain']!.webhook!.headers!['Authorization'], 'Bearer sekr1ttoken', 'the header as the retraining pipeline expects it');
      assert.ok(!/\$\{/.test(all), 'no ${ENV} text left for Watcher, which would send it literally');
      assert.ok(!/sekr1t/.test(`${res.text}${res.stderr ?? ''}`), 'the value is never printed');
      assert.match(res.stderr ?? '', /fraud-missing-spike: no watch/);
      assert.match(res.text, /6 watch\(es\) written/);
      assert.deepEqual(Object.keys(JSON.parse(json.text) as object).sort(), files.map((f) => f.replace(/\.json$/, '')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves webhook headers from the environment, and refuses naming the variable and the notifier when it is unset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'driftbeat-watches-'));
    try {
      const cfg = join(dir, 'c.yml');
      writeFileSync(cfg, [
        'output: { elasticsearch: { hosts: [http://127.0.0.1:9200] } }',
        `rules: { path: ${join(dir, 'rules')} }`,
        'notifiers:',
        '  retrain: { type: webhook, url: "https://ci.example.com/hook", headers: { Authorization: "Bearer ${TOK}", X-Team: ml } }',
      ].join('\n'));
      mkdirSync(join(dir, 'rules'));
      writeFileSync(join(dir, 'rules', 'v.yml'), 'type: volume\nmodel: fraud\nwindow: 15m\nschedule: "*/15 * * * *"\nmin_count: 5\nnotify: [retrain]\n');
      delete process.env['TOK'];
      const unset = await watchesExportCommand({ configFile: cfg, out: join(dir, 'out'), profiles: false });
      assert.equal(unset.exitCode, 2);
      assert.match(unset.stderr ?? '', /c\.yml:4:\d+: notifiers\.retrain\.headers\.Authorization: environment variable TOK is not set/);
      process.env['TOK'] = 'sekr1t-token-value';
      let res;
      try {
        res = await watchesExportCommand({ configFile: cfg, out: join(dir, 'out'), profiles: false });
      } finally {
        delete process.env['TOK'];
        clearSecrets();
      }
      assert.equal(res.exitCode, 0, res.stderr);
      const w = JSON.parse(readFileSync(join(dir, 'out', 'driftbeat-v.json'), 'utf8')) as WatchBody;
      assert.deepEqual(w.actions['retrain']!.webhook!.headers, { 'Content-Type': 'application/json', Authorization: 'Bearer sekr1t-token-value', 'X-Team': 'ml' });
      assert.ok(!/sekr1t/.test(`${res.text}${res.stderr ?? ''}`), 'the value is never printed');
      // The search input ignores a model without documents yet, as the agent's _msearch header does.
      const input = w.input as { search: { request: { indices_options: unknown } } };
      assert.deepEqual(input.search.request.indices_options, { ignore_unavailable: true, allow_no_indices: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an invalid config exits 2 with the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'driftbeat-watches-'));
    try {
      const cfg = join(dir, 'c.yml');
      writeFileSync(cfg, 'output: { elasticsearch: { hosts: [http://127.0.0.1:9200] } }\n');
      const res = await watchesExportCommand({ configFile: cfg, profiles: false });
      assert.equal(res.exitCode, 2);
      assert.match(res.stderr ?? '', /rules\.path: is not set/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
