import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { FakeElasticStack, multipartFile } from '../../test/support/fake-elastic-stack.ts';
import { buildKibanaObjects, toNdjson } from './kibana.ts';
import { runSetup, formatAction, type SetupReport, type SetupStep } from './setup.ts';
import { ilmPolicyBody, templatePlan, type EsResource } from './templates.ts';

const REF = new URL('../../test/fixtures/elastic/', import.meta.url);

function config(url: string, extra = ''): Config {
  const text = `
inputs:
  - paths: [/var/log/fraud/*.jsonl]
    model: { name: Fraud, version: "1.4.2" }
  - paths: [/var/log/multi/*.jsonl]
    model: { name_field: model }
output:
  elasticsearch:
    hosts: ["${url}"]
    username: elastic
    password: s3cret-pass
setup:
  kibana:
    host: "${url}/"
${extra}`;
  return loadConfig('driftbeat.yml', { text, env: {} }).config;
}

// What only Elasticsearch and Kibana have (ILM, the saved-object import, Watcher, credentials) is
// checked against a stand-in answering in Elastic's formats; what the engines share is tested on the
// real engine in test/setup-engine.test.ts.
describe('driftbeat setup against a stand-in Elasticsearch and Kibana', () => {
  const stack = new FakeElasticStack();
  let url = '';
  let dir = '';
  let kibanaDir = '';

  before(async () => {
    url = await stack.start();
    dir = mkdtempSync(join(tmpdir(), 'driftbeat-setup-'));
    kibanaDir = dir;
    writeFileSync(join(kibanaDir, 'driftbeat.ndjson'), toNdjson(buildKibanaObjects()));
  });
  after(async () => {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    stack.requests.length = 0;
  });

  async function setup(opts: { steps?: SetupStep[]; dryRun?: boolean; cfg?: Config } = {}): Promise<{ report: SetupReport; lines: string[] }> {
    const lines: string[] = [];
    const report = await runSetup({ config: opts.cfg ?? config(url), kibanaDir, out: (l) => lines.push(l), ...(opts.steps ? { steps: opts.steps } : {}), ...(opts.dryRun ? { dryRun: true } : {}) });
    return { report, lines };
  }

  it('--dry-run prints every request, in Dev Tools format, and sends none', async () => {
    const { report, lines } = await setup({ dryRun: true });
    assert.equal(stack.requests.length, 0, 'a dry run must not touch the cluster');
    assert.ok(report.ok);
    const text = lines.join('\n');
    const plan = templatePlan({ prefix: 'driftbeat', models: ['Fraud'] });
    for (const r of plan) assert.ok(text.includes(`\n${r.put.method} ${r.put.path}\n`), `dry run prints ${r.put.method} ${r.put.path}`);
    // The printed body is the body setup would send, and it parses.
    const at = lines.indexOf('PUT /_ilm/policy/driftbeat-predictions');
    const end = lines.indexOf('', at);
    assert.deepEqual(JSON.parse(lines.slice(at + 1, end).join('\n')), ilmPolicyBody({ rolloverMaxAge: '30d', rolloverMaxPrimaryShardSize: '50gb', deleteAfter: '90d' }));
    assert.ok(text.includes('PUT /_data_stream/driftbeat-predictions-fraud'), 'the constant model gets its data stream');
    assert.ok(text.includes(`POST ${url}/api/saved_objects/_import?overwrite=true`));
    assert.ok(text.includes('kbn-xsrf: true'));
    assert.ok(text.includes('dashboard driftbeat-model-overview: driftbeat: model overview'));
    assert.ok(!text.includes('s3cret-pass'));
  });

  it('installs everything in order the first time, then is a no-op', async () => {
    const first = await setup();
    assert.ok(first.report.ok, first.lines.join('\n'));
    const plan: EsResource[] = templatePlan({ prefix: 'driftbeat', models: ['Fraud'] });
    const expected = [
      'GET /', // which engine, once (Elasticsearch here: ILM, Kibana, Watcher)
      ...plan.flatMap((r) => [`${r.get.method} ${r.get.path}`, `${r.put.method} ${r.put.path}`]),
      'POST /api/saved_objects/_export',
      'POST /api/saved_objects/_import?overwrite=true',
    ];
    assert.deepEqual(stack.calls(), expected);
    assert.ok(first.lines.includes('templates: ILM policy driftbeat-predictions: created'));
    assert.ok(first.lines.includes('templates: index template driftbeat-predictions: created'));
    assert.ok(first.lines.includes('templates: data stream driftbeat-predictions-fraud: created'));
    assert.ok(first.lines.includes('kibana: saved object dashboard/driftbeat-model-overview: created'));

    // Requests carry what Elasticsearch and Kibana require.
    const put = stack.requests.find((r) => r.url === '/_index_template/driftbeat-predictions')!;
    assert.equal(put.headers['authorization'], `Basic ${Buffer.from('elastic:s3cret-pass').toString('base64')}`);
    const imp = stack.requests.find((r) => r.url.startsWith('/api/saved_objects/_import'))!;
    assert.equal(imp.headers['kbn-xsrf'], 'true');
    assert.equal(imp.headers['authorization'], put.headers['authorization'], 'Kibana gets the output credentials when it has none of its own');
    assert.match(String(imp.headers['content-type']), /^multipart\/form-data; boundary=/);
    const file = multipartFile(String(imp.headers['content-type']), imp.body)!;
    assert.equal(file, readFileSync(join(kibanaDir, 'driftbeat.ndjson'), 'utf8'));
    assert.equal(stack.savedObjects.size, buildKibanaObjects().length);

    stack.requests.length = 0;
    const second = await setup();
    assert.ok(second.report.ok);
    const writes = stack.calls().filter((c) => !c.startsWith('GET ') && !c.startsWith('HEAD ') && !c.startsWith('POST /api/saved_objects/_export'));
    assert.deepEqual(writes, [], 'the second run writes nothing');
    assert.ok(second.report.actions.filter((a) => a.step !== 'watches').every((a) => a.result === 'unchanged'), second.lines.join('\n'));
    assert.equal(second.lines.at(-1), 'watches: watch *: skipped (watch generation is not available in this build)');
  });

  it('updates a resource that differs, and only that one', async () => {
    await setup();
    const cfg = config(url, '  ilm: { delete_after: 30d }');
    stack.requests.length = 0;
    const { report, lines } = await setup({ cfg, steps: ['templates'] });
    assert.ok(report.ok);
    assert.ok(lines.includes('templates: ILM policy driftbeat-predictions: updated'));
    assert.deepEqual(stack.calls().filter((c) => c.startsWith('PUT')), ['PUT /_ilm/policy/driftbeat-predictions']);
    assert.equal(report.actions.filter((a) => a.result === 'updated').length, 1);
  });

  it('reports each object of an import conflict (HTTP 200, success false) as a failure', async () => {
    stack.savedObjects.clear();
    stack.importResponse = JSON.parse(readFileSync(new URL('kibana/import-api/docs-import-response-conflict-errors.json', REF), 'utf8'));
    try {
      const { report, lines } = await setup({ steps: ['kibana'] });
      assert.equal(report.ok, false);
      const failed = report.actions.filter((a) => a.result === 'failed').map((a) => a.name);
      assert.deepEqual(failed.sort(), ['canvas-workpad/my-canvas', 'index-pattern/my-pattern', 'my-vis/my-visualization']);
      assert.ok(lines.some((l) => l.startsWith('kibana: saved object index-pattern/my-pattern: failed (conflict')), lines.join('\n'));
      assert.ok(lines.some((l) => l.includes('ambiguous conflict with another-canvas, yet-another-canvas')));
      // Nothing is created while errors remain, so our objects are not claimed as created.
      assert.ok(report.actions.filter((a) => a.name.startsWith('dashboard/')).every((a) => a.result === 'skipped'));
    } finally {
      stack.importResponse = undefined;
    }
  });

  it('names missing references from the import response', async () => {
    stack.savedObjects.clear();
    stack.importResponse = JSON.parse(readFileSync(new URL('kibana/import-api/docs-import-response-missing-references.json', REF), 'utf8'));
    try {
      const { report } = await setup({ steps: ['kibana'] });
      assert.equal(report.ok, false);
      const vis = report.actions.find((a) => a.name === 'visualization/my-vis')!;
      assert.equal(vis.result, 'failed');
      assert.match(vis.detail!, /missing references index-pattern my-pattern-\*/);
    } finally {
      stack.importResponse = undefined;
    }
  });

  it('skips Kibana when setup.kibana is not configured, and fails when it was asked for', async () => {
    const text = `
output:
  elasticsearch: { hosts: ["${url}"] }
`;
    const cfg = loadConfig('x.yml', { text, env: {} }).config;
    const lines: string[] = [];
    const all = await runSetup({ config: cfg, kibanaDir, out: (l) => lines.push(l), steps: undefined });
    const k = all.actions.find((a) => a.step === 'kibana')!;
    assert.equal(k.result, 'skipped');
    assert.match(k.detail!, /setup\.kibana\.host is not set/);
    const only = await runSetup({ config: cfg, kibanaDir, out: () => {}, steps: ['kibana'] });
    assert.equal(only.ok, false);
  });

  it('says why when Elasticsearch refuses the credentials, and stops the step', async () => {
    const { createServer } = await import('node:http');
    const srv = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(JSON.stringify({ error: { root_cause: [{ type: 'security_exception', reason: 'unable to authenticate user [elastic] for REST request [/_ilm/policy/driftbeat-predictions]' }], type: 'security_exception', reason: 'unable to authenticate user [elastic] for REST request [/_ilm/policy/driftbeat-predictions]' }, status: 401 }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as { port: number }).port;
      const lines: string[] = [];
      const report = await runSetup({ config: config(`http://127.0.0.1:${port}`), kibanaDir, steps: ['templates'], out: (l) => lines.push(l) });
      assert.equal(report.ok, false);
      assert.match(lines[0]!, /ILM policy driftbeat-predictions: failed \(HTTP 401 security_exception: .*check output\.elasticsearch username\/password or api_key\)/);
      assert.ok(report.actions.slice(1).every((a) => a.result === 'skipped'));
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('reports an unreachable Elasticsearch once instead of failing every resource alike', async () => {
    const report = await runSetup({ config: config('http://127.0.0.1:9'), kibanaDir, steps: ['templates'], out: () => {} });
    assert.equal(report.ok, false);
    assert.equal(report.actions[0]!.result, 'failed');
    assert.match(report.actions[0]!.detail!, /cannot reach Elasticsearch/);
    assert.ok(report.actions.slice(1).every((a) => a.result === 'skipped'));
  });

  it('runs a watches provider through the same read-compare-write loop', async () => {
    const watch: EsResource = {
      kind: 'watch',
      name: 'fraud-drift',
      get: { method: 'GET', path: '/_index_template/watch-stand-in' },
      put: { method: 'PUT', path: '/_index_template/watch-stand-in', body: { index_patterns: ['watch-stand-in'] } },
      current: (b) => (b as { index_templates?: { index_template: unknown }[] }).index_templates?.[0]?.index_template,
    };
    const lines: string[] = [];
    const r1 = await runSetup({ config: config(url), kibanaDir, steps: ['watches'], watches: () => [watch], out: (l) => lines.push(l) });
    assert.ok(r1.ok);
    assert.deepEqual(lines, ['watches: watch fraud-drift: created']);
    const r2 = await runSetup({ config: config(url), kibanaDir, steps: ['watches'], watches: () => [watch], out: () => {} });
    assert.equal(r2.actions[0]!.result, 'unchanged');
    const none = await runSetup({ config: config(url), kibanaDir, out: () => {}, steps: ['watches'] });
    assert.equal(none.actions[0]!.result, 'failed', 'asked for watches without a provider');
  });

  it('does nothing with the embedded store, and says so', async () => {
    const cfg = loadConfig('x.yml', { text: 'output:\n  embedded: { path: ./x.duckdb }\n', env: {} }).config;
    const report = await runSetup({ config: cfg, kibanaDir, out: () => {} });
    assert.ok(report.ok);
    assert.ok(report.actions.every((a) => a.result === 'skipped'));
    assert.match(formatAction(report.actions[0]!), /output is embedded/);
  });
});

describe('setup flags and summary', () => {
  it('maps CLI flags to steps; no flag means all, defaulted', async () => {
    const { stepsFromFlags, summarizeSetup } = await import('./setup.ts');
    assert.equal(stepsFromFlags({}), undefined);
    assert.deepEqual(stepsFromFlags({ kibana: true, templates: true }), ['templates', 'kibana']);
    const report: SetupReport = { ok: false, actions: [
      { step: 'templates', kind: 'index', name: 'a', result: 'created' },
      { step: 'templates', kind: 'index', name: 'b', result: 'unchanged' },
      { step: 'kibana', kind: 'saved_object', name: 'c', result: 'failed' },
    ] };
    assert.equal(summarizeSetup(report), 'setup: 1 created, 0 updated, 1 unchanged, 0 skipped, 1 failed');
  });
});
