/**
 * The join on a real DuckDB file survives a SIGKILL in the middle: the outcomes table has no
 * PRIMARY KEY (schema step 2 of agent/quality/store-embedded.ts), so "one row per prediction" rests
 * on the join's own replace (delete the older label, insert where no row is left) and on the ack
 * gate; a restart reads the unacknowledged outcomes again and must end with exactly one row each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startAgent, waitFor } from './support/agent-process.ts';

const T0 = Date.UTC(2026, 4, 1);

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function config(dir: string, port: number): string {
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/preds.jsonl"]
    model: { name: fraud }
    fields: { id: request_id }
  - kind: feedback
    paths: ["${dir}/logs/labels.jsonl"]
    model: { name: fraud }
    fields: { id: request_id, actual: actual }
    join: { prediction: label, score: score, positive: 1, give_up_after: 1h, retry_interval: 300ms }
output:
  embedded: { path: "${dir}/data/driftbeat.duckdb", flush_interval: 50ms }
path: { data: "${dir}/data" }
http: { enabled: true, port: ${port} }
logging: { level: warn }
`);
  return cfg;
}

async function query<T>(dir: string, sql: string): Promise<T[]> {
  const db = await DuckDBInstance.create(join(dir, 'data', 'driftbeat.duckdb'));
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function joinedSoFar(port: number): Promise<number> {
  try {
    const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/driftbeat_outcomes_joined_total\{model="fraud"\} (\d+)/.exec(m)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

test('embedded: SIGKILL of the agent in the middle of joining loses and double-counts nothing', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-join-kill-embedded-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const n = 40_000;
    const ids = Array.from({ length: n }, (_, i) => `k${i}`);
    writeFileSync(join(dir, 'logs', 'preds.jsonl'), ids.map((id, i) => JSON.stringify({ timestamp: new Date(T0 + i).toISOString(), request_id: id, prediction: { label: i % 3 === 0 ? 1 : 0, score: (i % 100) / 100 } })).join('\n') + '\n');
    writeFileSync(join(dir, 'logs', 'labels.jsonl'), '');
    const port = await freePort();
    const cfg = config(dir, port);
    const stored = startAgent(['run', '--once', '-c', cfg]);
    assert.equal(await stored.exited, 0, stored.output());

    writeFileSync(join(dir, 'logs', 'labels.jsonl'), ids.map((id, i) => JSON.stringify({ request_id: id, actual: i % 2, timestamp: new Date(T0 + i + 60_000).toISOString() })).join('\n') + '\n');
    const agent = startAgent(['run', '-c', cfg]);
    await waitFor('joining under way', async () => (await joinedSoFar(port)) > 0, 90_000, 10);
    agent.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    const [atKill] = await query<{ n: string }>(dir, 'SELECT count(*)::VARCHAR AS n FROM outcomes');
    assert.ok(Number(atKill!.n) < n, `killed in the middle (${atKill!.n} of ${n} joined)`);

    const again = startAgent(['run', '--once', '-c', cfg]);
    assert.equal(await again.exited, 0, again.output());
    const [rows] = await query<{ n: string; ids: string; correct: string; positive: string }>(dir,
      'SELECT count(*)::VARCHAR AS n, count(DISTINCT event_id)::VARCHAR AS ids, sum(correct)::VARCHAR AS correct, sum(actual_positive)::VARCHAR AS positive FROM outcomes');
    assert.equal(rows!.n, String(n), 'one outcome per prediction, none lost');
    assert.equal(rows!.ids, String(n), 'no prediction counted twice');
    assert.equal(rows!.correct, String(ids.filter((_, i) => (i % 3 === 0 ? 1 : 0) === i % 2).length));
    assert.equal(rows!.positive, String(n / 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
