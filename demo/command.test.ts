import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { ConfigError } from '../agent/errors.ts';
import { loadConfig } from '../agent/config/load.ts';
import { demoCommand, demoOptionProblems } from './command.ts';
import { registerDemo } from '../agent/cli/demo.ts';
import { DEMO_MARKER, DEMO_RULES_DIR, demoConfigText, prepareDataDir } from './run.ts';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-demo-cmd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('demo command: flag combinations that make no sense are all reported at once', () => {
  assert.deepEqual(demoOptionProblems({}), []);
  assert.deepEqual(demoOptionProblems({ writeOnly: true, out: '/logs' }), []);
  assert.deepEqual(demoOptionProblems({ writeOnly: true, fast: true, duration: 'soon', rate: '0' }).map((p) => p.key), ['--out', '--fast', '--duration', '--rate']);
  assert.deepEqual(demoOptionProblems({ out: 'x', duration: '1m' }).map((p) => p.key), ['--out', '--duration']);
  const p = demoOptionProblems({ writeOnly: true, out: 'x', duration: '10 minutes' });
  assert.equal(p[0]!.message, 'expected a duration such as 10m or 1h, received "10 minutes"');
});

test('demo command: --write-only without --out is invalid input (exit 2), wired through commander', async () => {
  const program = new Command().exitOverride();
  registerDemo(program);
  await assert.rejects(program.parseAsync(['demo', '--write-only'], { from: 'user' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /--out: expected a folder for the log files with --write-only/);
    return true;
  });
});

test('demo command: --write-only --out DIR --duration writes prediction logs and returns 0', async (t) => {
  const dir = tmp(t);
  let text = '';
  const code = await demoCommand({ writeOnly: true, out: join(dir, 'logs'), duration: '400ms', rate: '100' }, { stdout: { write: (s) => ((text += s), true) } });
  assert.equal(code, 0);
  const files = readdirSync(join(dir, 'logs')).filter((f) => f.endsWith('.jsonl'));
  assert.equal(files.length, 2);
  assert.ok(readFileSync(join(dir, 'logs', 'training', 'fraud-train.csv'), 'utf8').startsWith('amount,age_days,'));
  const lines = files.flatMap((f) => readFileSync(join(dir, 'logs', f), 'utf8').trim().split('\n'));
  assert.ok(lines.length >= 20, `${lines.length} lines`);
  assert.match(text, /demo model: stopped after \d+ predictions/);
});

test('demo data folder: an earlier demo folder is emptied; any other non-empty folder is refused', (t) => {
  const dir = tmp(t);
  const mine = join(dir, 'demo-data');
  prepareDataDir(mine);
  writeFileSync(join(mine, 'old.jsonl'), '{}\n');
  prepareDataDir(mine);
  assert.deepEqual(readdirSync(mine), [DEMO_MARKER]);
  const theirs = join(dir, 'precious');
  mkdirSync(theirs);
  writeFileSync(join(theirs, 'thesis.tex'), 'x');
  assert.throws(() => prepareDataDir(theirs), /demo data folder .*precious is not empty and was not made by driftbeat demo; pass another folder with --data DIR/);
  assert.deepEqual(readdirSync(theirs), ['thesis.tex']);
});

test('demo config: valid, absolute paths, the demo rules and a log notifier', (t) => {
  const dir = tmp(t);
  const file = join(dir, 'driftbeat.yml');
  writeFileSync(file, demoConfigText(dir));
  const { config } = loadConfig(file);
  assert.deepEqual(config.inputs[0]!.paths, [join(dir, 'logs', '*.jsonl')]);
  assert.equal(config.output.embedded!.path, join(dir, 'driftbeat.duckdb'));
  assert.equal(config.rules.path, DEMO_RULES_DIR);
  assert.equal(config.notifiers.terminal?.type, 'log');
  assert.deepEqual(config.inputs[0]!.fields.text, ['customer_note']);
});
