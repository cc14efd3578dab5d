import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JoinSchema } from '../config/schema.ts';
import type { PredictionDocument } from '../normalize/document.ts';
import { parseFeedback, type FeedbackContext } from './feedback.ts';
import { buildOutcome } from './outcome.ts';

const ctx: FeedbackContext = { idField: 'request_id', actual: 'actual', tsField: 'timestamp', tsFormat: 'auto', maxLineBytes: 1 << 20, now: () => Date.UTC(2026, 0, 2) };
const meta = { key: 'k', path: '/labels.jsonl', offset: 42 };
const pred = (prediction: PredictionDocument['prediction']): PredictionDocument => ({
  '@timestamp': '2026-01-01T00:00:00.000Z', event: { id: 'r1', ingested: '2026-01-01T00:00:01.000Z' }, model: { name: 'fraud', version: '1.4.2' },
  features: {}, prediction, missing: [], labels: { region: 'eu' }, host: { name: 'h' }, log: { file: { path: '/p' }, offset: 0 },
});

test('feedback lines: id, actual (scalar, object, list of fields), optional timestamp; bad lines say why', () => {
  const ok = parseFeedback('{"request_id":"r1","actual":1,"timestamp":"2026-01-01T06:00:00Z"}', meta, ctx);
  assert.deepEqual(ok.ok && ok.event, { id: 'r1', actual: { value: 1 }, ts: Date.UTC(2026, 0, 1, 6), tsFromRecord: true, key: 'k', path: '/labels.jsonl', offset: 42 });
  const obj = parseFeedback('{"request_id":7,"actual":{"fraud":true,"amount":12.5}}', meta, ctx);
  assert.deepEqual(obj.ok && [obj.event.id, obj.event.actual, obj.event.ts, obj.event.tsFromRecord], ['7', { fraud: true, amount: 12.5 }, Date.UTC(2026, 0, 2), false]);
  const list = parseFeedback('{"request_id":"r","a":1,"b":"x"}', meta, { ...ctx, actual: ['a', 'b'] });
  assert.deepEqual(list.ok && list.event.actual, { a: 1, b: 'x' });
  const bad = (line: string) => { const r = parseFeedback(line, meta, ctx); return r.ok ? '' : r.reason; };
  assert.match(bad('{"actual":1}'), /no prediction id: field "request_id" is absent/);
  assert.match(bad('{"request_id":"r","actual":null}'), /no actual value/);
  assert.match(bad('{"request_id":"r","actual":1,"timestamp":"yesterday"}'), /unusable timestamp in field "timestamp"/);
  assert.match(bad('{"request_id":'), /not valid JSON/);
});

test('an outcome carries the prediction, the label delay and the per-row quality fields', () => {
  const fb = parseFeedback('{"request_id":"r1","actual":1,"timestamp":"2026-01-01T06:00:00Z"}', meta, ctx);
  assert.ok(fb.ok);
  const c = buildOutcome(pred({ label: 0, score: 0.25 }), fb.event, JoinSchema.parse({ score: 'score' }), 0);
  assert.ok(c.ok);
  assert.equal(c.doc['@timestamp'], '2026-01-01T00:00:00.000Z', 'prediction time');
  assert.equal(c.doc.outcome.label_delay_ms, 6 * 3600_000);
  assert.deepEqual(c.doc.labels, { region: 'eu' });
  assert.deepEqual({ ...c.doc.quality, log_loss: undefined }, { task: 'classification', actual_class: '1', predicted_class: '0', correct: 0, actual_positive: 1, predicted_positive: 0, score: 0.25, score_bin: 25, log_loss: undefined });
  // M.log_loss([1], [0.25], labels=[0, 1]) == 1.3862943611198906
  assert.ok(Math.abs(c.doc.quality.log_loss! - 1.3862943611198906) < 1e-15);
  const r = buildOutcome(pred({ value: 12 }), { ...fb.event, actual: { value: 10 } }, JoinSchema.parse({ task: 'regression', prediction: 'value' }), 0);
  assert.ok(r.ok);
  assert.deepEqual([r.doc.quality.error, r.doc.quality.abs_error, r.doc.quality.squared_error, r.doc.quality.abs_pct_error], [2, 2, 4, 0.2]);
  const refused = buildOutcome(pred({ score: 0.3 }), fb.event, JoinSchema.parse({}), 0);
  assert.ok(!refused.ok && /has no prediction\.label/.test(refused.reason));
});
