/**
 * The outcome document: one per labelled prediction, in `<prefix>-outcomes-<model>` and in the
 * embedded store's `outcomes` table. Pure.
 *
 * It carries the prediction (its @timestamp, model, version, segments and prediction fields), the
 * actual value(s), the label time and delay, and per-row fields that turn every quality metric into
 * a plain aggregation on both backends (agent/stats/quality.ts has the definitions):
 *
 *   classification: quality.actual_class, quality.predicted_class (keywords: terms x terms gives
 *     the confusion matrix, hence per-class P/R/F1), quality.correct (0/1: avg = accuracy),
 *     the positive class's indicators quality.actual_positive, quality.predicted_positive, and,
 *     with a score, quality.score, quality.score_bin (0..AUC_BINS-1: ROC AUC from histograms) and
 *     quality.log_loss (avg = log loss).
 *   regression: quality.actual_value, quality.predicted_value, quality.error (prediction - actual),
 *     quality.abs_error, quality.squared_error, quality.abs_pct_error, quality.actual_squared
 *     (sums give MAE, RMSE, MAPE, mean error and R²).
 *
 * `_id` is the prediction's event.id: a second outcome for the same prediction replaces the first.
 */
import type { JoinConfig } from '../config/schema.ts';
import type { FeatureValue, PredictionDocument } from '../normalize/document.ts';
import { regressionRow, rowLogLoss, scoreBin } from '../stats/quality.ts';
import type { FeedbackEvent } from './feedback.ts';

/** Equal-width score bins over [0, 1] for ROC AUC; scores outside are clamped into the end bins. */
export const AUC_BINS = 100;

export interface QualityFields {
  task: 'classification' | 'regression';
  actual_class?: string;
  predicted_class?: string;
  correct?: 0 | 1;
  actual_positive?: 0 | 1;
  predicted_positive?: 0 | 1;
  score?: number;
  score_bin?: number;
  log_loss?: number;
  actual_value?: number;
  predicted_value?: number;
  error?: number;
  abs_error?: number;
  squared_error?: number;
  abs_pct_error?: number;
  actual_squared?: number;
}

export interface OutcomeDocument {
  '@timestamp': string;
  event: { id: string; ingested: string };
  model: { name: string; version?: string };
  labels?: Record<string, string>;
  host?: { name: string };
  prediction: Record<string, FeatureValue>;
  actual: Record<string, FeatureValue>;
  outcome: { '@timestamp': string; label_delay_ms: number; timestamp_from_record: boolean };
  quality: QualityFields;
}

export type OutcomeResult = { ok: true; doc: OutcomeDocument } | { ok: false; reason: string; code: string };

/** Index of a model's outcomes (same sanitising as the predictions stream). */
export function outcomesIndex(prefix: string, model: string): string {
  return `${prefix}-outcomes-${model.toLowerCase().replace(/[^a-z0-9_.-]/g, '_')}`;
}

const asClass = (v: FeatureValue): string => String(v);

type Refusal = { ok: false; reason: string; code: string };

function classification(pred: PredictionDocument, fb: FeedbackEvent, j: JoinConfig): Refusal | QualityFields {
  const p = pred.prediction[j.prediction];
  const a = fb.actual[j.actual];
  if (p === undefined) return { ok: false, code: 'ERR_OUTCOME_NO_PREDICTION_FIELD', reason: `prediction ${pred.event.id} has no prediction.${j.prediction} (join.prediction) to compare` };
  if (a === undefined) return { ok: false, code: 'ERR_OUTCOME_NO_ACTUAL_FIELD', reason: `outcome for ${fb.id} has no actual.${j.actual} (join.actual); it has ${Object.keys(fb.actual).join(', ')}` };
  const q: QualityFields = {
    task: 'classification',
    actual_class: asClass(a),
    predicted_class: asClass(p),
    correct: asClass(a) === asClass(p) ? 1 : 0,
    actual_positive: asClass(a) === j.positive ? 1 : 0,
    predicted_positive: asClass(p) === j.positive ? 1 : 0,
  };
  if (j.score !== undefined) {
    const s = pred.prediction[j.score];
    if (typeof s === 'number') {
      q.score = s;
      q.score_bin = scoreBin(s, AUC_BINS);
      q.log_loss = rowLogLoss(q.actual_positive === 1 ? s : 1 - s);
    }
  }
  return q;
}

function regression(pred: PredictionDocument, fb: FeedbackEvent, j: JoinConfig): Refusal | QualityFields {
  const p = pred.prediction[j.prediction];
  const a = fb.actual[j.actual];
  if (typeof p !== 'number') return { ok: false, code: 'ERR_OUTCOME_NO_PREDICTION_FIELD', reason: `prediction ${pred.event.id} has no numeric prediction.${j.prediction} (join.prediction), received ${JSON.stringify(p)}` };
  if (typeof a !== 'number') return { ok: false, code: 'ERR_OUTCOME_NO_ACTUAL_FIELD', reason: `outcome for ${fb.id} has no numeric actual.${j.actual} (join.actual), received ${JSON.stringify(a)}` };
  const r = regressionRow(a, p);
  return {
    task: 'regression',
    actual_value: a,
    predicted_value: p,
    error: r.error,
    abs_error: r.absError,
    squared_error: r.squaredError,
    abs_pct_error: r.absPctError,
    actual_squared: a * a,
  };
}

/** Joins one outcome with its stored prediction. */
export function buildOutcome(pred: PredictionDocument, fb: FeedbackEvent, j: JoinConfig, now = Date.now()): OutcomeResult {
  const q = j.task === 'regression' ? regression(pred, fb, j) : classification(pred, fb, j);
  if ('ok' in q) return q;
  const predictedAt = Date.parse(pred['@timestamp']);
  const doc: OutcomeDocument = {
    '@timestamp': pred['@timestamp'],
    event: { id: pred.event.id, ingested: new Date(now).toISOString() },
    model: pred.model.version === undefined ? { name: pred.model.name } : { name: pred.model.name, version: pred.model.version },
    ...(pred.labels ? { labels: pred.labels } : {}),
    ...(pred.host ? { host: pred.host } : {}),
    prediction: pred.prediction,
    actual: fb.actual,
    outcome: { '@timestamp': new Date(fb.ts).toISOString(), label_delay_ms: fb.ts - predictedAt, timestamp_from_record: fb.tsFromRecord },
    quality: q,
  };
  return { ok: true, doc };
}
