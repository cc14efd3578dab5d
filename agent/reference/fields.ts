/**
 * The layout of training data (pure): which columns (or keys of the features object) are
 * features and predictions, their raw DuckDB kinds, and the SQL that cleans each into one typed
 * column with NA as NULL. build.ts describes the file, plans with planFields, then reads.
 */
import { DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import type { InputConfig } from '../config/schema.ts';
import { MAX_DEPTH } from '../normalize/normalize.ts';
import type { FeatureType } from '../normalize/reference-info.ts';
import { ReferenceBuildError } from './build-error.ts';
import type { FieldProfile } from './profile.ts';

export type RawKind = 'num' | 'bool' | 'cat' | 'json';

export interface PlannedField {
  /** Document path: features.amount, prediction.score, text.note. */
  field: string;
  kind: FieldProfile['kind'];
  /** SQL reading the raw value from the source. */
  expr: string;
  raw: RawKind;
  /** Final type (for json leaves, decided after inspecting the values). */
  type: FeatureType;
}

export interface FieldPlan {
  layout: 'logs' | 'flat';
  fields: PlannedField[];
  skipped: { name: string; reason: string }[];
  /** Column holding the model name, when rows of other models must be left out. */
  modelFilter?: string;
}

const NUMERIC_IDS = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT, DuckDBTypeId.SMALLINT, DuckDBTypeId.INTEGER, DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT, DuckDBTypeId.USMALLINT, DuckDBTypeId.UINTEGER, DuckDBTypeId.UBIGINT, DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT, DuckDBTypeId.DOUBLE, DuckDBTypeId.DECIMAL,
]);
const SKIPPED_IDS = new Set<DuckDBTypeId>([
  DuckDBTypeId.LIST, DuckDBTypeId.ARRAY, DuckDBTypeId.MAP, DuckDBTypeId.BLOB, DuckDBTypeId.UNION, DuckDBTypeId.BIT, DuckDBTypeId.STRUCT,
]);

function rawKind(type: DuckDBType): RawKind | undefined {
  if (NUMERIC_IDS.has(type.typeId)) return 'num';
  if (type.typeId === DuckDBTypeId.BOOLEAN) return 'bool';
  if (type.typeId === DuckDBTypeId.VARCHAR) return type.alias === 'JSON' ? 'json' : 'cat';
  if (SKIPPED_IDS.has(type.typeId)) return undefined;
  return 'cat'; // dates, timestamps, UUIDs, enums: their text, as a log line would carry them
}

/** Collects the planned leaves: nested objects flattened with dots (as normalize does), text names as text. */
function leafCollector(input: InputConfig) {
  const textNames = new Set(input.fields.text);
  const fields: PlannedField[] = [];
  const skipped: FieldPlan['skipped'] = [];
  const addLeaf = (prefix: 'features' | 'prediction', name: string, expr: string, type: DuckDBType, depth: number): void => {
    const isText = prefix === 'features' && textNames.has(name);
    if (type.typeId === DuckDBTypeId.STRUCT && !isText && depth < MAX_DEPTH) {
      type.entryNames.forEach((k, i) => addLeaf(prefix, `${name}.${k}`, `struct_extract(${expr}, ${lit(k)})`, type.entryTypes[i]!, depth + 1));
      return;
    }
    const raw = rawKind(type);
    if (isText) {
      fields.push({ field: `text.${name}`, kind: 'text', expr, raw: raw ?? 'cat', type: 'text' });
      return;
    }
    if (raw === undefined) {
      skipped.push({ name, reason: `${type.toString()} values are not profiled (normalize keeps them as unparsed text)` });
      return;
    }
    const type0: FeatureType = raw === 'num' ? 'num' : raw === 'bool' ? 'bool' : 'cat';
    fields.push({ field: `${prefix}.${name}`, kind: prefix === 'features' ? 'feature' : 'prediction', expr, raw, type: type0 });
  };
  const addPredictionColumn = (col: { name: string; type: DuckDBType }): void => {
    // The mapped predictions column follows normalize: object keys, or a scalar as `value`.
    if (col.name === input.fields.predictions) {
      if (col.type.typeId === DuckDBTypeId.STRUCT) {
        col.type.entryNames.forEach((k, i) => addLeaf('prediction', k, `struct_extract(${ident(col.name)}, ${lit(k)})`, (col.type as { entryTypes: readonly DuckDBType[] }).entryTypes[i]!, 1));
      } else addLeaf('prediction', 'value', ident(col.name), col.type, 1);
    } else addLeaf('prediction', col.name, ident(col.name), col.type, 1);
  };
  return { fields, skipped, addLeaf, addPredictionColumn };
}

type Columns = readonly { name: string; type: DuckDBType }[];

