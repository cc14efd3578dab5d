import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rocAuc } from '../agent/stats/quality.ts';
import { LabelWriter, MAX_LABEL_DELAY_MS, MIN_LABEL_DELAY_MS } from './labels.ts';
import { DAY_MS, HOUR_MS, ModelWriter } from './model.ts';

test('demo labels: outcomes arrive 5 min to 2 h later, in arrival order; concept drift 18:00-21:00 breaks the score, nothing else does', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-demo-labels-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const DAY = Date.UTC(2024, 5, 3);
  const labels = new LabelWriter(join(dir, 'labels'));
  const preds = new Map<string, { ts: number; score: number; h: number }>();
  const writer = new ModelWriter({
    outDir: join(dir, 'logs'), linesPerHour: 2000, startMs: DAY,
    onLine: (l) => {
      labels.predicted(l);
      const p = JSON.parse(l) as { request_id: string; timestamp: string; prediction: { score: number } };
      preds.set(p.request_id, { ts: Date.parse(p.timestamp), score: p.prediction.score, h: Math.floor((Date.parse(p.timestamp) - DAY) / HOUR_MS) });
    },
  });
  // Written in steps, as the demo does: what is known by each step's time.
  for (let s = 1; s <= 48; s++) {
    writer.writeUntil(DAY + s * HOUR_MS / 2);
    labels.writeUntil(DAY + s * HOUR_MS / 2);
  }
  labels.writeUntil(DAY + 2 * DAY_MS);
  const rows = readdirSync(join(dir, 'labels')).sort().flatMap((f) => readFileSync(join(dir, 'labels', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { request_id: string; is_fraud: string; labelled_at: string }));
  assert.equal(rows.length, preds.size, 'one outcome per prediction');
  let last = 0;
  const byHour = new Map<number, { a: number[]; s: number[] }>();
  for (const r of rows) {
    const at = Date.parse(r.labelled_at);
    assert.ok(at >= last, 'in the order they become known');
    last = at;
    const p = preds.get(r.request_id)!;
    assert.ok(at - p.ts >= MIN_LABEL_DELAY_MS && at - p.ts <= MAX_LABEL_DELAY_MS);
    const e = byHour.get(p.h) ?? { a: [], s: [] };
    byHour.set(p.h, e);
    e.a.push(r.is_fraud === 'fraud' ? 1 : 0);
    e.s.push(p.score);
  }
  for (const [h, e] of byHour) {
    const auc = rocAuc(e.a, e.s).auc;
    if (h >= 18 && h < 21) assert.ok(auc < 0.55, `hour ${h}: AUC ${auc} under concept drift`);
    else assert.ok(auc > 0.65, `hour ${h}: AUC ${auc}`);
  }
});
