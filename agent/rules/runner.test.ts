import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Agent } from '../agent.ts';
import { ConfigSchema } from '../config/schema.ts';
import { openStore, type EmbeddedStore } from '../sinks/embedded/store.ts';
import { EmbeddedSink } from '../sinks/embedded/sink.ts';
import { EmbeddedReferenceStore } from '../reference/store-embedded.ts';
import { buildDataset, PLANS_DIR, START, HOUR } from '../../test/fixtures/plans/dataset.ts';
import { loadRules } from './load.ts';
import { RuleSchema, type Rule } from './schema.ts';
import type { RuleResult } from './result.ts';
import { RuleRunner } from './runner.ts';

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
  agent = { config, logger: pino({ level: 'silent' }), store } as unknown as Agent;
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
});
