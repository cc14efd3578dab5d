import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Agent } from '../agent.ts';
import { ConfigSchema } from '../config/schema.ts';
import { openOutputs } from '../outputs.ts';
import { openStore, type EmbeddedStore } from '../sinks/embedded/store.ts';
import { EmbeddedSink } from '../sinks/embedded/sink.ts';
import { EmbeddedReferenceStore } from '../reference/store-embedded.ts';
import { buildDataset, PLANS_DIR, START, HOUR } from '../../test/fixtures/plans/dataset.ts';
import { loadRules } from './load.ts';
import { RuleSchema, type Rule } from './schema.ts';
import type { RuleResult } from './result.ts';
import { RuleRunner } from './runner.ts';
import { rulesTestCommand } from './commands.ts';

let dir: string;
let store: EmbeddedStore;
let agent: Agent;
let rules: Rule[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'driftbeat-runner-'));
  const data = await buildDataset(dir);
  const path = join(dir, 'db.duckdb');
  store = await openStore(path);
  await new EmbeddedReferenceStore(store).save(data.profile);
  const sink = new EmbeddedSink({ store });
  await sink.send({ events: data.events, bytes: 0 });
  await sink.stop();
  const config = ConfigSchema.parse({ output: { embedded: { path } } });
  agent = { config, logger: pino({ level: 'silent' }), outputs: openOutputs(config, { store }) } as unknown as Agent;
  rules = loadRules([join(PLANS_DIR, 'unseen.yml'), join(PLANS_DIR, 'volume-offset.yml')]);
});

after(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('RuleRunner', () => {
  it('stop is safe without start and twice', async () => {
    const r = new RuleRunner({ rules });
    await r.stop();
    await r.stop();
  });

  it('evaluates the latest window at start, stores results, and catches up missed windows after a restart', async () => {
    let now = new Date(START + 2 * HOUR + 60_000);
    const seen: RuleResult[][] = [];
    const first = new RuleRunner({ rules, now: () => now });
    first.onResults((results) => void seen.push(results));
    await first.start(agent);
    await first.whenIdle();
    await first.stop();
    assert.equal(seen.length, 1);
    const unseen = seen[0]!.filter((r) => r.rule === 'p-unseen');
    assert.deepEqual(unseen.map((r) => r.window), [{ from: new Date(START + HOUR).toISOString(), to: new Date(START + 2 * HOUR).toISOString() }, { from: new Date(START + HOUR).toISOString(), to: new Date(START + 2 * HOUR).toISOString() }, { from: new Date(START + HOUR).toISOString(), to: new Date(START + 2 * HOUR).toISOString() }]);
    assert.ok(unseen.some((r) => r.field === 'features.merchant' && r.drifted));
    const stored = await store.all<{ n: number }>(`SELECT count(*) AS n FROM results WHERE rule = 'p-unseen'`);
    assert.equal(stored[0]!.n, 3);

    // Same clock: nothing new is due. Two hours later: the two missed windows, oldest first.
    const again: RuleResult[][] = [];
    const second = new RuleRunner({ rules, now: () => now });
    second.onResults((results) => void again.push(results));
    await second.start(agent);
    await second.whenIdle();
    assert.equal(again.length, 0);
    await second.stop();
    now = new Date(START + 4 * HOUR + 60_000);
    const third = new RuleRunner({ rules, now: () => now });
    third.onResults((results) => void again.push(results));
    await third.start(agent);
    await third.whenIdle();
    await third.stop();
    const windows = [...new Set(again.flat().filter((r) => r.rule === 'p-volume').map((r) => r.window.to))];
    assert.deepEqual(windows, [new Date(START + 3 * HOUR).toISOString(), new Date(START + 4 * HOUR).toISOString()]);
  });
});

describe('RuleRunner on schedule', () => {
  it('fires on schedule (UTC, aligned windows) and a failing listener does not stop the runner', async () => {
    const everySecond = { ...RuleSchema.parse({ type: 'volume', model: 'fraud', window: '1s', schedule: '* * * * * *', delay: '0s', min_count: 1 }), name: 'tick', source: { file: 't.yml', line: 1, col: 1 } } as Rule;
    const ticks: RuleResult[][] = [];
    const r = new RuleRunner({ rules: [everySecond], maxCatchupWindows: 0 });
    r.onResults(() => {
      throw new Error('listener failure');
    });
    r.onResults((results) => void ticks.push(results));
    await r.start(agent);
    const deadline = Date.now() + 5000;
    while (ticks.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    await r.stop();
    assert.ok(ticks.length >= 2, `ticks: ${ticks.length}`);
    for (const t of ticks) {
      const w = t[0]!.window;
      assert.equal(Date.parse(w.to) - Date.parse(w.from), 1000);
      assert.equal(Date.parse(w.to) % 1000, 0, 'aligned to the schedule');
      assert.equal(t[0]!.status, 'drifted', 'no documents now: below min_count');
    }
  });

  it('the default delay: 1m waits after the window, never moves it; rules test --from/--to gives the agent\'s numbers', async () => {
    // The plan fixture without its `delay: 0s`: the default 1m applies.
    const file = join(dir, 'unseen-default-delay.yml');
    writeFileSync(file, readFileSync(join(PLANS_DIR, 'unseen.yml'), 'utf8').replace(/^delay: .*$/m, '').replace('name: p-unseen', 'name: p-unseen-delay'));
    const rule = loadRules([file]);
    assert.equal(rule[0]!.delay, 60_000);
    const seen: RuleResult[] = [];
    const runner = new RuleRunner({ rules: rule, now: () => new Date(START + 2 * HOUR + 60_000) });
    runner.onResults((results) => void seen.push(...results));
    await runner.start(agent);
    await runner.whenIdle();
    await runner.stop();
    const window = { from: new Date(START + HOUR).toISOString(), to: new Date(START + 2 * HOUR).toISOString() };
    assert.deepEqual([...new Set(seen.map((r) => JSON.stringify(r.window)))], [JSON.stringify(window)]);
    const configFile = join(dir, 'cfg.yml');
    writeFileSync(configFile, `output:\n  embedded:\n    path: ${agent.config.output.embedded!.path}\n`);
    await store.close();
    try {
      const out = await rulesTestCommand({ ruleFile: file, configFile, from: window.from, to: window.to, json: true });
      assert.equal(out.exitCode, 0, out.text);
      const printed = (JSON.parse(out.text) as { results: { field: string; value: number }[] }).results;
      assert.deepEqual(printed.map((r) => [r.field, r.value]), seen.map((r) => [r.field, r.value]));
    } finally {
      store = await openStore(agent.config.output.embedded!.path);
    }
  });
});
