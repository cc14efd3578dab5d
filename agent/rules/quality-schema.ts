/**
 * The keys, types and checks of the `model_quality` rule type (the rule's docs are in quality.ts).
 * Apart from quality.ts because schema.ts builds its union from these at load time and quality.ts
 * imports schema.ts and the planner's types: this file imports only schema-common.ts, so there is no import cycle.
 */
import { z } from 'zod';
import { camel, duration } from '../config/schema.ts';
import { typeKey, type Reference, type RuleCommon } from './schema-common.ts';

/** Equal-width score bins for ROC AUC (agent/quality/outcome.ts writes quality.score_bin with the same count). */
export const QUALITY_SCORE_BINS = 100;

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'precision_macro', 'recall_macro', 'f1_macro', 'precision_weighted', 'recall_weighted', 'f1_weighted', 'roc_auc', 'log_loss'] as const;
export const REGRESSION_METRICS = ['mae', 'mse', 'rmse', 'mape', 'mean_error', 'r2'] as const;
export const QUALITY_METRICS = [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS, 'label_coverage'] as const;
export type QualityMetric = (typeof QUALITY_METRICS)[number];

export interface QualityBounds {
  min?: number;
  max?: number;
  /** Breached when value < reference - maxDrop. */
  maxDrop?: number;
  /** Breached when value > reference + maxIncrease. */
  maxIncrease?: number;
}

export interface ModelQualityRule extends RuleCommon {
  type: 'model_quality';
  task: 'classification' | 'regression';
  /** The positive class of precision, recall, f1 and roc_auc (as the join's `positive`). */
  positive: string;
  metrics: Partial<Record<QualityMetric, QualityBounds>>;
  /** ms; already added to `delay` (the window ends delay + label_delay before it is evaluated). */
  labelDelay: number;
  reference?: Reference;
}

// ---------------------------------------------------------------------------------------------
// schema

/** The keys of model_quality besides the common ones (schema.ts adds those and builds the rule). */
export function modelQualityKeys() {
  const BoundsSchema = camel(z.strictObject({
    min: z.number().optional().describe('Breached when the metric is below this.'),
    max: z.number().optional().describe('Breached when the metric is above this.'),
    max_drop: z.number().min(0).optional().describe('Breached when the metric is more than this below the reference value.'),
    max_increase: z.number().min(0).optional().describe('Breached when the metric is more than this above the reference value.'),
  }));
  return {
    type: typeKey('model_quality'),
    task: z.enum(['classification', 'regression']).default('classification'),
    positive: z.union([z.string(), z.number(), z.boolean()]).transform(String).default('1').describe('The positive class of precision, recall, f1 and roc_auc.'),
    metrics: z.partialRecord(z.enum(QUALITY_METRICS), BoundsSchema).describe('Metrics with their bounds, e.g. { recall: { min: 0.6 }, f1: { max_drop: 0.05 } }.'),
    label_delay: duration('6h').prefault('0s').describe('How long labels take to arrive: windows (on prediction time) end this long (plus delay) before they are evaluated.'),
  };
}

export function checkModelQuality(v: { task: string; metrics: Record<string, { min?: number; max?: number; maxDrop?: number; maxIncrease?: number }>; reference?: Reference; fields?: string[] }, issue: (path: (string | number)[], message: string) => void): void {
  if (v.fields !== undefined) issue(['fields'], 'a model_quality rule reads outcomes, not fields; remove fields (metrics: says what is checked)');
  const names = Object.keys(v.metrics);
  if (!names.length) issue(['metrics'], 'expected at least one metric, e.g. metrics: { accuracy: { min: 0.9 } }, received none');
  const other = v.task === 'classification' ? REGRESSION_METRICS : CLASSIFICATION_METRICS;
  for (const [m, b] of Object.entries(v.metrics)) {
    if ((other as readonly string[]).includes(m)) issue(['metrics', m], `${m} is a ${v.task === 'classification' ? 'regression' : 'classification'} metric; this rule has task: ${v.task}`);
    if (b.min === undefined && b.max === undefined && b.maxDrop === undefined && b.maxIncrease === undefined) issue(['metrics', m], 'expected at least one of min, max, max_drop, max_increase, received none');
    if ((b.maxDrop !== undefined || b.maxIncrease !== undefined) && v.reference === undefined) {
      issue(['metrics', m], 'max_drop/max_increase compare with a reference: set reference: { profile: true } (validation metrics), { offset: 7d } or { segment: { model.version: \'1.4.2\' } }');
    }
  }
}

