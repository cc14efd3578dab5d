/**
 * The document shape (DESIGN.md section 2): one per prediction record, identical in
 * Elasticsearch and in the embedded store. Changing it means changing the index template
 * (agent/assets), the embedded schema and the rule backends together.
 */
export type FeatureValue = number | string | boolean;
/** A feature's value: one, or a list of them (a multi-valued feature, as an Elasticsearch array). */
export type FeatureValues = FeatureValue | FeatureValue[];

export interface TextStats {
  /** The raw text, indexed as `text` in Elasticsearch (never an aggregatable keyword). */
  content: string;
  token_count: number;
  /** Present once a reference vocabulary exists for this model + version. */
  oov_count?: number;
  /** Distinct OOV tokens, capped (MAX_OOV_TOKENS). */
  oov_tokens?: string[];
}

export interface PredictionDocument {
  '@timestamp': string;
  event: {
    id: string;
    ingested: string;
    /** Inference latency in nanoseconds (ECS event.duration), when fields.latency is set. */
    duration?: number;
  };
  model: { name: string; version?: string };
  /** Flattened (dotted keys) non-missing features, lists as arrays; text features live under `text`. */
  features: Record<string, FeatureValues>;
  /** Flattened predictions; a scalar prediction is `prediction.value`; probabilities `prediction.proba.<class>`. */
  prediction: Record<string, FeatureValue>;
  /** Names (as in features./prediction. without the prefix; predictions as `prediction.<name>`) that are NA here. */
  missing: string[];
  /** Values whose type disagrees with the known type of the feature, kept as strings. */
  features_unparsed?: Record<string, string>;
  /** Features beyond max_features (mapped as `flattened`). */
  features_overflow?: Record<string, FeatureValue>;
  text?: Record<string, TextStats>;
  labels?: Record<string, string>;
  host: { name: string };
  log: { file: { path: string }; offset: number };
}

/** One normalized line: what normalize gives the sinks (agent/sinks/sink.ts re-exports it). */
export interface OutEvent {
  /** Deterministic id: `_id` in Elasticsearch, primary key in DuckDB. Equals doc.event.id. */
  id: string;
  doc: PredictionDocument;
  /** Approximate encoded size, for batch bounds. */
  bytes: number;
}

export const MAX_OOV_TOKENS = 20;

/** Data stream of a model's predictions. */
export function predictionsStream(prefix: string, model: string): string {
  return `${prefix}-predictions-${model.toLowerCase().replace(/[^a-z0-9_.-]/g, '_')}`;
}
