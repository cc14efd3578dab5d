/**
 * Bad data never stops the agent: broken lines (invalid JSON, binary garbage, a huge line,
 * no timestamp, wrong types, not an object) are counted and dead-lettered with file, offset
 * and reason, and the good lines around them are delivered. Also checks /metrics and /healthz
 * of a running agent. On the real engine: a line the engine's mapping refuses is dead-lettered
 * with the engine's own reason, and the run goes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { predictionLine, startAgent, waitFor } from './support/agent-process.ts';
import { testEngine } from './support/engine.ts';

interface DeadLetter { reason: string; file: string; offset: number; line: string }

test('broken lines are dead-lettered with reasons; good lines around them are delivered; metrics count them', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-bad-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const log = join(dir, 'logs', 'preds.jsonl');
    copyFileSync('test/fixtures/bad-lines.jsonl', log);
    // A 2 MB line: over max_line_bytes (1 MiB), never buffered whole.
    const hugeOffset = readFileSync(log).length;
    appendFileSync(log, `{"timestamp":"2024-05-01T13:00:00Z","request_id":"huge","features":{"blob":"${'x'.repeat(2_000_000)}"}}\n`);
    appendFileSync(log, '{"timestamp":"2024-05-01T13:00:01Z","request_id":"after-huge","features":{"amount":1.5,"country":"DE"},"prediction":{"score":0.9}}\n');
    const db = join(dir, 'db.duckdb');
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id }
output:
  embedded: { path: "${db}", flush_interval: 100ms }
path: { data: "${dir}/data" }
http: { host: 127.0.0.1, port: 0 }
`);
    const agent = startAgent(['run', '-c', cfg]);
    let metricsUrl = '';
    await waitFor('the metrics URL in the log', () => {
      const m = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(agent.output());
      if (m) metricsUrl = m[1]!;
      return Boolean(m);
    }, 30_000);
    let metrics = '';
    await waitFor('every line read and settled', async () => {
      metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
      return /driftbeat_queue_bytes 0\b/.test(metrics) && /driftbeat_lines_read_total\{input="fraud"\} [1-9]/.test(metrics);
    }, 60_000, 200);
    const health = await fetch(`${metricsUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());

    // Every bad line is in the dead letter, with its file, offset and reason.
    const dead = readFileSync(join(dir, 'data', 'dead-letter', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);
    for (const d of dead) {
      assert.equal(d.file, log);
      assert.equal(typeof d.offset, 'number');
      assert.ok(d.reason.length > 0);
    }
    const reasons = dead.map((d) => d.reason).join('\n');
    assert.match(reasons, /not valid JSON/);
    assert.match(reasons, /timestamp/);
    assert.match(reasons, /not a JSON object|object/);
    const huge = dead.find((d) => d.offset === hugeOffset);
    assert.ok(huge, 'the huge line is dead-lettered at its offset');
    assert.match(huge.reason, /max_line_bytes/);
    assert.equal(Buffer.byteLength(huge.line), 16 * 1024, 'the dead letter keeps the first 16 KiB of a huge line (README)');
    // Counted in /metrics, by reason code.
    const deadCount = [...metrics.matchAll(/driftbeat_dead_letters_total\{reason="[^"]+"\} (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    assert.equal(deadCount, dead.length);

    // The good lines, including those right after broken ones, are delivered.
    const inst = await DuckDBInstance.create(db);
    const con = await inst.connect();
    const ids = (await con.runAndReadAll('SELECT event_id FROM predictions ORDER BY event_id')).getRowObjects().map((r) => r.event_id);
    con.closeSync();
    inst.closeSync();
    for (const id of ['r1', 'r3', 'r13', 'after-huge']) assert.ok(ids.includes(id), `${id} delivered (got ${ids.join(',')})`);
    assert.ok(!ids.includes('huge'));
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l.length > 0).length;
    assert.equal(ids.length + dead.length, lines, 'every non-empty line is either delivered or dead-lettered');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real engine: a line the mapping refuses is dead-lettered with the engine\'s reason; the others are delivered, exit 0', { timeout: 120_000 }, async (t) => {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-bad-engine-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id }
output:
  elasticsearch: { hosts: ["${engine.url}"], index_prefix: ${prefix} }
path: { data: "${dir}/data" }
http: { enabled: false }
`);
    const setup = startAgent(['setup', '-c', cfg, '--templates']);
    assert.equal(await setup.exited, 0, setup.output());
    // A first run maps features.amount as a number.
    writeFileSync(join(dir, 'logs', 'a.jsonl'), [0, 1, 2].map((i) => predictionLine(i)).join('\n') + '\n');
    const first = startAgent(['run', '-c', cfg, '--once']);
    assert.equal(await first.exited, 0, first.output());
    // The next run's type memory starts empty: its first line says amount is text, the engine refuses it.
    const bad = JSON.parse(predictionLine(3)) as { features: Record<string, unknown> };
    bad.features['amount'] = 'twelve';
    writeFileSync(join(dir, 'logs', 'b.jsonl'), [JSON.stringify(bad), ...[4, 5, 6].map((i) => predictionLine(i))].join('\n') + '\n');
    const second = startAgent(['run', '-c', cfg, '--once']);
    assert.equal(await second.exited, 0, second.output());

    const dead = readFileSync(join(dir, 'data', 'dead-letter', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.reason, /^mapper_parsing_exception: failed to parse field \[features\.amount\]/);
    assert.equal(dead[0]!.file, join(dir, 'logs', 'b.jsonl'));
    assert.equal(dead[0]!.offset, 0);
    await engine.refresh(prefix);
    const ids = await engine.request('POST', `/${prefix}-predictions-fraud/_search`, { size: 100, _source: ['event.id'] });
    assert.deepEqual(ids.body.hits.hits.map((h: { _source: { event: { id: string } } }) => h._source.event.id).sort(), ['req-0', 'req-1', 'req-2', 'req-4', 'req-5', 'req-6']);
    const copy = await engine.request('POST', `/${prefix}-deadletter/_search`, {});
    assert.equal(copy.body.hits.hits[0]._source.event.id, 'req-3', 'a copy in the dead-letter index, for Kibana');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
