/**
 * search.max_buckets on the real engine (65,535 by default): a rule over many categories, and one
 * with many segments, must never end in the engine's too_many_buckets_exception. The data here is
 * sized so that the bodies as they were before (every field in one body; one terms under 30
 * segments) make more buckets than the engine allows, which the test first shows the engine refusing.
 * The tests lower the cluster's search.max_buckets to 10,000 while they evaluate (restored after),
 * so that they need 1,300 and 12,000 documents, not 9,000 and 66,000; the backend reads the limit
 * from the cluster, as it does at 65,535.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSetup } from '../agent/assets/setup.ts';
import { ElasticsearchBackend } from '../agent/backends/elasticsearch/backend.ts';
import { compileSearches } from '../agent/backends/elasticsearch/body.ts';
import { loadConfig } from '../agent/config/load.ts';
import type { Config } from '../agent/config/schema.ts';
import { EngineClient } from '../agent/engine/client.ts';
import type { ReferenceStore } from '../agent/reference/profile.ts';
import { planRule } from '../agent/rules/plan.ts';
import { evaluateRules } from '../agent/rules/runner.ts';
import { RuleSchema, type Rule } from '../agent/rules/schema.ts';
import { testEngine } from './support/engine.ts';

const engine = await testEngine();
const dir = mkdtempSync(join(tmpdir(), 'driftbeat-buckets-'));
const WINDOW = { from: '2026-11-02T01:00:00.000Z', to: '2026-11-02T02:00:00.000Z' };
const FIELDS = 8;
const VALUES = 1_300;
const HOSTS = 30;
const PER_HOST = 400;
/** search.max_buckets while the tests evaluate (restored after): 8 x 1,300 and 30 x 400 values exceed it. */
const LOWERED = 10_000;
const noProfiles: ReferenceStore = { get: async () => undefined, save: async () => undefined, list: async () => [] };

function rule(yaml: Record<string, unknown>): Rule {
  const r = RuleSchema.parse({ name: 'buckets', model: 'fraud', window: '1h', schedule: '0 * * * *', delay: '0s', min_samples: 1, ...yaml });
  return { source: { file: 'buckets.yml', line: 1, col: 1 }, ...r } as Rule;
}

/** `n` documents at even steps through [from, to), `features` from `fill(i)`. */
function bulkBody(index: string, n: number, from: string, fill: (i: number) => { host: string; features: Record<string, string> }, tag: string): string {
  const t0 = Date.parse(from);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const { host, features } = fill(i);
    lines.push(JSON.stringify({ create: { _index: index, _id: `${tag}-${i}` } }));
    lines.push(JSON.stringify({ '@timestamp': new Date(t0 + Math.floor((i * 3_600_000) / n)).toISOString(), event: { id: `${tag}-${i}` }, model: { name: 'fraud', version: '1.0' }, host: { name: host }, features }));
  }
  return `${lines.join('\n')}\n`;
}

