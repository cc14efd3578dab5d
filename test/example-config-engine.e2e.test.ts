/**
 * The shipped examples on the real engine, as a user runs them: config.example.yml (hosts pointed
 * at the engine, paths at a folder of demo-model logs) and every rule in rules/, through the real
 * CLI: `driftbeat setup`, `reference build` for both versions, `run --once`, `rules test`. Nothing
 * may be refused by the engine and no rule may end in `error`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ModelWriter } from '../demo/model.ts';
import { writeTrainingCsv } from '../demo/training.ts';
import { cliArgs, REPO_ROOT } from './support/agent-process.ts';
import { testEngine } from './support/engine.ts';
import { workspace } from './support/workspace.ts';

const engine = await testEngine();
const dir = workspace('example');

const HOUR = 3_600_000;

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, cliArgs(args), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('config.example.yml and every example rule: setup, reference build, run --once and rules test on the real engine', async (t) => {
  const prefix = engine.prefix(t);
  // The example config, changed only where a machine differs: the engine's URL, a log folder, a data folder, the rules.
  const doc = parseDocument(readFileSync(join(REPO_ROOT, 'config.example.yml'), 'utf8'));
  doc.setIn(['inputs', 0, 'paths'], [join(dir, 'logs', '*.jsonl')]);
  doc.setIn(['output', 'elasticsearch', 'hosts'], [engine.url]);
  doc.setIn(['output', 'elasticsearch', 'index_prefix'], prefix);
  doc.setIn(['path', 'data'], join(dir, 'data'));
  doc.setIn(['http', 'enabled'], false);
  doc.setIn(['rules', 'path'], join(REPO_ROOT, 'rules'));
  // The example rules notify slack-ml, oncall-email and retrain: here they print to the log.
  doc.setIn(['notifiers'], { 'slack-ml': { type: 'log' }, 'oncall-email': { type: 'log' }, retrain: { type: 'log' } });
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, doc.toString());

  // Two days of the demo model's traffic (versions 1.4.2 and 1.5.0), and its training data.
  const start = Date.UTC(2026, 10, 1);
  const writer = new ModelWriter({ outDir: join(dir, 'logs'), linesPerHour: 1500, startMs: start });
  writer.writeUntil(start + 48 * HOUR);
  const training = join(dir, 'train.csv');
  writeTrainingCsv(training, 5000);

  const setup = cli(['setup', '-c', cfg, '--templates']);
  assert.equal(setup.code, 0, setup.out + setup.err);
  assert.doesNotMatch(setup.out, /: failed/);
  for (const version of ['1.4.2', '1.5.0']) {
    const ref = cli(['reference', 'build', '-c', cfg, '--model', 'fraud', '--version', version, '--prediction-columns', 'score,label', training]);
    assert.equal(ref.code, 0, ref.out + ref.err);
  }
  const run = cli(['run', '-c', cfg, '--once']);
  assert.equal(run.code, 0, run.err);
  const stopped = JSON.parse(run.out.trim().split('\n').concat(run.err.trim().split('\n')).filter((l) => l.includes('driftbeat stopped')).at(-1)!) as Record<string, number>;
  assert.equal(stopped['driftbeat.indexed'], writer.linesWritten, 'every line indexed');
  assert.equal(stopped['driftbeat.dead_lettered'], 0, 'nothing refused by the engine');
  const deadLetterDir = join(dir, 'data', 'dead-letter');
  assert.ok(!existsSync(deadLetterDir) || readdirSync(deadLetterDir).every((f) => readFileSync(join(deadLetterDir, f), 'utf8').trim() === ''), 'empty dead letter');
  await engine.refresh(prefix);
  const count = await engine.request('GET', `/${prefix}-predictions-fraud/_count`);
  assert.equal(count.body.count, writer.linesWritten);

  // Every example rule over the second day: results for every field, none in error.
  const rules = readdirSync(join(REPO_ROOT, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => join(REPO_ROOT, 'rules', f));
  const tested = cli(['rules', 'test', join(REPO_ROOT, 'rules'), '-c', cfg, '--from', new Date(start + 24 * HOUR).toISOString(), '--to', new Date(start + 48 * HOUR).toISOString(), '--json']);
  assert.ok(tested.out.trim(), `rules test printed its report on stdout (stderr: ${tested.err.slice(0, 3000)})`);
  const evaluations = JSON.parse(tested.out) as { rule: string; results: { field: string; status: string; error?: string }[] }[];
  assert.equal(evaluations.length, rules.length);
  const errors = evaluations.flatMap((e) => e.results.filter((r) => r.status === 'error').map((r) => `${e.rule} ${r.field}: ${r.error}`));
  assert.deepEqual(errors, []);
  assert.equal(tested.code, 0, tested.err);
  for (const e of evaluations) assert.ok(e.results.length > 0, `${e.rule} has results`);
});
