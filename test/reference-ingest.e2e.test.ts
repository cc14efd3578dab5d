/**
 * The reference vocabulary reaches ingest: after `driftbeat reference build`, the agent counts
 * out-of-vocabulary words in text fields (text.<name>.oov_count / oov_tokens), and the clean part
 * of the log has none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeLines } from '../demo/generate.ts';
import { startAgent } from './support/agent-process.ts';

test('reference build, then ingest fills OOV counts from the training vocabulary', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-ref-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const db = join(dir, 'db.duckdb');
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id, text: [customer_note] }
output:
  embedded: { path: "${db}" }
path: { data: "${dir}/data" }
http: { enabled: false }
`);
    // Training data: the clean generator, same layout as the logs.
    writeLines(join(dir, 'train.jsonl'), 5000, { seed: 1, modelVersion: '1.4.2' });
    const build = startAgent(['reference', 'build', '-c', cfg, '--model', 'fraud', '--version', '1.4.2', join(dir, 'train.jsonl')]);
    assert.equal(await build.exited, 0, build.output());
    // Logs: clean for the first 2000 lines, then new words in 40% of the notes.
    writeLines(join(dir, 'logs', 'preds.jsonl'), 4000, {
      seed: 2, modelVersion: '1.4.2', drift: [{ from: 2000, newWords: { words: ['bitcoin', 'urgent'], share: 0.4 } }],
    });
    const run = startAgent(['run', '-c', cfg, '--once']);
    assert.equal(await run.exited, 0, run.output());

    const inst = await DuckDBInstance.create(db);
    const con = await inst.connect();
    const q = async (sql: string) => (await con.runAndReadAll(sql)).getRowObjectsJson();
    // The generator spaces lines 10 ms apart from 2024-01-01: the first 2000 lines are the first 20 s.
    const rows = await q(`SELECT ts < TIMESTAMPTZ '2024-01-01 00:00:20+00' AS clean,
        sum(oov_count)::INTEGER AS oov, count(*)::INTEGER AS n
      FROM prediction_text GROUP BY 1 ORDER BY 1`);
    con.closeSync();
    inst.closeSync();
    const clean = rows.find((r) => r.clean === true)!;
    const drifted = rows.find((r) => r.clean === false)!;
    assert.equal(clean.oov, 0, 'no OOV words where the notes use the training vocabulary');
    assert.ok(Number(drifted.oov) > 300, `new words counted as OOV after the change (got ${drifted.oov})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
