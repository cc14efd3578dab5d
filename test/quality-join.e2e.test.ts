/**
 * The join at ingest with the real command on a real DuckDB file: outcomes out of order, duplicated,
 * corrected, early (prediction not stored yet) and orphaned, and the metrics on the joined rows equal
 * scikit-learn's on the fixture rows (test/fixtures/quality/quality.json records each call).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { classification, rocAucFromHistograms, type Label } from '../agent/stats/quality.ts';
import { startAgent } from './support/agent-process.ts';
import { CORRECTED, feedbackLines, NEVER_PREDICTED, predictionLines, QUALITY } from './support/quality-logs.ts';

function config(dir: string, giveUp: string): string {
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/preds.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
  - kind: feedback
    paths: ["${dir}/logs/labels.jsonl"]
    model: { name: fraud }
    fields: { id: request_id, actual: actual }
    join: { prediction: label, actual: value, score: score, positive: 1, give_up_after: ${giveUp} }
output:
  embedded: { path: "${dir}/data/driftbeat.duckdb", flush_interval: 50ms }
path: { data: "${dir}/data" }
http: { enabled: false }
logging: { level: warn }
`);
  return cfg;
}

async function runOnce(cfg: string): Promise<void> {
  const a = startAgent(['run', '--once', '-c', cfg]);
  const code = await a.exited;
  assert.equal(code, 0, a.output());
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

function pendingIds(dir: string): string[] {
  const f = join(dir, 'data', 'feedback', 'fraud-feedback.pending.json');
  if (!existsSync(f)) return [];
  return (JSON.parse(readFileSync(f, 'utf8')) as { entries: { event: { id: string } }[] }).entries.map((e) => e.event.id).sort();
}

test('embedded: early, duplicate, corrected, out-of-order and orphan outcomes; metrics equal scikit-learn', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-join-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const b = QUALITY.binary;
    const late = b.ids.filter((_, i) => i % 40 === 7); // predictions stored only after their outcomes were read
    writeFileSync(join(dir, 'logs', 'preds.jsonl'), predictionLines(b.ids.filter((id) => !late.includes(id))));
    writeFileSync(join(dir, 'logs', 'labels.jsonl'), feedbackLines());
    const cfg = config(dir, '1h');

    await runOnce(cfg);
    let rows = await query<{ n: string }>(dir, 'SELECT count(*)::VARCHAR AS n FROM outcomes');
    assert.equal(Number(rows[0]!.n), b.ids.length - late.length);
    assert.deepEqual(pendingIds(dir), [...late, ...NEVER_PREDICTED].sort(), 'waiting outcomes are persisted');
    // The feedback file's acknowledged offset stops at the first waiting line.
    const reg = JSON.parse(readFileSync(join(dir, 'data', 'registry', 'filestream.json'), 'utf8')) as { entries: { path: string; offset: number }[] };
    const labelsText = readFileSync(join(dir, 'logs', 'labels.jsonl'), 'utf8');
    const acked = reg.entries.find((e) => e.path.endsWith('labels.jsonl'))!.offset;
    const firstWaiting = Math.min(...[...late, ...NEVER_PREDICTED].map((id) => Buffer.byteLength(labelsText.slice(0, labelsText.indexOf(`"request_id":"${id}"`) - 1))));
    assert.equal(acked, firstWaiting);

    // The late predictions arrive: their outcomes join on the next run, nothing else changes.
    appendFileSync(join(dir, 'logs', 'preds.jsonl'), predictionLines(late));
    await runOnce(cfg);
    rows = await query(dir, 'SELECT count(*)::VARCHAR AS n FROM outcomes');
    assert.equal(Number(rows[0]!.n), b.ids.length, 'one outcome per prediction: duplicates and replays replace, never add');
    assert.deepEqual(pendingIds(dir), [...NEVER_PREDICTED].sort());

    // Corrections: the later label time won even though the older label was read after it.
    const fixed = await query<{ event_id: string; actual_class: string }>(dir, `SELECT event_id, actual_class FROM outcomes WHERE event_id IN (${CORRECTED.map((c) => `'${c}'`).join(',')}) ORDER BY 1`);
    assert.deepEqual(fixed.map((r) => r.actual_class), CORRECTED.map((id) => String(b.actual[b.ids.indexOf(id)])));

    // Metrics from the joined rows' per-row fields equal scikit-learn's on the fixture rows.
    const agg = await query<{ acc: number; ll: number }>(dir, 'SELECT avg(correct) AS acc, avg(log_loss) AS ll FROM outcomes');
    assert.ok(Math.abs(agg[0]!.acc - b.expected.accuracy!.value) < 1e-12, b.expected.accuracy!.call);
    assert.ok(Math.abs(agg[0]!.ll - b.expected.log_loss!.value) < 1e-12, b.expected.log_loss!.call);
    const cm = await query<{ a: string; p: string; n: string }>(dir, 'SELECT actual_class AS a, predicted_class AS p, count(*)::VARCHAR AS n FROM outcomes GROUP BY 1, 2');
    const conf = new Map<string, Map<string, number>>();
    for (const r of cm) conf.set(r.a, (conf.get(r.a) ?? new Map()).set(r.p, Number(r.n)));
    const actual: Label[] = [];
    const predicted: Label[] = [];
    for (const [a, row] of conf) for (const [p, n] of row) for (let k = 0; k < n; k++) { actual.push(a); predicted.push(p); }
    const m = classification(actual, predicted);
    assert.deepEqual(m.matrix, b.expected.confusion_matrix!.value, b.expected.confusion_matrix!.call);
    assert.ok(Math.abs(m.weighted.f1 - b.expected.f1_weighted!.value) < 1e-12, b.expected.f1_weighted!.call);
    const bins = await query<{ bin: number; pos: string; neg: string }>(dir, 'SELECT score_bin AS bin, sum(actual_positive)::VARCHAR AS pos, sum(1 - actual_positive)::VARCHAR AS neg FROM outcomes GROUP BY 1');
    const pos = new Array(100).fill(0);
    const neg = new Array(100).fill(0);
    for (const r of bins) { pos[r.bin] = Number(r.pos); neg[r.bin] = Number(r.neg); }
    const auc = rocAucFromHistograms(pos, neg);
    assert.ok(Math.abs(auc.auc - b.expected.roc_auc!.value) <= auc.errorBound, `${b.expected.roc_auc!.call}: ${auc.auc} ± ${auc.errorBound}`);

    // The orphans are given up once give_up_after passes: counted, dead-lettered, and the offset moves to the end.
    await runOnce(config(dir, '1ms'));
    assert.deepEqual(pendingIds(dir), []);
    const dead = readFileSync(join(dir, 'data', 'dead-letter', 'dead-letter.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; doc?: { id: string } });
    assert.deepEqual(dead.filter((d) => /given up/.test(d.reason)).map((d) => d.doc!.id).sort(), [...NEVER_PREDICTED].sort());
    const reg2 = JSON.parse(readFileSync(join(dir, 'data', 'registry', 'filestream.json'), 'utf8')) as { entries: { path: string; offset: number }[] };
    assert.equal(reg2.entries.find((e) => e.path.endsWith('labels.jsonl'))!.offset, Buffer.byteLength(labelsText));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