async function setting(v: number | null): Promise<void> {
  const res = await engine.request('PUT', '/_cluster/settings', { transient: { 'search.max_buckets': v } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

describe('no rule body exceeds search.max_buckets on the real engine', () => {
  let prefix = '';
  let client: EngineClient;
  before(async () => {
    prefix = engine.prefix({ name: 'max_buckets: many categories and segments' });
    const text = `output:\n  elasticsearch: { hosts: ["${engine.url}"], index_prefix: ${prefix} }\npath: { data: ${dir}/data }\n`;
    const cfg: Config = loadConfig('driftbeat.yml', { text, env: {} }).config;
    const lines: string[] = [];
    assert.ok((await runSetup({ config: cfg, steps: ['templates'], out: (l) => lines.push(l) })).ok, lines.join('\n'));
    client = new EngineClient(cfg.output.elasticsearch!);
    const index = `${prefix}-predictions-fraud`;
    // Many categories: FIELDS fields with VALUES distinct values each in the window, a few in the hour before.
    const wide = (i: number) => ({ host: 'h0', features: Object.fromEntries(Array.from({ length: FIELDS }, (_, f) => [`f${f}`, `v${i}`])) });
    // Many segments: HOSTS hosts with PER_HOST distinct merchants each.
    const deep = (i: number) => ({ host: `h${i % HOSTS}`, features: { merchant: `m${Math.floor(i / HOSTS)}` } });
    for (const [n, from, fill, tag] of [[VALUES, WINDOW.from, wide, 'w'], [100, '2026-11-02T00:00:00.000Z', wide, 'r'], [HOSTS * PER_HOST, WINDOW.from, deep, 'd'], [HOSTS * 10, '2026-11-02T00:00:00.000Z', deep, 'e']] as const) {
      for (let i = 0; i < n; i += 20_000) {
        const chunk = Math.min(20_000, n - i);
        const res = await engine.request('POST', '/_bulk', bulkBody(index, chunk, from, (k) => fill(i + k), `${tag}${i}`));
        assert.equal(res.body.errors, false, JSON.stringify(res.body.items?.find((x: { create?: { error?: unknown } }) => x.create?.error)));
      }
    }
    await engine.refresh(prefix);
    await setting(LOWERED);
  });
  after(async () => {
    await setting(null);
    await client?.close();
    if (prefix) await engine.drop(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('many categories: every field in one body is refused by the engine; the agent packs them so that none is', async () => {
    const r = rule({ type: 'unseen_categories', fields: Array.from({ length: FIELDS }, (_, f) => `f${f}`), reference: { offset: '1h' } });
    // The body as it was: every field's terms in one body.
    const [one] = compileSearches(planRule(r, WINDOW, undefined, 0).phase1.filter((q) => q.id.includes('/cur/')), { indexPrefix: prefix, maxBuckets: Number.POSITIVE_INFINITY });
    const refused = await engine.request('POST', '/_msearch', `${JSON.stringify(one!.header)}\n${JSON.stringify(one!.body)}\n`);
    assert.match(JSON.stringify(refused.body.responses[0].error), /too_many_buckets_exception/, 'the data makes more buckets than the engine allows in one body');

    const backend = new ElasticsearchBackend(client, { indexPrefix: prefix });
    const report = await evaluateRules([{ rule: r, window: WINDOW }], { backend, references: noProfiles });
    const results = report.evaluations[0]!.results;
    assert.deepEqual(results.filter((x) => x.status === 'error').map((x) => `${x.field}: ${x.error}`), []);
    assert.equal(results.length, FIELDS);
    for (const x of results) {
      assert.equal(x.current_count, VALUES, `${x.field}: every document counted`);
      assert.equal(x.details['current_truncated'], undefined, `${x.field}: every value seen, none cut off`);
    }
    assert.equal(backend.requests, 1, 'still one _msearch: more bodies in it');
  });

  it('many segments: a body the engine refuses is asked again with capped sizes, and says the values were cut off', async () => {
    const r = rule({ type: 'unseen_categories', fields: ['merchant'], reference: { offset: '1h' }, group_by: ['host.name'] });
    const backend = new ElasticsearchBackend(client, { indexPrefix: prefix });
    const [one] = compileSearches(planRule(r, WINDOW, undefined, 0).phase1.filter((q) => q.id.includes('/cur/')), { indexPrefix: prefix });
    const refused = await engine.request('POST', '/_msearch', `${JSON.stringify(one!.header)}\n${JSON.stringify(one!.body)}\n`);
    assert.match(JSON.stringify(refused.body.responses[0].error), /too_many_buckets_exception/, 'the data makes more buckets than the engine allows');
    const report = await evaluateRules([{ rule: r, window: WINDOW }], { backend, references: noProfiles });
    const results = report.evaluations[0]!.results.filter((x) => x.field === 'features.merchant');
    assert.deepEqual(results.filter((x) => x.status === 'error').map((x) => `${x.segment}: ${x.error}`), [], 'never the engine\'s max_buckets error');
    assert.equal(results.length, HOSTS, 'one result per host');
    const h1 = results.find((x) => x.segment === 'host.name=h1')!;
    assert.equal(h1.current_count, PER_HOST);
    assert.equal(h1.details['current_truncated'], true, 'capped: the result says values were cut off');
    assert.equal(backend.requests, 2, 'one more round trip, for the refused body only');
  });
});
