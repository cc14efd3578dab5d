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
import { DuckDBInstance, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { InputConfig } from '../config/schema.ts';
import type { ReferenceProfile } from './profile.ts';
import { ReferenceBuildError } from './build-error.ts';
import { checkCsvShape } from './csv-check.ts';
import { cleanExpr, ident, jsonText, lit, naText, planFields, type PlannedField } from './fields.ts';
import { profileTable, track } from './profile-table.ts';
import { silentProgress, type ProgressReporter } from './progress.ts';

export { ReferenceBuildError } from './build-error.ts';
export { cleanExpr, ident, lit, planFields, type FieldPlan, type PlannedField } from './fields.ts';
export { DEFAULT_SEED, NUMERIC_CATEGORY_MAX_DISTINCT, QUANTILES, tokensSql, vocabularySql } from './profile-table.ts';

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
// helpers

async function describe(conn: DuckDBConnection, q: string, what: string): Promise<{ columnNames: string[]; columnTypes: DuckDBType[] }> {
  try {
    const r = await conn.runAndReadAll(q);
    return { columnNames: r.columnNames(), columnTypes: r.columnTypes() };
  } catch (err) {
    throw new ReferenceBuildError('ERR_REFERENCE_READ', `reference build: cannot ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