/** Logs layout: the features object's keys, and the predictions column's keys (or `predictionColumns` of them). */
function planLogs(featuresCol: Columns[number], byName: Map<string, Columns[number]>, input: InputConfig, predictionColumns: readonly string[] | undefined): FieldPlan {
  const f = input.fields;
  if (featuresCol.type.typeId !== DuckDBTypeId.STRUCT) {
    throw new ReferenceBuildError(
      'ERR_REFERENCE_LAYOUT',
      `column "${f.features}" (the input's fields.features) is ${featuresCol.type.toString()}, expected an object of features on every row; ` +
        'fix the data, or set fields.features to a column that does not exist in this file to read it as one column per feature',
    );
  }
  const { fields, skipped, addLeaf, addPredictionColumn } = leafCollector(input);
  featuresCol.type.entryNames.forEach((k, i) => addLeaf('features', k, `struct_extract(${ident(f.features)}, ${lit(k)})`, (featuresCol.type as { entryTypes: readonly DuckDBType[] }).entryTypes[i]!, 1));
  const pred = byName.get(f.predictions);
  const before = fields.length;
  if (pred !== undefined) addPredictionColumn(pred);
  if (predictionColumns !== undefined) {
    const keep = new Set(predictionColumns.map((p) => `prediction.${p}`));
    const kept = fields.filter((x, i) => i < before || keep.has(x.field));
    const missing = predictionColumns.filter((p) => !kept.some((x) => x.field === `prediction.${p}`));
    if (missing.length > 0) {
      throw new ReferenceBuildError('ERR_REFERENCE_PREDICTIONS', `prediction keys ${missing.map((m) => `"${m}"`).join(', ')} are not in column "${f.predictions}"`);
    }
    fields.splice(0, fields.length, ...kept);
  }
  const nameField = input.model.nameField;
  return { layout: 'logs', fields, skipped, ...(nameField && byName.has(nameField) ? { modelFilter: nameField } : {}) };
}

/** Flat layout: one column per feature; the prediction columns are given, or `fields.predictions`, or score and label. */
function planFlat(columns: Columns, byName: Map<string, Columns[number]>, input: InputConfig, predictionColumns: readonly string[] | undefined): FieldPlan {
  const f = input.fields;
  const unknown = (predictionColumns ?? []).filter((p) => !byName.has(p));
  if (unknown.length > 0) {
    throw new ReferenceBuildError(
      'ERR_REFERENCE_PREDICTIONS',
      `prediction columns ${unknown.map((m) => `"${m}"`).join(', ')} are not in the data (columns: ${columns.map((c) => c.name).join(', ')})`,
    );
  }
  const { fields, skipped, addLeaf, addPredictionColumn } = leafCollector(input);
  const excluded = new Set([f.timestamp, f.id, f.latency, input.model.nameField, input.model.versionField].filter((x): x is string => x !== undefined));
  const predNames = predictionColumns ?? (byName.has(f.predictions) ? [f.predictions] : ['score', 'label'].filter((n) => byName.has(n)));
  const predSet = new Set(predNames);
  for (const col of columns) {
    if (excluded.has(col.name) || predSet.has(col.name)) continue;
    addLeaf('features', col.name, ident(col.name), col.type, 1);
  }
  for (const p of predNames) addPredictionColumn(byName.get(p)!);
  const nameField = input.model.nameField;
  return { layout: 'flat', fields, skipped, ...(nameField && byName.has(nameField) ? { modelFilter: nameField } : {}) };
}

/** The fields of a file from its columns: logs layout when the features column is there, else flat. */
export function planFields(columns: Columns, input: InputConfig, predictionColumns?: readonly string[]): FieldPlan {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const featuresCol = byName.get(input.fields.features);
  return featuresCol !== undefined ? planLogs(featuresCol, byName, input, predictionColumns) : planFlat(columns, byName, input, predictionColumns);
}

// ---------------------------------------------------------------------------------------------
// cleaning: NA -> NULL, one typed column per field

export function naText(expr: string, naValues: readonly string[]): string {
  const list = ['', ...naValues].map(lit).join(', ');
  return `CASE WHEN ${expr} IN (${list}) THEN NULL ELSE ${expr} END`;
}

function finiteDouble(expr: string, tryCast: boolean): string {
  const d = tryCast ? `TRY_CAST(${expr} AS DOUBLE)` : `CAST(${expr} AS DOUBLE)`;
  return `CASE WHEN isfinite(${d}) THEN ${d} END`;
}

/** `x->>'$'`: the string itself for a JSON string, the JSON text for anything else. */
export function jsonText(expr: string): string {
  return `(${expr} ->> '$')`;
}

export function cleanExpr(f: PlannedField, naValues: readonly string[]): string {
  const text = f.raw === 'json' ? jsonText(f.expr) : f.raw === 'cat' ? f.expr : `CAST(${f.expr} AS VARCHAR)`;
  switch (f.type) {
    case 'text':
    case 'cat':
      return naText(text, naValues);
    case 'num':
      return f.raw === 'num' ? finiteDouble(f.expr, false) : finiteDouble(text, true);
    case 'bool':
      return f.raw === 'bool' ? f.expr : `TRY_CAST(${naText(text, naValues)} AS BOOLEAN)`;
  }
}

export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
