/**
 * Mappings of what the Elasticsearch sink writes: prediction documents (agent/normalize/document.ts,
 * DESIGN.md section 2) into the `<prefix>-predictions-<model>` data streams, and the documents the
 * engine refused into `<prefix>-deadletter` (sink.ts indexDeadLetters). `driftbeat setup` puts them
 * in templates (agent/assets/templates.ts); nothing else declares them.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { Dialect } from '../../engine/dialect.ts';
import { date, double, flattened, integer, keyword, long, obj, stored, text, type Mappings } from '../../engine/mapping.ts';

type DynamicTemplate = Partial<Record<string, estypes.MappingDynamicTemplate>>;

/**
 * Values of features and predictions: strings and booleans are categories (keyword), every number
 * is a double. Mapping JSON integers as double matters: a feature whose first value is `3` would
 * otherwise become `long` and a later `3.5` would be silently truncated.
 */
function valueTemplates(path: 'features' | 'prediction'): DynamicTemplate[] {
  return [
    { [`${path}_strings`]: { path_match: `${path}.*`, match_mapping_type: 'string', mapping: keyword() } },
    { [`${path}_booleans`]: { path_match: `${path}.*`, match_mapping_type: 'boolean', mapping: keyword() } },
    { [`${path}_longs`]: { path_match: `${path}.*`, match_mapping_type: 'long', mapping: double } },
    { [`${path}_doubles`]: { path_match: `${path}.*`, match_mapping_type: 'double', mapping: double } },
  ];
}

export function predictionsMappings(d: Dialect): Mappings {
  return {
    // A prediction log has many string features that look like dates or numbers ("2024-01", "007"): keep them categories.
    date_detection: false,
    numeric_detection: false,
    dynamic_templates: [
      ...valueTemplates('features'),
      ...valueTemplates('prediction'),
      // Raw text is searchable, never an aggregatable keyword (high cardinality).
      { text_content: { path_match: 'text.*.content', mapping: text } },
      { text_token_count: { path_match: 'text.*.token_count', mapping: integer } },
      { text_oov_count: { path_match: 'text.*.oov_count', mapping: integer } },
      // Copied to the top-level oov_tokens so one terms aggregation lists new words across text fields.
      { text_oov_tokens: { path_match: 'text.*.oov_tokens', mapping: { type: 'keyword', ignore_above: 256, copy_to: 'oov_tokens' } } },
      { labels: { path_match: 'labels.*', mapping: keyword() } },
      { strings_as_keywords: { match_mapping_type: 'string', mapping: keyword() } },
    ],
    properties: {
      '@timestamp': date,
      event: obj({ id: keyword(), ingested: date, duration: long }),
      model: obj({ name: keyword(), version: keyword() }),
      features: { type: 'object' },
      prediction: { type: 'object' },
      missing: keyword(),
      oov_tokens: keyword(256),
      features_unparsed: flattened(d),
      features_overflow: flattened(d),
      text: { type: 'object' },
      labels: { type: 'object' },
      host: obj({ name: keyword() }),
      log: obj({ file: obj({ path: keyword() }), offset: long }),
    },
  };
}

/** `dynamic: false`: a refused document must never be refused a second time by this index. */
export function deadLetterMappings(): Mappings {
  return {
    dynamic: false,
    properties: {
      '@timestamp': date,
      event: obj({ id: keyword(), original: stored }),
      model: obj({ name: keyword(), version: keyword() }),
      log: obj({ file: obj({ path: keyword() }), offset: long }),
      error: obj({ type: keyword(), message: text }),
    },
  };
}
