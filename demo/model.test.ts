import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAY_MS, DEMO_CHANGES, HOUR_MS, ModelWriter, activeChanges, logFileName, runModelRealtime } from './model.ts';
import { TRAINING_COLUMNS, writeTrainingCsv } from './training.ts';

const DAY = Date.UTC(2024, 5, 3);

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-demo-model-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Rec { timestamp: string; model_version: string; features: Record<string, unknown>; prediction: { score: number } }
function read(dir: string, version: string, day = DAY): Rec[] {
  return readFileSync(join(dir, logFileName(version, day)), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
}
const hourOf = (r: Rec) => (Date.parse(r.timestamp) - DAY) / HOUR_MS;

test('demo model: the same bytes however the simulated clock is advanced', (t) => {
  const a = tmp(t);
  const b = tmp(t);
  new ModelWriter({ outDir: a, linesPerHour: 300, startMs: DAY }).writeUntil(DAY + DAY_MS);
  const w = new ModelWriter({ outDir: b, linesPerHour: 300, startMs: DAY });
  for (const f of [0.01, 0.3, 0.31, 0.5, 0.77, 1]) w.writeUntil(DAY + f * DAY_MS);
  for (const v of ['1.4.2', '1.5.0']) {
    assert.equal(readFileSync(join(b, logFileName(v, DAY)), 'utf8'), readFileSync(join(a, logFileName(v, DAY)), 'utf8'));
  }
  assert.equal(w.linesWritten, 300 * 24);
  assert.deepEqual(Object.fromEntries(w.linesByVersion), { '1.4.2': 210 * 24, '1.5.0': 90 * 24 });
});

test('demo model: each change happens only in its scheduled hours and versions', (t) => {
  const dir = tmp(t);
  new ModelWriter({ outDir: dir, linesPerHour: 2000, startMs: DAY }).writeUntil(DAY + DAY_MS);
  const v142 = read(dir, '1.4.2');
  const v150 = read(dir, '1.5.0');
  for (const r of [...v142, ...v150]) {
    const h = hourOf(r);
    assert.ok(h >= 0 && h < 24);
    assert.equal(r.features.merchant === 'crypto', r.features.merchant === 'crypto' && h >= 3 && h < 6, `crypto at ${r.timestamp}`);
    assert.equal(r.features.dist_km === null, r.features.dist_km === null && h >= 6 && h < 9, `null dist_km at ${r.timestamp}`);
    const newWord = /refund|chargeback|urgent|bitcoin/i.test(String(r.features.customer_note));
    assert.equal(newWord, newWord && h >= 9 && h < 12, `new word at ${r.timestamp}`);
  }
  const share = (rs: Rec[], from: number, to: number, p: (r: Rec) => boolean) => {
    const w = rs.filter((r) => hourOf(r) >= from && hourOf(r) < to);
    return w.filter(p).length / w.length;
  };
  const mean = (rs: Rec[], from: number, to: number, f: (r: Rec) => number) => {
    const w = rs.filter((r) => hourOf(r) >= from && hourOf(r) < to);
    return w.reduce((s, r) => s + f(r), 0) / w.length;
  };
  assert.ok(share(v142, 3, 6, (r) => r.features.merchant === 'crypto') > 0.1);
  assert.ok(share(v150, 6, 9, (r) => r.features.dist_km === null) > 0.25);
  assert.ok(mean(v142, 12, 15, (r) => r.features.amount as number) > 1.5 * mean(v142, 0, 3, (r) => r.features.amount as number));
  // The score shift is the challenger's alone.
  assert.ok(mean(v150, 15, 18, (r) => r.prediction.score) > 2 * mean(v150, 0, 3, (r) => r.prediction.score));
  assert.ok(mean(v142, 15, 18, (r) => r.prediction.score) < 1.2 * mean(v142, 0, 3, (r) => r.prediction.score));
  assert.deepEqual(activeChanges(DAY + 16 * HOUR_MS, '1.4.2'), []);
  assert.deepEqual(activeChanges(DAY + 16 * HOUR_MS, '1.5.0').map((c) => c.kind), ['score_shift']);
  assert.equal(DEMO_CHANGES.length, 6);
  // Concept drift changes no prediction: only the outcomes (demo/labels.test.ts).
  assert.ok(Math.abs(mean(v142, 18, 21, (r) => r.features.amount as number) / mean(v142, 0, 3, (r) => r.features.amount as number) - 1) < 0.1);
});

test('demo model: a new file per UTC day, and old days pruned', (t) => {
  const dir = tmp(t);
  const w = new ModelWriter({ outDir: dir, linesPerHour: 60, startMs: DAY + 23 * HOUR_MS, keepDays: 1 });
  w.writeUntil(DAY + DAY_MS + HOUR_MS);
  assert.deepEqual(readdirSync(dir).sort(), [logFileName('1.4.2', DAY), logFileName('1.4.2', DAY + DAY_MS), logFileName('1.5.0', DAY), logFileName('1.5.0', DAY + DAY_MS)].sort());
  const first = read(dir, '1.4.2');
  const second = read(dir, '1.4.2', DAY + DAY_MS);
  assert.equal(first.length, 42);
  assert.equal(second.length, 42);
  assert.ok(first.every((r) => hourOf(r) >= 23 && hourOf(r) < 24));
  assert.equal(second[0]!.timestamp, new Date(DAY + DAY_MS).toISOString());
  w.writeUntil(DAY + 3 * DAY_MS + HOUR_MS);
  assert.deepEqual(readdirSync(dir).map((n) => n.slice(-16, -6)).sort(), ['2024-06-05', '2024-06-05', '2024-06-06', '2024-06-06']);
});

test('demo model: --write-only writes with wall-clock timestamps for the given duration', async (t) => {
  const dir = tmp(t);
  const before = Date.now();
  const reports: string[] = [];
  const lines = await runModelRealtime({ outDir: dir, rate: 200, durationMs: 600, tickMs: 50, report: (s) => reports.push(s) });
  const after = Date.now();
  assert.ok(lines >= 60 && lines <= 160, `lines ${lines}`);
  const files = readdirSync(dir);
  assert.ok(files.every((f) => /^predictions-1\.(4\.2|5\.0)-\d{4}-\d{2}-\d{2}\.jsonl$/.test(f)), files.join());
  const recs = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec));
  assert.equal(recs.length, lines);
  assert.deepEqual([...new Set(recs.map((r) => r.model_version))].sort(), ['1.4.2', '1.5.0']);
  for (const r of recs) {
    const ts = Date.parse(r.timestamp);
    assert.ok(ts >= before - 1000 && ts <= after, r.timestamp);
  }
  assert.match(reports[0]!, /writing ~200 predictions\/s/);
});

test('demo training file: a flat CSV with every feature, score and label', (t) => {
  const dir = tmp(t);
  const file = join(dir, 'train.csv');
  assert.equal(writeTrainingCsv(file, 500), 500);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 501);
  assert.equal(lines[0], TRAINING_COLUMNS.join(','));
  assert.ok(lines.slice(1).every((l) => l.split(',').length === TRAINING_COLUMNS.length && !l.includes('crypto')));
});
