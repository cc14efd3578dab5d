import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema } from '../config/schema.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { alertsList, alertsSilence, describeSilence, formatAlertList, openStateStore } from './commands.ts';
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
    assert.match(text, /Active silences:\n  fraud-country until/);
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
