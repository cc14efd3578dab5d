/**
 * The ship path's promise, end to end with the real command: every line written is delivered
 * exactly once (by _id), through 429 items, 503 requests, a dead node, resets, a slow node, a hung
 * node hitting the timeout, rename rotation, copytruncate, and a SIGKILL + restart. The search side
 * is the real engine (OpenSearch, after `driftbeat setup`), the faults are injected by the proxy
 * between the agent and the engine (test/support/fault-proxy.ts); the embedded variant uses a
 * real DuckDB file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { testEngine, type TestEngine } from './support/engine.ts';
import { startFaultProxy } from './support/fault-proxy.ts';
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

/** How many documents each event id has in the stream (composite aggregation, exact). */
async function idCounts(engine: TestEngine, index: string): Promise<Map<string, number>> {
  await engine.request('POST', `/${index}/_refresh`);
  const counts = new Map<string, number>();
  let after: unknown;
  for (let page = 0; page < 100; page++) {
    const composite: Record<string, unknown> = { size: 10_000, sources: [{ id: { terms: { field: 'event.id' } } }] };
    if (after) composite['after'] = after;
    const r = await engine.request('POST', `/${index}/_search`, { size: 0, aggs: { ids: { composite } } });
    const agg = r.body.aggregations.ids as { buckets: { key: { id: string }; doc_count: number }[]; after_key?: unknown };
    for (const b of agg.buckets) counts.set(b.key.id, b.doc_count);
    if (agg.buckets.length < 10_000) break;
    after = agg.after_key;
  }
  return counts;
}

test('real engine: nothing lost, nothing duplicated through faults, rotation and SIGKILL', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-ship-'));
  mkdirSync(join(dir, 'logs'));
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  const proxy = await startFaultProxy(engine.url);
  const stream = `${prefix}-predictions-fraud`;
  const count = async (): Promise<number> => {
    await engine.request('POST', `/${stream}/_refresh?ignore_unavailable=true`);
    return (await engine.request('GET', `/${stream}/_count?ignore_unavailable=true`)).body.count ?? 0;
  };
  const isBulk = (_m: string, path: string) => path.startsWith('/_bulk');
  try {
    const cfg = writeConfig(dir, `  elasticsearch:
    hosts: ["${proxy.url}"]
    index_prefix: ${prefix}
    bulk_max_docs: 500
    flush_interval: 100ms
    max_in_flight: 2
    timeout: 2s
    backoff: { initial: 10ms, max: 200ms }`);
    const setup = startAgent(['setup', '-c', cfg, '--templates']);
    assert.equal(await setup.exited, 0, setup.output());
    const log = new LogWriter(join(dir, 'logs', 'preds.jsonl'));

    // (a) 5% of the items answer 429 the first time they are sent, and 503 on some requests, from the start.
    const rejected = new Set<string>();
    proxy.set({ kind: 'items', reject: (item) => {
      const n = Number(item.id!.slice('req-'.length));
      if (n % 20 !== 3 || rejected.has(item.id!)) return undefined;
      rejected.add(item.id!);
      return { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' };
    } });
    proxy.failNext({ kind: 'status', status: 503 }, 5, isBulk);
    log.write(TOTAL_PHASES[0]!);
    let agent = startAgent(['run', '-c', cfg]);
    await waitFor('first lines indexed', async () => (await count()) > 2000, 60_000, 250);

    // (c1) rename rotation while the agent reads; (b) the node dies (connections reset), then resets
    // mid-request, then answers slowly, then hangs once past the 2 s timeout, then recovers.
    log.rotateRename(join(dir, 'logs', 'preds.jsonl.1'));
    proxy.set({ kind: 'refuse' });
    log.write(TOTAL_PHASES[1]!);
    await new Promise((r) => setTimeout(r, 1000));
    proxy.set({ kind: 'reset' });
    await new Promise((r) => setTimeout(r, 500));
    proxy.set({ kind: 'delay', ms: 300 });
    proxy.failNext({ kind: 'hang' }, 1, isBulk);
    await new Promise((r) => setTimeout(r, 1500));
    proxy.set({ kind: 'pass' });
    await waitFor('output back and rotated lines flowing', async () => (await count()) > 9000, 60_000, 250);

    // (d) SIGKILL in the middle of shipping, more lines written while it is dead, then restart.
    log.write(TOTAL_PHASES[2]!, 100);
    agent.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    const beforeRestart = await count();
    agent = startAgent(['run', '-c', cfg]);

    // (c2) copytruncate: copy aside, truncate in place, keep writing to the same path.
    await waitFor('restart catching up', async () => (await count()) > beforeRestart, 60_000, 250);
    log.copyTruncate(join(dir, 'logs', 'preds.jsonl.2'));
    log.write(TOTAL_PHASES[3]!);

    const total = log.next;
    await waitFor(`all ${total} lines indexed`, async () => (await count()) >= total, 120_000, 500);
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());

    const ids = await idCounts(engine, stream);
    assert.deepEqual([...ids.keys()].sort(), expectedIds(total), 'every line delivered');
    assert.deepEqual([...ids.entries()].filter(([, n]) => n !== 1), [], 'no line indexed twice');
    assert.equal(await count(), total);
    // The faults really happened.
    assert.ok((proxy.seen['items.rejected'] ?? 0) > 0, JSON.stringify(proxy.seen));
    assert.ok((proxy.seen.status ?? 0) === 5 && (proxy.seen.refuse ?? 0) + (proxy.seen.reset ?? 0) > 0 && proxy.seen.hang === 1, JSON.stringify(proxy.seen));
    // Documents carry what a user charts on, as setup mapped them.
    const d = await engine.request('POST', `/${stream}/_search`, { query: { ids: { values: ['req-42'] } } });
    assert.equal(d.body.hits.hits[0]._source.model.version, '1.5.0');
  } finally {
    await proxy.close();
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
