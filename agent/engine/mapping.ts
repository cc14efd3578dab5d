/**
 * The field types driftbeat's mappings are written in, shared by the components that own a
 * mapping (the sink, the results writer, the alert state store, the reference store). Each owner
 * writes its documents and declares their mapping in the same file; `driftbeat setup` only
 * assembles them into templates (agent/assets/templates.ts).
 */
import type { estypes } from '@elastic/elasticsearch';
import type { Dialect } from './dialect.ts';

export type Mappings = estypes.MappingTypeMapping;
export type Property = estypes.MappingProperty;

/** Longer strings are kept in _source but not indexed (no huge terms in aggregations). */
export const KEYWORD_IGNORE_ABOVE = 1024;

export const keyword = (ignoreAbove = KEYWORD_IGNORE_ABOVE): estypes.MappingKeywordProperty => ({ type: 'keyword', ignore_above: ignoreAbove });
export const date: estypes.MappingDateProperty = { type: 'date' };
export const double: estypes.MappingDoubleNumberProperty = { type: 'double' };
export const long: estypes.MappingLongNumberProperty = { type: 'long' };
export const integer: estypes.MappingIntegerNumberProperty = { type: 'integer' };
export const bool: estypes.MappingBooleanProperty = { type: 'boolean' };
export const text: estypes.MappingTextProperty = { type: 'text' };
/** Kept in _source, neither indexed nor in doc values (read back whole, never searched). */
export const stored: estypes.MappingKeywordProperty = { type: 'keyword', index: false, doc_values: false };
export const obj = (properties: Record<string, Property>): estypes.MappingObjectProperty => ({ type: 'object', properties });
/** An object kept whole in _source and not parsed at all (any shape, no mapping growth). */
export const opaque: estypes.MappingObjectProperty = { type: 'object', enabled: false };

/**
 * Any JSON object as keywords under one field, without growing the mapping: Elasticsearch's
 * `flattened`, OpenSearch's `flat_object` (which takes no parameters).
 */
export function flattened(d: Dialect): Property {
  if (d.flattenedType === 'flattened') return { type: 'flattened', ignore_above: KEYWORD_IGNORE_ABOVE } as estypes.MappingFlattenedProperty;
  return { type: 'flat_object' } as unknown as Property;
}

export const stringsAsKeywords: Partial<Record<string, estypes.MappingDynamicTemplate>> = {
  strings_as_keywords: { match_mapping_type: 'string', mapping: keyword() },
};
