import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../sinks/embedded/store.ts';
import { EmbeddedSink } from '../sinks/embedded/sink.ts';
import { EmbeddedReferenceStore } from '../reference/store-embedded.ts';
import { buildDataset, PLANS_DIR, START, HOUR, WINDOW } from '../../test/fixtures/plans/dataset.ts';
import { cliArgs } from '../../test/support/agent-process.ts';
import { rulesExplainCommand, rulesTestCommand } from './commands.ts';

let dir: string;
let db: string;
let configFile: string;
const unseen = join(PLANS_DIR, 'unseen.yml');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'driftbeat-rules-cmd-'));
  const data = await buildDataset(dir);
  db = join(dir, 'db.duckdb');
  const store = await openStore(db);
  await new EmbeddedReferenceStore(store).save(data.profile);
  const sink = new EmbeddedSink({ store });
  await sink.send({ events: data.events, bytes: 0 });
  await sink.stop();
  await store.close();
  configFile = join(dir, 'driftbeat.yml');
  writeFileSync(configFile, `output:\n  embedded:\n    path: ${db}\n`);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('driftbeat rules test', () => {
  it('--json prints one object with the verdicts and what to act on', async () => {
    const out = await rulesTestCommand({ ruleFile: unseen, configFile, from: WINDOW.from, to: WINDOW.to, json: true });
    assert.equal(out.exitCode, 0, out.text);
    const j = JSON.parse(out.text) as { rule: string; type: string; window: unknown; status: string; results: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(j), ['rule', 'type', 'window', 'status', 'results']);
    assert.equal(j.rule, 'p-unseen');
    assert.equal(j.type, 'unseen_categories');
    assert.deepEqual(j.window, WINDOW);
    assert.equal(j.status, 'drifted');
    const merchant = j.results.find((r) => r.field === 'features.merchant')!;
    for (const k of ['field', 'segment', 'statistic', 'value', 'threshold', 'drifted', 'reference_count', 'current_count', 'details']) assert.ok(k in merchant, k);
    assert.equal(merchant.drifted, true);
    const values = (merchant.details as { unseen_values: { value: string; count: number }[] }).unseen_values;
    assert.equal(values[0]!.value, 'crypto');
    assert.ok(values[0]!.count > 0);
    assert.equal(j.results.find((r) => r.field === 'features.country')!.drifted, false);
  });

  it('prints a readable verdict per field; the default window is the last scheduled one', async () => {
    const out = await rulesTestCommand({ ruleFile: unseen, configFile, now: new Date(START + 2 * HOUR + 5000) });
    assert.equal(out.exitCode, 0, out.text);
    assert.match(out.text, new RegExp(`window \\[${WINDOW.from.replace(/\./g, '\\.')}, ${WINDOW.to.replace(/\./g, '\\.')}\\): DRIFTED`));
    assert.match(out.text, /DRIFTED {2}features\.merchant: unseen_share = 0\.\d+ \(threshold > 0\.05;/);
    assert.match(out.text, /unseen: crypto \(\d+\)/);
    assert.match(out.text, /ok {7}features\.country/);
  });

  it('a result in error still goes to stdout (rules test --json | jq), as status: error, and the exit code is 1', () => {
    const rule = join(dir, 'half-bad.yml');
    writeFileSync(rule, 'type: unseen_categories\nname: half-bad\nmodel: fraud\nfields: [merchant, no_such_field]\nwindow: 1h\nschedule: "0 * * * *"\ndelay: 0s\nmin_samples: 10\n');
    const r = spawnSync(process.execPath, cliArgs(['rules', 'test', rule, '-c', configFile, '--from', WINDOW.from, '--to', WINDOW.to, '--json']), { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, '');
    const j = JSON.parse(r.stdout) as { status: string; results: { field: string; status: string; error?: string }[] };
    assert.equal(j.status, 'error');
    assert.equal(j.results.find((x) => x.field === 'features.merchant')!.status, 'drifted');
    const bad = j.results.find((x) => x.field === 'features.no_such_field')!;
    assert.equal(bad.status, 'error');
    assert.match(bad.error!, /no_such_field/);
  });

  it('chisquare on a numeric field says what is wrong, not that the reference has no values', async () => {
    const rule = join(dir, 'chi-num.yml');
    writeFileSync(rule, 'type: distribution_shift\nname: chi-num\nmodel: fraud\nfields: [amount]\nmethod: chisquare\nwindow: 1h\nschedule: "0 * * * *"\ndelay: 0s\nmin_samples: 10\n');
    const out = await rulesTestCommand({ ruleFile: rule, configFile, from: WINDOW.from, to: WINDOW.to });
    assert.equal(out.exitCode, 1);
    assert.match(out.text, /ERROR {4}features\.amount: method chisquare compares counts per value, and "features\.amount" is numeric with \d+ distinct values in the profile fraud@1\.4\.2.*use method: ks, wasserstein, psi \(binned\) or auto/);
    assert.doesNotMatch(out.text, /has no values/);
  });
});

describe('driftbeat rules test: refusals', () => {
  it('an invalid rule file exits 2 naming file:line:col', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'type: volume\nmodel: fraud\nwindow: 1h\nschedule: "0 * * * *"\nmin_count: lots\n');
    const out = await rulesTestCommand({ ruleFile: bad, configFile });
    assert.equal(out.exitCode, 2);
    assert.match(out.text, /bad\.yml:5:\d+: rule "bad": min_count: /);
  });

  it('a bad --from exits 2 and says what is expected', async () => {
    const out = await rulesTestCommand({ ruleFile: unseen, configFile, from: 'yesterday' });
    assert.equal(out.exitCode, 2);
    assert.match(out.text, /--from: expected an ISO 8601 time/);
  });

  it('a store held by another process (a running agent) exits 1 and says to stop it', async () => {
    const holder = spawn(process.execPath, ['--input-type=module', '-e',
      `import { DuckDBInstance } from '@duckdb/node-api'; const i = await DuckDBInstance.create(${JSON.stringify(db)}); await i.connect(); console.log('ready'); setTimeout(() => {}, 20000);`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('holder did not start')), 10000);
        holder.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) { clearTimeout(t); resolve(); } });
      });
      const out = await rulesTestCommand({ ruleFile: unseen, configFile, from: WINDOW.from, to: WINDOW.to });
      assert.equal(out.exitCode, 1);
      assert.match(out.text, /is locked by .*stop the running agent/s);
    } finally {
      holder.kill();
      await new Promise((r) => holder.once('exit', r));
    }
  });
});

describe('driftbeat rules explain', () => {
  it('prints the compiled SQL with its parameters, values never inlined', async () => {
    const out = await rulesExplainCommand({ ruleFile: unseen, configFile, from: WINDOW.from, to: WINDOW.to });
    assert.equal(out.exitCode, 0, out.text);
    assert.match(out.text, /# rule p-unseen \(unseen_categories\) on the embedded backend/);
    assert.match(out.text, /unnest\(\$\d+::VARCHAR\[\]\[\]\) AS known\) .*NOT list_contains\(ref\.known, v\.key\) AS unseen/);
    assert.match(out.text, /--   \$1 = "fraud"/);
    assert.doesNotMatch(out.text.split('\n').filter((l) => !l.startsWith('--')).join('\n'), /'fraud'|'grocery'/);
  });

  it('notes the second phase of a binned distribution_shift', async () => {
    const out = await rulesExplainCommand({ ruleFile: join(PLANS_DIR, 'psi-binned.yml'), configFile, from: WINDOW.from, to: WINDOW.to });
    assert.equal(out.exitCode, 0, out.text);
    assert.match(out.text, /# phase 2 .*Sturges bin.*features\.amount, features\.age_days/);
  });
});
