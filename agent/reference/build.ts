/**
 * Builds a reference profile (DESIGN.md section 4) from training data: CSV, JSON lines or Parquet,
 * read by an in-memory DuckDB. No store here: command.ts saves the result.
 *
 * Layouts (decided from the file's columns):
 * - logs: the file has the input's features column (`fields.features`) as an object (STRUCT): its
 *   keys are the features (nested objects flattened with dots, as normalize does) and the
 *   `fields.predictions` column is the prediction (object keys, or a scalar as `value`).
 * - flat: one column per feature. Every column except the input's timestamp, id, latency, model
 *   name and version fields is a feature, except the prediction columns: `predictionColumns`
 *   when given, else the `fields.predictions` column when present, else `score` and `label` when
 *   present.
 *
 * Types: DuckDB numeric types -> num, BOOLEAN -> bool, VARCHAR (and dates, UUIDs...) -> cat,
 * names listed in `fields.text` -> text. A JSON-lines value that is sometimes a number and
 * sometimes a string (DuckDB reads it as JSON) is num when every non-NA string is numeric (as
 * normalize coerces "12.5"), else cat. Lists, maps and blobs are skipped (normalize does not
 * index arrays either) and reported in `skipped`.
 *
 * NA (DESIGN.md section 2): null, NaN, ±Infinity, "" and the input's na_values are missing. CSV
 * files are read with na_values as null strings, so a numeric column holding "NA" still reads as
 * numeric.
 *
 * The data is read once into an in-memory table of cleaned columns (NA already NULL); every
 * statistic is then one SQL pass per kind over that table.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { InputConfig } from '../config/schema.ts';
import { DriftbeatError } from '../errors.ts';
import { MAX_DEPTH } from '../normalize/normalize.ts';
import type { FeatureType } from '../normalize/reference-info.ts';
import {
  MAX_CATEGORIES,
  MAX_SAMPLE,
  MAX_VOCABULARY,
  type FieldProfile,
  type NumericSummary,
  type ReferenceProfile,
} from './profile.ts';
import { checkCsvShape } from './csv-check.ts';
import { silentProgress, type ProgressReporter } from './progress.ts';

export type DataFormat = 'csv' | 'jsonl' | 'parquet';

export interface BuildReferenceOptions {
  input: InputConfig;
  model: string;
  version: string;
  dataPath: string;
  /** Default: from the file extension (.csv/.tsv, .jsonl/.ndjson/.json, .parquet/.pq, optionally .gz). */
  format?: DataFormat;
  /** Flat layout: the columns that are predictions. Logs layout: keep only these prediction keys. */
  predictionColumns?: string[];
  progress?: ProgressReporter;
  /** Seed of the reference sample (default DEFAULT_SEED): the same file gives the same sample. */
  seed?: number;
  now?: () => Date;
}

export interface BuildResult {
  profile: ReferenceProfile;
  layout: 'logs' | 'flat';
  /** Columns left out and why (lists, maps, blobs, objects nested too deep). */
  skipped: { name: string; reason: string }[];
}

export const DEFAULT_SEED = 42;
/** Numeric fields with at most this many distinct values also get category counts (Evidently buckets them per value at <= 20). */
export const NUMERIC_CATEGORY_MAX_DISTINCT = 20;
/** Percent points of NumericSummary.quantiles (linear interpolation, as numpy's default). */
export const QUANTILES = [1, 5, 25, 50, 75, 95, 99] as const;

export class ReferenceBuildError extends DriftbeatError {}

/** Builds the profile; see BuildResult for what else the caller may want to print. */
export async function buildReference(opts: BuildReferenceOptions): Promise<ReferenceProfile> {
  return (await buildReferenceDetailed(opts)).profile;
}

