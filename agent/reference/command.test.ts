import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { testEngine } from '../../test/support/engine.ts';
import { ConfigError } from '../errors.ts';
import { referenceBuildCommand } from './command.ts';
import { registerReferenceBuild } from '../cli/reference-build.ts';
import type { ReferenceProfile } from './profile.ts';
import { EmbeddedReferenceStore } from './store-embedded.ts';
import { csvRows, writeCsv } from '../../test/fixtures/training-csv.ts';
import { workspace } from '../../test/support/workspace.ts';

const dir = workspace('reference-cmd');

const data = join(dir, 'train.csv');
writeCsv(data, csvRows());

function config(name: string, output: string): string {
  const file = join(dir, name);
  writeFileSync(file, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id, text: [note] }
  - paths: ["${dir}/logs/churn-*.jsonl"]
    model: { name: churn }
output:
${output}
`);
  return file;
}

function sink(): { write(s: string): boolean; text: string; isTTY?: boolean } {
  return { text: '', write(s: string) { this.text += s; return true; } };
}

test('embedded output: saves in the store file, writes --out JSON, prints a summary and the phases', async () => {
  const db = join(dir, 'data', 'driftbeat.duckdb');
  const cfg = config('embedded.yml', `  embedded:\n    path: ${db}`);
  const out = join(dir, 'out', 'fraud-1.4.2.json');
  const stdout = sink();
  const stderr = sink();
  const r = await referenceBuildCommand({ configFile: cfg, model: 'fraud', version: '1.4.2', data, out, stdout, stderr });
  assert.match(stdout.text, /^reference fraud@1\.4\.2: 6 fields \(3 features, 1 text, 2 predictions\) from 60 rows of .*train\.csv \(flat layout\) in \d+\.\d\d s; saved to embedded store .*driftbeat\.duckdb; written to .*fraud-1\.4\.2\.json\n$/);
  // Not a terminal: phase names, one a line, no bar.
  assert.match(stderr.text, /^reference: checking the rows of .*train\.csv\nreference: reading .*train\.csv\nreference: counts\n/);
  assert.ok(!stderr.text.includes('\r'));
  const json = JSON.parse(readFileSync(out, 'utf8')) as ReferenceProfile;
  assert.deepEqual(json, r.profile);
  const store = await EmbeddedReferenceStore.open(db);
  try {
    assert.deepEqual(await store.get('fraud', '1.4.2'), json);
  } finally {
    await store.close();
  }
});

test('elasticsearch output (the real engine): one document per field in the prefixed reference index; --progress draws a bar', async (t) => {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  {
    const cfg = config('es.yml', `  elasticsearch:\n    hosts: ["${engine.url}"]\n    index_prefix: ${prefix}`);
    const stdout = sink();
    const stderr = sink();
    await referenceBuildCommand({ configFile: cfg, model: 'fraud', version: '1.4.2', data, stdout, stderr, progress: true });
    assert.match(stdout.text, new RegExp(`saved to index ${prefix}-reference\\n$`));
    await engine.refresh(prefix);
    const saved = await engine.request('POST', `/${prefix}-reference/_search`, { size: 100, query: { match_all: {} } });
    assert.equal(saved.body.hits.total.value, 6);
    assert.deepEqual(saved.body.hits.hits.map((h: { _source: { model: unknown; version: unknown } }) => [h._source.model, h._source.version]), Array(6).fill(['fraud', '1.4.2']));
    assert.match(stderr.text, /\r\[-{30}\]   0% reading /);
    assert.ok(stderr.text.endsWith('\r\x1b[K'), 'the bar is cleared at the end');
  }
});

test('an unknown model is a config problem (exit 2) naming the models the config has', async () => {
  const cfg = config('embedded2.yml', `  embedded:\n    path: ${join(dir, 'x.duckdb')}`);
  await assert.rejects(referenceBuildCommand({ configFile: cfg, model: 'frod', version: '1', data, stdout: sink(), stderr: sink() }), (e: unknown) =>
    e instanceof ConfigError && e.code === 'ERR_REFERENCE_MODEL' && /"frod".*models: fraud, churn/.test(e.message));
});

test('CLI: `reference build --version V` is the model version, not driftbeat --version', async () => {
  const cfg = config('cli.yml', `  embedded:\n    path: ${join(dir, 'cli.duckdb')}`);
  const out = join(dir, 'cli.json');
  const program = new Command().version('0.0.0-test', '-V, --version').exitOverride();
  const stdout = sink();
  registerReferenceBuild(program, { stdout, stderr: sink() });
  await program.parseAsync(['reference', 'build', '-c', cfg, '--model', 'fraud', '--version', '1.4.2', data, '--out', out, '--no-store', '--prediction-columns', 'score'], { from: 'user' });
  const printed = stdout.text;
  assert.match(printed, /^reference fraud@1\.4\.2: 6 fields \(4 features, 1 text, 1 predictions\)/);
  assert.doesNotMatch(printed, /saved to/);
  const json = JSON.parse(readFileSync(out, 'utf8')) as ReferenceProfile;
  assert.equal(json.version, '1.4.2');
  assert.ok(json.fields.some((f) => f.field === 'features.label'), '--prediction-columns score: label is a feature');
});
