/**
 * Profiling the cleaned in-memory table `t` of a reference build (one column c<i> per planned
 * field, NA already NULL): counts, numeric summaries, categories, seeded samples, vocabularies.
 * One SQL pass per kind; each phase fills its part of the field profiles.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ReferenceBuildError } from './build-error.ts';
import type { PlannedField } from './fields.ts';
import { MAX_CATEGORIES, MAX_SAMPLE, MAX_VOCABULARY, type FieldProfile, type NumericSummary } from './profile.ts';
import type { ProgressReporter } from './progress.ts';

export const DEFAULT_SEED = 42;
/** Numeric fields with at most this many distinct values also get category counts (Evidently buckets them per value at <= 20). */
export const NUMERIC_CATEGORY_MAX_DISTINCT = 20;
/** Percent points of NumericSummary.quantiles (linear interpolation, as numpy's default). */
export const QUANTILES = [1, 5, 25, 50, 75, 95, 99] as const;

/** What a profile is of (ReferenceProfile's model and version), and the seed of its samples. */
export interface ProfileOptions {
  model: string;
  version: string;
  seed?: number;
}

/** One profiling pass: the connection, the planned fields, their profiles so far, the reporter. */
interface Pass {
  conn: DuckDBConnection;
  fields: readonly PlannedField[];
  out: FieldProfile[];
  progress: ProgressReporter;
}

/** Rows, and per field its present and distinct counts: the profiles every later pass fills. */
async function countFields(conn: DuckDBConnection, fields: readonly PlannedField[], opts: ProfileOptions, progress: ProgressReporter): Promise<{ rows: number; out: FieldProfile[] }> {
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
  return { rows, out };
}

/** min, max, mean, std and QUANTILES of the numeric fields with values, in one pass. */
async function numericSummaries({ conn, out, progress }: Pass, numIdx: readonly number[]): Promise<void> {
  if (numIdx.length === 0) return;
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

/** Counts per value of categorical and boolean fields, and of numeric ones with few distinct values. */
async function categories({ conn, fields, out, progress }: Pass): Promise<void> {
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
}

/** A seeded reservoir of at most MAX_SAMPLE values per numeric field, sorted. */
async function samples({ conn, out, progress }: Pass, numIdx: readonly number[], seed: number): Promise<void> {
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
}

/** The most frequent tokens of each text field, and its token count. */
async function vocabularies({ conn, fields, out, progress }: Pass): Promise<void> {
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
}

/** The profiles of the fields of table `t`, pass after pass (see the module comment). */
export async function profileTable(
  conn: DuckDBConnection,
  fields: readonly PlannedField[],
  opts: ProfileOptions,
  progress: ProgressReporter,
): Promise<{ rows: number; fields: FieldProfile[] }> {
  const { rows, out } = await countFields(conn, fields, opts, progress);
  const pass: Pass = { conn, fields, out, progress };
  const numIdx = fields.map((f, i) => (f.type === 'num' ? i : -1)).filter((i) => i >= 0 && out[i]!.count - out[i]!.missing_count > 0);
  await numericSummaries(pass, numIdx);
  await categories(pass);
  await samples(pass, numIdx, opts.seed ?? DEFAULT_SEED);
  await vocabularies(pass);
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

/** Runs a query while polling DuckDB's progress into the reporter; wraps DuckDB errors. */
export async function track<T>(conn: DuckDBConnection, progress: ProgressReporter, job: Promise<T>, what: string): Promise<T> {
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