export async function buildReferenceDetailed(opts: BuildReferenceOptions): Promise<BuildResult> {
  const progress = opts.progress ?? silentProgress;
  const path = resolve(opts.dataPath);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ReferenceBuildError('ERR_REFERENCE_DATA', `reference data file "${opts.dataPath}" does not exist; pass a CSV, JSON-lines or Parquet file`);
  }
  const format = opts.format ?? detectFormat(path);
  if (format === 'csv') {
    progress.phase(`checking the rows of ${opts.dataPath}`);
    await checkCsvShape(path, opts.dataPath);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    // Progress tracking is off by default in embedded DuckDB; we poll it ourselves.
    await conn.run("SET enable_progress_bar = true; SET enable_progress_bar_print = false; SET progress_bar_time = 0; SET TimeZone = 'UTC'");
    const src = sourceSql(path, format, opts.input.naValues);
    const described = await describe(conn, `SELECT * FROM ${src} LIMIT 0`, `read ${opts.dataPath}`);
    const columns = described.columnNames.map((name, i) => ({ name, type: described.columnTypes[i]! }));
    const plan = planFields(columns, opts.input, opts.predictionColumns);
    if (plan.fields.length === 0) {
      throw new ReferenceBuildError('ERR_REFERENCE_NO_FIELDS', `reference data file "${opts.dataPath}" has no feature or prediction columns (columns: ${columns.map((c) => c.name).join(', ') || 'none'})`);
    }
    const where = plan.modelFilter ? `WHERE CAST(${ident(plan.modelFilter)} AS VARCHAR) = ${lit(opts.model)}` : '';
    const naList = opts.input.naValues;

    const jsonLeaves = plan.fields.filter((f) => f.raw === 'json' && f.kind !== 'text');
    if (jsonLeaves.length > 0) {
      progress.phase(`inspecting mixed-type values in ${opts.dataPath}`);
      await decideJsonTypes(conn, src, where, jsonLeaves, naList, progress);
    }

    progress.phase(`reading ${opts.dataPath}`);
    const select = plan.fields.map((f, i) => `${cleanExpr(f, naList)} AS c${i}`).join(', ');
    await track(conn, progress, conn.run(`CREATE TABLE t AS SELECT ${select} FROM ${src} ${where}`), `read ${opts.dataPath}`);

    const profiles = await profileTable(conn, plan.fields, opts, progress);
    const rows = profiles.rows;
    if (rows === 0) {
      throw new ReferenceBuildError('ERR_REFERENCE_EMPTY', `reference data file "${opts.dataPath}" has no rows${plan.modelFilter ? ` of model "${opts.model}" (column ${plan.modelFilter})` : ''}: a profile needs the training examples`);
    }
    progress.done();
    return {
      profile: {
        model: opts.model,
        version: opts.version,
        built_at: (opts.now?.() ?? new Date()).toISOString(),
        source: { path, rows, format },
        fields: profiles.fields,
      },
      layout: plan.layout,
      skipped: plan.skipped,
    };
  } finally {
    progress.done();
    conn.closeSync();
    instance.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// reading

export function detectFormat(path: string): DataFormat {
  const p = path.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (p.endsWith('.csv') || p.endsWith('.tsv')) return 'csv';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson') || p.endsWith('.json')) return 'jsonl';
  if (p.endsWith('.parquet') || p.endsWith('.pq')) return 'parquet';
  throw new ReferenceBuildError('ERR_REFERENCE_FORMAT', `cannot tell the format of "${path}" from its extension; name it .csv, .jsonl or .parquet, or pass --format csv|jsonl|parquet`);
}

function sourceSql(path: string, format: DataFormat, naValues: readonly string[]): string {
  switch (format) {
    case 'csv':
      return `read_csv(${lit(path)}, header = true, nullstr = [${['', ...naValues].map(lit).join(', ')}])`;
    case 'jsonl':
      // sample_size -1: a key first seen late in the file would otherwise be an error.
      return `read_json_auto(${lit(path)}, format = 'newline_delimited', sample_size = -1)`;
    case 'parquet':
      return `read_parquet(${lit(path)})`;
  }
}

// ---------------------------------------------------------------------------------------------
// layout (pure)

type RawKind = 'num' | 'bool' | 'cat' | 'json';

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

export function planFields(
  columns: readonly { name: string; type: DuckDBType }[],
  input: InputConfig,
  predictionColumns?: readonly string[],
): FieldPlan {
  const f = input.fields;
  const textNames = new Set(f.text);
  const byName = new Map(columns.map((c) => [c.name, c]));
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
    if (col.name === f.predictions) {
      if (col.type.typeId === DuckDBTypeId.STRUCT) {
        col.type.entryNames.forEach((k, i) => addLeaf('prediction', k, `struct_extract(${ident(col.name)}, ${lit(k)})`, (col.type as { entryTypes: readonly DuckDBType[] }).entryTypes[i]!, 1));
      } else addLeaf('prediction', 'value', ident(col.name), col.type, 1);
    } else addLeaf('prediction', col.name, ident(col.name), col.type, 1);
  };
  const unknown = (predictionColumns ?? []).filter((p) => !byName.has(p));

  const featuresCol = byName.get(f.features);
  if (featuresCol !== undefined) {
    if (featuresCol.type.typeId !== DuckDBTypeId.STRUCT) {
      throw new ReferenceBuildError(
        'ERR_REFERENCE_LAYOUT',
        `column "${f.features}" (the input's fields.features) is ${featuresCol.type.toString()}, expected an object of features on every row; ` +
          'fix the data, or set fields.features to a column that does not exist in this file to read it as one column per feature',
      );
    }
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

  if (unknown.length > 0) {
    throw new ReferenceBuildError(
      'ERR_REFERENCE_PREDICTIONS',
      `prediction columns ${unknown.map((m) => `"${m}"`).join(', ')} are not in the data (columns: ${columns.map((c) => c.name).join(', ')})`,
    );
  }
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

// ---------------------------------------------------------------------------------------------
// cleaning: NA -> NULL, one typed column per field

function naText(expr: string, naValues: readonly string[]): string {
  const list = ['', ...naValues].map(lit).join(', ');
  return `CASE WHEN ${expr} IN (${list}) THEN NULL ELSE ${expr} END`;
}

function finiteDouble(expr: string, tryCast: boolean): string {
  const d = tryCast ? `TRY_CAST(${expr} AS DOUBLE)` : `CAST(${expr} AS DOUBLE)`;
  return `CASE WHEN isfinite(${d}) THEN ${d} END`;
}

/** `x->>'$'`: the string itself for a JSON string, the JSON text for anything else. */
function jsonText(expr: string): string {
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

async function decideJsonTypes(conn: DuckDBConnection, src: string, where: string, leaves: PlannedField[], naValues: readonly string[], progress: ProgressReporter): Promise<void> {
  const parts = leaves.map((f, i) => {
    const s = naText(jsonText(f.expr), naValues);
    const jt = `json_type(${f.expr})`;
    return [
      `count(*) FILTER (${jt} IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')) AS n${i}`,
      `count(*) FILTER (${jt} = 'BOOLEAN') AS b${i}`,
      `count(*) FILTER (${jt} = 'VARCHAR' AND ${s} IS NOT NULL) AS s${i}`,
      `count(*) FILTER (${jt} = 'VARCHAR' AND TRY_CAST(${s} AS DOUBLE) IS NOT NULL) AS sn${i}`,
    ].join(', ');
  });
  const res = await track(conn, progress, conn.runAndReadAll(`SELECT ${parts.join(', ')} FROM ${src} ${where}`), 'inspect values');
  const row = res.getRowObjectsJS()[0]!;
  leaves.forEach((f, i) => {
    const n = Number(row[`n${i}`]);
    const b = Number(row[`b${i}`]);
    const s = Number(row[`s${i}`]);
    const sn = Number(row[`sn${i}`]);
    // Objects and arrays mixed into a column make it cat (their JSON text), never num.
    if (n > 0 && b === 0 && s === sn) f.type = 'num';
    else if (b > 0 && n === 0 && s === 0) f.type = 'bool';
    else f.type = 'cat';
  });
}

// ---------------------------------------------------------------------------------------------
// profiling the cleaned table

async function profileTable(
  conn: DuckDBConnection,
  fields: readonly PlannedField[],
  opts: BuildReferenceOptions,
  progress: ProgressReporter,
): Promise<{ rows: number; fields: FieldProfile[] }> {
  const seed = opts.seed ?? DEFAULT_SEED;

  progress.phase('counts');
  const countSql = fields.map((_, i) => `count(c${i}) AS k${i}, count(DISTINCT c${i}) AS d${i}`).join(', ');
  const counts = (await track(conn, progress, conn.runAndReadAll(`SELECT count(*) AS n, ${countSql} FROM t`), 'counts')).getRowObjectsJS()[0]!;
  const rows = Number(counts['n']);

  const out: FieldProfile[] = fields.map((f, i) => {
    const present = Number(counts[`k${i}`]);
    const missing = rows - present;
    return {
      model: opts.model,
      version: opts.version,
      field: f.field,
      kind: f.kind,
      type: f.type,
      count: rows,
      missing_count: missing,
      missing_share: rows === 0 ? 0 : missing / rows,
      distinct_count: Number(counts[`d${i}`]),
    };
  });

  const numIdx = fields.map((f, i) => (f.type === 'num' ? i : -1)).filter((i) => i >= 0 && out[i]!.count - out[i]!.missing_count > 0);
  if (numIdx.length > 0) {
    progress.phase('numeric summaries');
    const qs = `[${QUANTILES.map((q) => String(q / 100)).join(', ')}]`;
    const numSql = numIdx
      .map((i) => `min(c${i}) AS mn${i}, max(c${i}) AS mx${i}, avg(c${i}) AS av${i}, stddev_pop(c${i}) AS sd${i}, quantile_cont(c${i}, ${qs}) AS q${i}`)
      .join(', ');
    const r = (await track(conn, progress, conn.runAndReadAll(`SELECT ${numSql} FROM t`), 'numeric summaries')).getRowObjectsJS()[0]!;
    for (const i of numIdx) {
      const q = r[`q${i}`] as number[];
      const quantiles: Record<string, number> = {};
      QUANTILES.forEach((p, j) => (quantiles[String(p)] = Number(q[j])));
      const numeric: NumericSummary = {
        min: Number(r[`mn${i}`]),
        max: Number(r[`mx${i}`]),
        mean: Number(r[`av${i}`]),
        std: Number(r[`sd${i}`]),
        quantiles,
      };
      out[i]!.numeric = numeric;
    }
  }

  const catIdx = fields
    .map((f, i) => i)
    .filter((i) => {
      const f = fields[i]!;
      const p = out[i]!;
      if (p.distinct_count === 0) return f.type === 'cat' || f.type === 'bool';
      return f.type === 'cat' || f.type === 'bool' || (f.type === 'num' && p.distinct_count <= NUMERIC_CATEGORY_MAX_DISTINCT);
    });
  if (catIdx.length > 0) progress.phase('categories');
  for (const [j, i] of catIdx.entries()) {
    const f = fields[i]!;
    const value = f.type === 'bool' ? `CAST(c${i} AS VARCHAR)` : `c${i}`;
    const r = await conn.runAndReadAll(
      `SELECT ${value} AS v, count(*) AS n FROM t WHERE c${i} IS NOT NULL GROUP BY c${i} ORDER BY n DESC, c${i} LIMIT ${MAX_CATEGORIES + 1}`,
    );
    const rowsOut = r.getRowObjectsJS();
    const truncated = rowsOut.length > MAX_CATEGORIES;
    out[i]!.categories = rowsOut.slice(0, MAX_CATEGORIES).map((x) => ({ value: f.type === 'num' ? String(Number(x['v'])) : String(x['v']), count: Number(x['n']) }));
    if (truncated) out[i]!.categories_truncated = true;
    progress.update((j + 1) / catIdx.length);
  }

  if (numIdx.length > 0) progress.phase('reference samples');
  // A seeded reservoir is repeatable only on one thread (DuckDB's samples docs); one column of an
  // in-memory table is quick to scan on one.
  const threads = Number((await conn.runAndReadAll("SELECT current_setting('threads') AS n")).getRowObjectsJS()[0]!['n']);
  await conn.run('SET threads = 1');
  for (const [j, i] of numIdx.entries()) {
    const present = out[i]!.count - out[i]!.missing_count;
    const sampled = present > MAX_SAMPLE;
    const inner = `SELECT c${i} AS v FROM t WHERE c${i} IS NOT NULL`;
    const q = sampled ? `SELECT v FROM (${inner}) USING SAMPLE reservoir(${MAX_SAMPLE} ROWS) REPEATABLE (${Math.trunc(seed)})` : inner;
    const values = (await conn.runAndReadAll(q)).getRowObjectsJS().map((x) => Number(x['v']));
    // Sorted: the order of a reservoir is an accident of threading, and KS/Wasserstein sort anyway.
    out[i]!.sample = Array.from(Float64Array.from(values).sort());
    out[i]!.sampled = sampled;
    progress.update((j + 1) / numIdx.length);
  }
  await conn.run(`SET threads = ${threads}`);

  const textIdx = fields.map((f, i) => (f.type === 'text' ? i : -1)).filter((i) => i >= 0);
  for (const i of textIdx) {
    progress.phase(`vocabulary of ${fields[i]!.field}`);
    const r = await track(conn, progress, conn.runAndReadAll(vocabularySql(`c${i}`, 't', MAX_VOCABULARY + 1)), 'vocabulary');
    const rowsOut = r.getRowObjectsJS();
    const p = out[i]!;
    p.vocabulary = rowsOut.slice(0, MAX_VOCABULARY).map((x) => ({ token: String(x['token']), count: Number(x['n']) }));
    if (rowsOut.length > MAX_VOCABULARY) p.vocabulary_truncated = true;
    p.token_count = rowsOut.length === 0 ? 0 : Number(rowsOut[0]!['total']);
  }
  return { rows, fields: out };
}

/**
 * Evidently's tokenizer in SQL, equal to normalize/tokenize.ts: delete every character that is not
 * an ASCII letter, digit or space, split on spaces (runs give empty pieces, dropped), lower-case.
 */
export function tokensSql(column: string): string {
  return `unnest(string_split(lower(regexp_replace(${column}, '[^A-Za-z0-9 ]+', '', 'g')), ' '))`;
}

/** Token counts of a text column, most frequent first (ties by token), with the total token count on every row. */
export function vocabularySql(column: string, table: string, limit: number): string {
  return (
    `WITH tok AS (SELECT ${tokensSql(column)} AS token FROM ${table} WHERE ${column} IS NOT NULL), ` +
    `g AS (SELECT token, count(*) AS n FROM tok WHERE token <> '' GROUP BY token) ` +
    `SELECT token, n, sum(n) OVER () AS total FROM g ORDER BY n DESC, token LIMIT ${limit}`
  );
}

// ---------------------------------------------------------------------------------------------
// helpers

/** Runs a query while polling DuckDB's progress into the reporter; wraps DuckDB errors. */
async function track<T>(conn: DuckDBConnection, progress: ProgressReporter, job: Promise<T>, what: string): Promise<T> {
  const timer = setInterval(() => {
    const p = conn.progress.percentage;
    if (p >= 0) progress.update(p / 100);
  }, 100);
  try {
    return await job;
  } catch (err) {
    throw new ReferenceBuildError('ERR_REFERENCE_READ', `reference build: ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    clearInterval(timer);
  }
}

async function describe(conn: DuckDBConnection, q: string, what: string): Promise<{ columnNames: string[]; columnTypes: DuckDBType[] }> {
  try {
    const r = await conn.runAndReadAll(q);
    return { columnNames: r.columnNames(), columnTypes: r.columnTypes() };
  } catch (err) {
    throw new ReferenceBuildError('ERR_REFERENCE_READ', `reference build: cannot ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
