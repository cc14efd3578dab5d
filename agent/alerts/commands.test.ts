import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema } from '../config/schema.ts';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { LocalLease } from './lease.ts';
import { alertsList, alertsSilence, alertsUnsilence, checkScope, describeSilence, formatAlertList, openStateStore } from './commands.ts';
import { cliArgs } from '../../test/support/agent-process.ts';
import { AlertManager } from './manager.ts';
import { at, result } from '../../test/support/alert-results.ts';
import { startRecorder } from '../../test/support/http-recorder.ts';

test('silence from the CLI stops messages of a running agent; alerts list shows the firing alert and the silence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-cmd-'));
  const slack = await startRecorder();
  const config = ConfigSchema.parse({
    output: { embedded: { path: join(dir, 'db.duckdb') } },
    path: { data: dir },
    notifiers: { slack: { type: 'slack', webhook_url: `${slack.url}/hook`, retry: { initial_backoff: '10ms' } } },
  });
  const agentState = await openStateStore(config);
  try {
    let clock = at(0);
    const mgr = new AlertManager({ config, store: agentState.store, logger: silentLogger, now: () => clock });
    await mgr.start();
    const rules = [{ name: 'fraud-country', notify: ['slack'] }, { name: 'volume', notify: ['slack'] }];

    // `driftbeat alerts silence fraud-country --for 2h`, from another handle on the same store
    const cli = await openStateStore(config);
    const s = await alertsSilence(cli.store, 'fraud-country', '2h', { now: at(0) });
    assert.equal(s.until, new Date(at(0).getTime() + 2 * 3_600_000).toISOString());
    assert.equal(describeSilence(s, at(0)), `Rule "fraud-country" silenced for 2h, until ${s.until}.`);
    await assert.rejects(alertsSilence(cli.store, 'x', 'soon'), /--for: expected a duration such as 2h or 30m, received "soon"/);

    await mgr.process([result(0, true), result(0, true, { rule: 'volume', field: '*', type: 'volume', statistic: 'count' })], rules);
    clock = at(1);
    await mgr.process([result(1, true), result(1, true, { rule: 'volume', field: '*', type: 'volume', statistic: 'count', value: 301, threshold: { value: 500, direction: 'below', unit: 'count' } })], rules);
    assert.equal(await mgr.drain(3000), true);
    const rules_ = slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);
    assert.equal(rules_.length, 1, 'only the unsilenced rule was sent');
    assert.match(rules_[0]!, /FIRING critical: volume/);

    const rows = await alertsList(cli.store, { now: at(1) });
    assert.deepEqual(rows.map((r) => [r.rule, r.status, r.silencedUntil ?? null]), [['fraud-country', 'firing', s.until], ['volume', 'firing', null]]);
    const text = formatAlertList(rows, await cli.store.loadSilences(), at(1));
    assert.match(text, /^STATUS\s+RULE\s+FIELD/);
    assert.match(text, /firing\s+fraud-country\s+features\.country\s+-\s+\S+\s+unseen_share=0\.125 \(> 0\.05\)/);
    assert.match(text, /firing\s+volume\s+\*\s+-\s+\S+\s+count=301 \(< 500\)/, 'a min_count breach is below its bound');
    assert.match(text, /Active silences:\n  rule "fraud-country" until/);
    assert.deepEqual(await alertsList(cli.store, { now: at(1), all: false }).then((r) => r.length), 2);
    await cli.close();
    await mgr.stop();
  } finally {
    await agentState.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty list says so', () => {
  assert.equal(formatAlertList([]), 'No firing or pending alerts.\n');
});

