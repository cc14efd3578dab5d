/**
 * issue 11/12: bad timestamps never stop the embedded store. A file with timestamps of every kind
 * among good lines goes through the real CLI (`driftbeat run --once`, its own process, the real
 * DuckDB file): epoch micro- and nanoseconds are stored at the right instant, each bad one is
 * dead-lettered with its reason, the good lines are stored, exit 0. One line passes normalize and
 * is refused by DuckDB itself (a latency no BIGINT holds): the sink dead-letters it alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startAgent } from './support/agent-process.ts';

interface DeadLetter { reason: string; file: string; offset: number; line?: string; doc?: unknown }

const T = Date.UTC(2026, 10, 1, 12, 0, 0); // 2026-11-01T12:00:00Z
const rec = (id: string, timestamp: unknown) => JSON.stringify({ timestamp, request_id: id, features: { amount: 1.5, country: 'DE' }, prediction: { score: 0.25 } });

test('run --once: good lines stored, each bad timestamp dead-lettered with its reason, exit 0', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-badts-'));
  try {
    mkdirSync(join(dir, 'auto'));
    mkdirSync(join(dir, 'ms'));
    mkdirSync(join(dir, 'wide'));
    const auto = [
      rec('good-iso', new Date(T).toISOString()),
      rec('good-s', T / 1000),
      rec('bad-text', 'yesterday'),
      rec('good-ms', T + 1),
      rec('bad-zero', 0),
      rec('good-us', (T + 2) * 1000), // issue 11: read as milliseconds, the year 58889
      rec('bad-future', '2099-01-01T00:00:00Z'),
      rec('good-ns', String((T + 3) * 1_000_000)),
      rec('bad-past', '1999-12-31T23:59:59Z'),
      rec('bad-absent', undefined),
      rec('good-last', new Date(T + 4).toISOString()),
    ];
    writeFileSync(join(dir, 'auto', 'preds.jsonl'), auto.join('\n') + '\n');
    // issue 12: epoch seconds under epoch_ms became 1970-01-21
    writeFileSync(join(dir, 'ms', 'preds.jsonl'), [rec('ms-good', T + 5), rec('ms-seconds', T / 1000), rec('ms-micros', T * 1000)].join('\n') + '\n');
    // A line normalize accepts and DuckDB refuses: a latency of 1e30 ms is no BIGINT of nanoseconds.
    const slow = JSON.parse(rec('wide-huge-latency', new Date(T + 6).toISOString())) as Record<string, unknown>;
    writeFileSync(join(dir, 'wide', 'preds.jsonl'), [rec('wide-good', T + 6), JSON.stringify({ ...slow, latency_ms: 1e30 }), rec('wide-good-2', T + 7)].join('\n') + '\n');
    const db = join(dir, 'db.duckdb');
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - id: auto
    paths: ["${dir}/auto/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id }
  - id: ms
    paths: ["${dir}/ms/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id, timestamp_format: epoch_ms }
  - id: wide
    paths: ["${dir}/wide/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id, latency: latency_ms, timestamp_range: { min: '1990-01-01', max_ahead: 30d } }
output:
  embedded: { path: "${db}" }
path: { data: "${dir}/data" }
http: { enabled: false }
`);
    const agent = startAgent(['run', '--once', '-c', cfg]);
    assert.equal(await agent.exited, 0, agent.output());

    const inst = await DuckDBInstance.create(db);
    const con = await inst.connect();
    await con.run("SET TimeZone = 'UTC'");
    const rows = (await con.runAndReadAll(`SELECT event_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts FROM predictions ORDER BY event_id`)).getRowObjects();
    con.closeSync();
    inst.closeSync();
    const iso = (ms: number) => new Date(ms).toISOString();
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.event_id, r.ts])), {
      'good-iso': iso(T),
      'good-last': iso(T + 4),
      'good-ms': iso(T + 1),
      'good-ns': iso(T + 3),
      'good-s': iso(T),
      'good-us': iso(T + 2),
      'ms-good': iso(T + 5),
      'wide-good': iso(T + 6),
      'wide-good-2': iso(T + 7),
    });

    const dead = readFileSync(join(dir, 'data', 'dead-letter', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);
    const reasonOf = (id: string) => {
      const d = dead.find((x) => (x.line ?? JSON.stringify(x.doc)).includes(`"${id}"`));
      assert.ok(d, `${id} is in the dead letter`);
      return d.reason;
    };
    assert.equal(dead.length, 8, dead.map((d) => d.reason).join('\n'));
    assert.match(reasonOf('bad-text'), /^no usable timestamp: field "timestamp" is "yesterday"/);
    assert.match(reasonOf('bad-zero'), /^timestamp out of range: field "timestamp" is 0 \(read as epoch seconds\) = 1970-01-01T00:00:00.000Z/);
    assert.match(reasonOf('bad-future'), /^timestamp out of range: .*2099-01-01T00:00:00.000Z, outside 2000-01-01T00:00:00.000Z \.\. now \+ 24 h/);
    assert.match(reasonOf('bad-past'), /^timestamp out of range: .*1999-12-31T23:59:59.000Z/);
    assert.match(reasonOf('bad-absent'), /^no usable timestamp: field "timestamp" is absent/);
    assert.match(reasonOf('ms-seconds'), /^timestamp format mismatch: .* which by its magnitude is epoch seconds, not epoch_ms/);
    assert.match(reasonOf('ms-micros'), /^timestamp format mismatch: .* epoch microseconds, not epoch_ms/);
    assert.match(reasonOf('wide-huge-latency'), /^output "embedded" could not store document wide-huge-latency: Conversion Error/);
    for (const d of dead) assert.ok(d.file.startsWith(dir) && typeof d.offset === 'number', JSON.stringify(d));
    // The operator sees them in the log too.
    assert.match(agent.output(), /dead-lettered \(.*auto\/preds\.jsonl at byte \d+\): no usable timestamp/);
    assert.match(agent.output(), /driftbeat stopped: 17 lines read, 9 indexed, 0 duplicates, 8 dead-lettered/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
