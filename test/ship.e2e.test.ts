/**
 * The ship path's promise, end to end with the real command: every line written is delivered
 * exactly once (by _id), through 429 items, 503 requests, an output outage, rename rotation,
 * copytruncate, and a SIGKILL + restart. Elasticsearch is a real HTTP server on 127.0.0.1 that
 * speaks the bulk protocol with create semantics (test/support/es-server.ts); the embedded
 * variant uses a real DuckDB file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startEsServer } from './support/es-server.ts';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

const TOTAL_PHASES = [8000, 8000, 7000, 7000]; // 30,000 lines

function ackedBytes(dir: string): number {
  try {
    const reg = JSON.parse(readFileSync(join(dir, 'data', 'registry', 'filestream.json'), 'utf8')) as { entries: { offset: number }[] };
    return reg.entries.reduce((a, e) => a + e.offset, 0);
  } catch {
    return 0;
  }
}

function expectedIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `req-${i}`).sort();
}

function writeConfig(dir: string, output: string): string {
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/preds.jsonl*"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
    scan_frequency: 200ms
output:
${output}
path: { data: "${dir}/data" }
queue: { max_bytes: 4MiB }
http: { enabled: false }
logging: { level: warn }
`);
  return cfg;
}

test('elasticsearch: nothing lost, nothing duplicated through faults, rotation and SIGKILL', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-ship-'));
  mkdirSync(join(dir, 'logs'));
  const es = await startEsServer({ recordBodies: false, seed: 7 });
  try {
    const cfg = writeConfig(dir, `  elasticsearch:
    hosts: ["${es.url}"]
    bulk_max_docs: 500
    flush_interval: 100ms
    max_in_flight: 2
    backoff: { initial: 10ms, max: 200ms }`);
    const log = new LogWriter(join(dir, 'logs', 'preds.jsonl'));
    const stream = 'driftbeat-predictions-fraud';

    // (a) 429 on some items and 503 on some requests from the start.
    es.faults.rejectItems(0.05);
    es.faults.failNext(5, { status: 503, path: '/_bulk' });
    log.write(TOTAL_PHASES[0]!);
    let agent = startAgent(['run', '-c', cfg]);
    await waitFor('first lines indexed', () => es.count(stream) > 2000, 60_000);

    // (c1) rename rotation while the agent reads; (b) the output goes down for a while.
    log.rotateRename(join(dir, 'logs', 'preds.jsonl.1'));
    es.faults.down(1500);
    log.write(TOTAL_PHASES[1]!);
    await waitFor('output back and rotated lines flowing', () => !es.faults.isDown && es.count(stream) > 9000, 60_000);

    // (d) SIGKILL in the middle of shipping, more lines written while it is dead, then restart.
    log.write(TOTAL_PHASES[2]!, 100);
    agent.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    const beforeRestart = es.count(stream);
    agent = startAgent(['run', '-c', cfg]);

    // (c2) copytruncate: copy aside, truncate in place, keep writing to the same path.
    await waitFor('restart catching up', () => es.count(stream) > beforeRestart, 60_000);
    log.copyTruncate(join(dir, 'logs', 'preds.jsonl.2'));
    log.write(TOTAL_PHASES[3]!);

    const total = log.next;
    await waitFor(`all ${total} lines indexed (have ${es.count(stream)})`, () => es.count(stream) >= total, 120_000, 100);
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());

    const ids = es.allIds(stream).sort();
    assert.equal(ids.length, total, 'every line exactly once');
    assert.deepEqual(ids, expectedIds(total));
    // The faults really happened, and duplicates were answered 409 and counted as delivered.
    assert.ok(es.stats.rejected > 0, 'some items were rejected with 429');
    assert.ok(es.stats.failedRequests > 0, 'some requests failed');
    assert.equal(es.stats.created, total, 'each document was created once');
    // Documents carry what a user charts on.
    const d = es.doc(stream, 'req-42')!;
    assert.equal((d._source as { model: { version: string } }).model.version, '1.5.0');
  } finally {
    await es.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('embedded: nothing lost, nothing duplicated through rotation and SIGKILL + restart', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-ship-emb-'));
  mkdirSync(join(dir, 'logs'));
  const db = join(dir, 'driftbeat.duckdb');
  try {
    const cfg = writeConfig(dir, `  embedded: { path: "${db}", batch_max_docs: 1000, flush_interval: 100ms }`);
    const log = new LogWriter(join(dir, 'logs', 'preds.jsonl'));
    log.write(TOTAL_PHASES[0]!);
    let agent = startAgent(['run', '-c', cfg]);
    // DuckDB is locked by the agent: watch its registry to know it has delivered part of the log.
    await waitFor('first offsets acknowledged', () => ackedBytes(dir) > 0, 60_000);
    log.rotateRename(join(dir, 'logs', 'preds.jsonl.1'));
    log.write(TOTAL_PHASES[1]!);
    await new Promise((r) => setTimeout(r, 300));
    agent.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    log.copyTruncate(join(dir, 'logs', 'preds.jsonl.2'));
    log.write(TOTAL_PHASES[2]!);
    // Restart: --once reads everything to its end, delivers, and exits.
    agent = startAgent(['run', '-c', cfg, '--once']);
    assert.equal(await agent.exited, 0, agent.output());
    const total = log.next;

    const inst = await DuckDBInstance.create(db);
    const con = await inst.connect();
    const rows = (await con.runAndReadAll('SELECT count(*)::INTEGER AS n, count(DISTINCT event_id)::INTEGER AS d FROM predictions')).getRowObjects();
    assert.deepEqual(rows[0], { n: total, d: total });
    const ids = (await con.runAndReadAll('SELECT event_id FROM predictions ORDER BY event_id')).getRowObjects().map((r) => r.event_id as string);
    assert.deepEqual(ids, expectedIds(total));
    con.closeSync();
    inst.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
