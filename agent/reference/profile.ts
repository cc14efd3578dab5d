/**
 * A reference profile (DESIGN.md section 4): what the training data (or a past window) looked
 * like, per model + version + field. Built by `driftbeat reference build`, stored in the
 * `driftbeat-reference` index (one document per field, so a `terms` lookup can reference a
 * category set or vocabulary without shipping it in every query) and in the embedded store;
 * exportable as JSON. Shared contract between reference/, rules/, backends/ and normalize/.
 */
import type { FeatureType } from '../normalize/reference-info.ts';

export interface NumericSummary {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation (ddof=0), as Evidently's normed Wasserstein uses. */
  std: number;
  /** Quantiles keyed by percent as a string: "1", "5", "25", "50", "75", "95", "99". */
  quantiles: Record<string, number>;
}

export interface FieldProfile {
  model: string;
  version: string;
  /** Document path: `features.amount`, `prediction.score`, `text.customer_note`. */
  field: string;
  kind: 'feature' | 'prediction' | 'text';
  type: FeatureType;
  /** Rows in the reference data. */
  count: number;
  missing_count: number;
  missing_share: number;
  /** Distinct non-missing values (exact). */
  distinct_count: number;
  /** Categorical/boolean (and numeric with few distinct values): every value with its count, most frequent first, up to MAX_CATEGORIES. */
  categories?: { value: string; count: number }[];
  categories_truncated?: boolean;
  numeric?: NumericSummary;
  /** Reference sample of numeric values: every value up to MAX_SAMPLE, else a seeded sample. */
  sample?: number[];
  sampled?: boolean;
  /** Text fields: tokens (Evidently's tokenizer, lower case) with counts, most frequent first, up to MAX_VOCABULARY. */
  vocabulary?: { token: string; count: number }[];
  vocabulary_truncated?: boolean;
  /** Total tokens in the text field. */
  token_count?: number;
}

export interface ReferenceProfile {
  model: string;
  version: string;
  built_at: string;
  source: {
    path: string; rows: number; format: 'csv' | 'jsonl' | 'parquet' | 'window';
    /** Quality metrics of this version on validation data (`reference build --metrics f1=0.81,...`), for model_quality rules. */
    validation_metrics?: Record<string, number>;
  };
  fields: FieldProfile[];
}

export const MAX_CATEGORIES = 10_000;
export const MAX_SAMPLE = 10_000;
export const MAX_VOCABULARY = 50_000;

/** Where profiles live: Elasticsearch (`driftbeat-reference`) or the embedded store. */
export interface ReferenceStore {
  save(profile: ReferenceProfile): Promise<void>;
  /** The profile of model + version; without a version, the most recently built one of the model. */
  get(model: string, version?: string): Promise<ReferenceProfile | undefined>;
  list(): Promise<{ model: string; version: string; built_at: string }[]>;
}

/** `_id` of a field's document in the driftbeat-reference index (also used by terms lookups). */
export function referenceDocId(model: string, version: string, field: string): string {
  return `${model}@${version}:${field}`;
}