test('a silence of one field or segment silences only those alerts; unsilence lifts it and the firing message goes out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-cmd-scope-'));
  const slack = await startRecorder();
  const config = ConfigSchema.parse({
    output: { embedded: { path: join(dir, 'db.duckdb') } },
    path: { data: dir },
    notifiers: { slack: { type: 'slack', webhook_url: `${slack.url}/hook`, retry: { initial_backoff: '10ms' } } },
  });
  const opened = await openStateStore(config);
  try {
    let clock = at(0);
    const mgr = new AlertManager({ config, store: opened.store, logger: silentLogger, now: () => clock });
    await mgr.start();
    const rules = [{ name: 'fraud-country', notify: ['slack'] }];
    const scope = checkScope({ rule: 'fraud-country', field: 'country' }, ['fraud-country']);
    assert.deepEqual(scope, { rule: 'fraud-country', field: 'features.country' });
    const s = await alertsSilence(opened.store, scope, '2h', { now: at(0) });
    assert.equal(describeSilence(s, at(0)), `Rule "fraud-country" field features.country silenced for 2h, until ${s.until}.`);
    await alertsSilence(opened.store, checkScope({ rule: 'fraud-country', segment: 'model.version=1.5.0' }, ['fraud-country']), '2h', { now: at(0) });

    await mgr.process([
      result(0, true),
      result(0, true, { field: 'features.channel' }),
      result(0, true, { field: 'features.channel', segment: 'model.version=1.5.0' }),
    ], rules);
    assert.equal(await mgr.drain(3000), true);
    const sent = () => slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);
    assert.equal(sent().length, 1, sent().join('\n'));
    assert.match(sent()[0]!, /FIRING critical: fraud-country on features\.channel \(/);

    const rows = await alertsList(opened.store, { now: at(0) });
    assert.deepEqual(rows.map((r) => [r.field, r.segment, Boolean(r.silencedUntil)]), [['features.channel', '', false], ['features.channel', 'model.version=1.5.0', true], ['features.country', '', true]]);
    const text = formatAlertList(rows, await opened.store.loadSilences(), at(0));
    assert.match(text, /Active silences:\n  rule "fraud-country" segment model\.version=1\.5\.0 until \S+\n  rule "fraud-country" field features\.country until/);

    // Lifting the field's silence: the next window announces the alert that kept firing.
    const ended = await alertsUnsilence(opened.store, { rule: 'fraud-country', field: 'features.country' }, { now: at(1) });
    assert.equal(ended.length, 1);
    assert.equal(describeSilence(ended[0]!, at(1)), 'Silence of rule "fraud-country" field features.country ended.');
    assert.deepEqual(await alertsUnsilence(opened.store, { rule: 'fraud-country', field: 'features.country' }, { now: at(1) }), []);
    clock = at(1);
    await mgr.process([result(1, true)], rules);
    assert.equal(await mgr.drain(3000), true);
    assert.equal(sent().length, 2);
    assert.match(sent()[1]!, /FIRING critical: fraud-country on features\.country \(/);
    await mgr.stop();
  } finally {
    await opened.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alerts silence of an unknown rule exits 2 naming the known rules (real CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-cmd-unknown-'));
  try {
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'vol.yml'), "type: volume\nname: fraud-volume\nmodel: fraud\nwindow: 1h\nschedule: '0 * * * *'\nmin_count: 1\n");
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `output:\n  embedded:\n    path: ${join(dir, 'db.duckdb')}\npath:\n  data: ${dir}\nrules:\n  path: ${join(dir, 'rules')}\n`);
    const bad = spawnSync(process.execPath, cliArgs(['alerts', 'silence', 'no-such-rule', '--for', '2h', '-c', cfg]), { encoding: 'utf8', timeout: 60_000 });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /rule: unknown rule "no-such-rule"; known rules: fraud-volume/);
    const ok = spawnSync(process.execPath, cliArgs(['alerts', 'silence', 'fraud-volume', '--for', '2h', '-c', cfg]), { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^Rule "fraud-volume" silenced for 2h, until /);
    const lift = spawnSync(process.execPath, cliArgs(['alerts', 'unsilence', 'fraud-volume', '-c', cfg]), { encoding: 'utf8', timeout: 60_000 });
    assert.equal(lift.status, 0, lift.stderr);
    assert.equal(lift.stdout, 'Silence of rule "fraud-volume" ended.\n');
    const again = spawnSync(process.execPath, cliArgs(['alerts', 'unsilence', 'fraud-volume', '-c', cfg]), { encoding: 'utf8', timeout: 60_000 });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /No silence of rule "fraud-volume" is in force/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('alerts of a rule that no longer exists recover with reason "rule removed", told to the rule\'s notifiers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-cmd-removed-'));
  const slack = await startRecorder();
  const config = ConfigSchema.parse({
    output: { embedded: { path: join(dir, 'db.duckdb') } },
    path: { data: dir },
    notifiers: { slack: { type: 'slack', webhook_url: `${slack.url}/hook`, retry: { initial_backoff: '10ms' } } },
  });
  const opened = await openStateStore(config);
  try {
    const first = new AlertManager({ config, store: opened.store, logger: silentLogger, now: () => at(0) });
    await first.start();
    await first.process([result(0, true), result(0, true, { rule: 'kept', field: 'features.channel' })], [{ name: 'fraud-country', notify: ['slack'] }, { name: 'kept', notify: ['slack'] }]);
    assert.equal(await first.drain(3000), true);
    await first.stop();

    // A restart without fraud-country in rules.path.
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) as never });
    const lease = new LocalLease();
    const second = new AlertManager({ config, store: opened.store, logger, lease, now: () => at(1) });
    await second.start();
    const report = await second.retireRemoved(['kept']);
    assert.deepEqual(report.transitions.map((t) => [t.rule, t.from, t.to, t.reason]), [['fraud-country', 'firing', 'recovered', 'rule removed']]);
    assert.equal(await second.drain(3000), true);
    const texts = slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);
    assert.equal(texts.length, 3);
    assert.match(texts[2]!, /^RECOVERED \(rule removed\) critical: fraud-country on features\.country/);
    const rows = await alertsList(opened.store, { all: true, now: at(1) });
    assert.deepEqual(rows.map((r) => [r.rule, r.status]), [['kept', 'firing'], ['fraud-country', 'recovered']]);
    assert.equal((await opened.store.history(10))[0]!.alert.reason, 'rule removed');
    // Taking the lease reloads the state; the restore is said once.
    await second.process([], []);
    assert.equal(lines.filter((l) => l.includes('restored 2 firing alert(s)')).length, 1, lines.join(''));
    await second.stop();
  } finally {
    await opened.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
