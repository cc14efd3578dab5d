/**
 * Plan queries -> DuckDB SQL over the document tables (agent/sinks/embedded/schema.ts), pure.
 *
 * Every value that comes from a rule file or a profile (model, version, field names, segment
 * values, label keys, reference categories, bin edges) is a `$n` parameter, never SQL text: rule
 * files are user input. Only the shape of the SQL (how many segment columns, how many bins) varies.
 *
 * Semantics match the Elasticsearch backend (the parity test holds them together): a missing value
 * has no row in prediction_values (so it is never a category, never unseen, never a number); a
 * segment is skipped for documents without the segment field (as a `terms` aggregation does).
 */
import { PREDICTIONS, PREDICTION_MISSING, PREDICTION_TEXT, PREDICTION_VALUES } from '../../sinks/embedded/schema.ts';
import type { SqlValue } from '../../sinks/embedded/store.ts';
import { splitField, type Query } from '../../rules/query.ts';
import { compileQuality } from './quality.ts';

export interface Statement {
  sql: string;
  params: SqlValue[];
}

class Params {
  readonly values: SqlValue[] = [];
  add(v: SqlValue): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** A value's bucket key as text: strings as they are, whole numbers without ".0" (as JS String()). */
export const KEY_SQL = 'CASE WHEN t.str IS NOT NULL THEN t.str '
  + 'WHEN t.num = trunc(t.num) AND abs(t.num) < 1e15 THEN CAST(CAST(t.num AS BIGINT) AS VARCHAR) '
  + 'ELSE CAST(t.num AS VARCHAR) END';

function needsDocs(q: Query): boolean {
  const fields = [...q.groupBy, ...Object.keys(q.filter.segment ?? {})];
  return fields.some((f) => f !== 'model.version');
}

/** FROM, WHERE and the segment columns (s0, s1, ...) of a query over `table` aliased t. */
function scope(q: Query, table: string, p: Params): { from: string; where: string[]; segs: string[]; segNames: string[] } {
  const docsAlias = table === PREDICTIONS ? 't' : 'p';
  const from = table === PREDICTIONS || !needsDocs(q)
    ? `${table} t`
    : `${table} t JOIN ${PREDICTIONS} p ON p.model_name = t.model_name AND p.event_id = t.event_id`;
  const f = q.filter;
  const where = [`t.model_name = ${p.add(f.model)}`, `t.ts >= ${p.add(f.from)}::TIMESTAMPTZ`, `t.ts < ${p.add(f.to)}::TIMESTAMPTZ`];
  if (f.version !== undefined) where.push(`t.model_version = ${p.add(f.version)}`);
  const expr = (field: string): string => {
    if (field === 'model.version') return 't.model_version';
    if (field === 'host.name') return `${docsAlias}.host`;
    if (field.startsWith('labels.')) return `${docsAlias}.labels[${p.add(field.slice('labels.'.length))}]`;
    throw new Error(`unknown segment field "${field}"`);
  };
  for (const [k, v] of Object.entries(f.segment ?? {})) where.push(`${expr(k)} = ${p.add(v)}`);
  const segs = q.groupBy.map((g, i) => `${expr(g)} AS s${i}`);
  for (let i = 0; i < q.groupBy.length; i++) where.push(`${expr(q.groupBy[i]!)} IS NOT NULL`);
  return { from, where, segs, segNames: q.groupBy.map((_, i) => `s${i}`) };
}

function select(cols: string[]): string {
  return cols.filter(Boolean).join(', ');
}

function groupBy(names: string[], extra: string[] = []): string {
  const all = [...names, ...extra];
  return all.length ? ` GROUP BY ${all.join(', ')}` : '';
}

/**
 * Queries that one statement can answer together: same kind, filter and group_by (and the same
 * percents or limit). Each scan of a long table costs the same whatever it keeps, so one scan per
 * batch instead of one per field is what keeps a six-rule tick on a million documents fast.
 */
export function batchKey(q: Query): string | undefined {
  if (q.kind === 'count' || q.kind === 'missing' || q.kind === 'quality' || (q.kind === 'range' && !linearEdges(q.edges))) return undefined;
  const extra = q.kind === 'percentiles' ? q.percents : q.kind === 'values' ? q.limit : null;
  // terms and unseen both count values per key (sizes are applied after): one scan serves both.
  const kind = q.kind === 'unseen' ? 'terms' : q.kind;
  return JSON.stringify([kind, q.filter.model, q.filter.version ?? null, q.filter.from, q.filter.to, q.filter.segment ?? null, q.groupBy, extra]);
}

/** Groups queries into batches (batchKey), keeping the order of first appearance. */
export function batches(queries: readonly Query[]): Query[][] {
  const out: Query[][] = [];
  const byKey = new Map<string, Query[]>();
  for (const q of queries) {
    const k = batchKey(q);
    if (k === undefined) {
      out.push([q]);
      continue;
    }
    let b = byKey.get(k);
    if (!b) {
      byKey.set(k, (b = []));
      out.push(b);
    }
    b.push(q);
  }
  return out;
}

/** `kind:name` of the field a query of a batch reads: matches the `f` column of batched rows. */
export function fieldTag(q: Query): string {
  if (q.kind === 'text' || q.kind === 'oov_terms') return q.field;
  if ('field' in q) {
    const { kind, name } = splitField(q.field);
    return `${kind}:${name}`;
  }
  return '';
}

/** Documents per segment, and how many name each field in `missing`. */
function compileMissing(q: Extract<Query, { kind: 'count' | 'missing' }>, p: Params): Statement[] {
  const c = countStatement(q);
  if (q.kind === 'count') return [c];
  const s = scope(q, PREDICTION_MISSING, p);
  s.where.push(`list_contains(${p.add(q.names)}::VARCHAR[], t.name)`);
  return [c, {
    sql: `SELECT ${select([...s.segs, 't.name AS key', 'count(*) AS n'])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames, ['key'])}`,
    params: p.values,
  }];
}

/** Counts per value (terms), and for unseen queries which values the reference set lacks. */
function compileCounts(batch: readonly Query[], p: Params): Statement[] {
  const s = valueScope(batch, p);
  const counts = `SELECT ${select([...s.segs, s.tag, `${KEY_SQL} AS key`, 'count(*) AS n'])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames, ['fk', 'fn', 'key'])}`;
  const unseen = batch.filter((x): x is Extract<Query, { kind: 'unseen' }> => x.kind === 'unseen');
  if (!unseen.length) return [{ sql: counts, params: p.values }];
  // Each field's reference set is a parameter (a list per field), joined by field: the values
  // not in it are flagged in SQL; nulls have no row, so they are never unseen.
  const kinds = p.add(unseen.map((x) => splitField(x.field).kind));
  const names = p.add(unseen.map((x) => splitField(x.field).name));
  const sets = p.add(unseen.map((x) => x.reference.values));
  return [{
    sql: `WITH ref AS (SELECT unnest(${kinds}::VARCHAR[]) AS fk, unnest(${names}::VARCHAR[]) AS fn, unnest(${sets}::VARCHAR[][]) AS known) ` +
      `SELECT ${select([...s.segNames, 'v.fk', 'v.fn', 'v.key', 'v.n', 'NOT list_contains(ref.known, v.key) AS unseen'])} FROM (${counts}) v ` +
      'LEFT JOIN ref ON ref.fk = v.fk AND ref.fn = v.fn',
    params: p.values,
  }];
}

/** Token and OOV sums of text fields. */
function compileText(batch: readonly Query[], q: Query, p: Params): Statement[] {
  const s = scope(q, PREDICTION_TEXT, p);
  s.where.push(`list_contains(${p.add(batch.map(fieldTag))}::VARCHAR[], t.name)`);
  return [{
    sql: `SELECT ${select([...s.segs, 't.name AS f', 'count(*) AS docs', 'coalesce(sum(t.token_count), 0) AS tokens', 'coalesce(sum(t.oov_count), 0) AS oov'])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames, ['f'])}`,
    params: p.values,
  }];
}

/** Documents per OOV token of text fields. */
function compileOovTerms(batch: readonly Query[], q: Query, p: Params): Statement[] {
  const s = scope(q, PREDICTION_TEXT, p);
  s.where.push(`list_contains(${p.add(batch.map(fieldTag))}::VARCHAR[], t.name)`);
  s.where.push('t.oov_tokens IS NOT NULL');
  return [{
    sql: `SELECT ${select([...s.segNames, 'f', 'key', 'count(*) AS n'])} FROM (SELECT ${select([...s.segs, 't.name AS f', 'unnest(list_distinct(t.oov_tokens)) AS key'])} FROM ${s.from} WHERE ${s.where.join(' AND ')})${groupBy(s.segNames, ['f', 'key'])}`,
    params: p.values,
  }];
}

/** count, min, max, sum, sum of squares of numeric fields. */
function compileStats(batch: readonly Query[], p: Params): Statement[] {
  const s = valueScope(batch, p);
  s.where.push('t.num IS NOT NULL');
  return [{
    sql: `SELECT ${select([...s.segs, s.tag, 'count(t.num) AS n', 'min(t.num) AS min', 'max(t.num) AS max', 'sum(t.num) AS sum', 'sum(t.num * t.num) AS sum_sq'])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames, ['fk', 'fn'])}`,
    params: p.values,
  }];
}

/** Continuous quantiles of numeric fields. */
function compilePercentiles(batch: readonly Query[], q: Extract<Query, { kind: 'percentiles' }>, p: Params): Statement[] {
  const s = valueScope(batch, p);
  s.where.push('t.num IS NOT NULL');
  const qs = p.add(q.percents.map((x) => x / 100));
  return [{
    sql: `SELECT ${select([...s.segs, s.tag, `quantile_cont(t.num, ${qs}::DOUBLE[]) AS q`])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames, ['fk', 'fn'])}`,
    params: p.values,
  }];
}

/**
 * Counts per equal-width bin (Sturges edges are numpy's linspace: e_i = i * step + e_0): the bin is
 * computed, then checked against the neighbouring edges computed the same way, so values on
 * an edge land exactly where [e_i, e_i+1) puts them. One GROUP BY instead of a FILTER per bin.
 */
function compileLinearRange(batch: readonly Query[], s: ValueScope, p: Params): Statement[] {
  const rows = batch.map((x) => {
    if (x.kind !== 'range') return '';
    const { kind, name } = splitField(x.field);
    return `(${p.add(kind)}, ${p.add(name)}, ${p.add(x.edges[0]!)}::DOUBLE, ${p.add(step_(x.edges))}::DOUBLE, ${p.add(x.edges.length - 2)}::BIGINT)`;
  });
  // The bins of each field join in as a tiny table: a hash join beats a CASE per row.
  const from = `${s.from} JOIN (VALUES ${rows.join(', ')}) ref(fk, fn, e0, step, last) ON ref.fn = t.name AND ref.fk = t.kind`;
  const inner = `SELECT ${select([...s.segs, 'ref.fk', 'ref.fn', 't.num AS v', 'ref.e0', 'ref.step', 'ref.last', 'least(ref.last, greatest(0, floor((t.num - ref.e0) / ref.step)))::BIGINT AS k'])} ` +
    `FROM ${from} WHERE ${s.where.join(' AND ')}`;
  const bin = 'CASE WHEN k > 0 AND v < k * step + e0 THEN k - 1 WHEN k < last AND v >= (k + 1) * step + e0 THEN k + 1 ELSE k END AS bin';
  return [{
    sql: `SELECT ${select([...s.segNames, 'fk', 'fn', bin, 'count(*) AS n'])} FROM (${inner})${groupBy(s.segNames, ['fk', 'fn', 'bin'])}`,
    params: p.values,
  }];
}

/** Counts per bin [e_i, e_{i+1}), the last bin unbounded. */
function compileRange(batch: readonly Query[], q: Extract<Query, { kind: 'range' }>, p: Params): Statement[] {
  const s = valueScope(batch, p);
  s.where.push('t.num IS NOT NULL');
  if (linearEdges(q.edges)) return compileLinearRange(batch, s, p);
  const e = q.edges;
  const bins: string[] = [];
  for (let i = 0; i + 1 < e.length; i++) {
    // The last bin has no upper bound: the edges end at the max of the data, which belongs to it.
    const cond = i + 2 < e.length ? `t.num >= ${p.add(e[i]!)} AND t.num < ${p.add(e[i + 1]!)}` : `t.num >= ${p.add(e[i]!)}`;
    bins.push(`count(*) FILTER (WHERE ${cond}) AS b${i}`);
  }
  return [{ sql: `SELECT ${select([...s.segs, ...bins])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames)}`, params: p.values }];
}

/** Raw values of numeric fields (a deterministic subset above the limit), and their totals. */
function compileValues(batch: readonly Query[], q: Extract<Query, { kind: 'values' }>, p: Params): Statement[] {
  const s = valueScope(batch, p);
  s.where.push('t.num IS NOT NULL');
  const total = { sql: `SELECT ${select([...s.segs, s.tag, 'count(*) AS n'])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames, ['fk', 'fn'])}`, params: [...p.values] };
  // hash(event_id) orders the documents pseudo-randomly but the same way on every run: above
  // the limit the subset is a deterministic sample spread over the whole window.
  return [total, {
    sql: `SELECT ${select([...s.segs, s.tag, 't.num AS v'])} FROM ${s.from} WHERE ${s.where.join(' AND ')} ` +
      `QUALIFY row_number() OVER (PARTITION BY t.kind, t.name ORDER BY hash(t.event_id), t.event_id) <= ${p.add(q.limit)}`,
    params: p.values,
  }];
}

/**
 * The statements of a batch (queries of one batchKey, or a single count/missing/range query).
 * Batched statements return columns `fk`, `fn` (kind and name; `f` for text) that tell the
 * queries' rows apart.
 */
export function compile(batch: readonly Query[]): Statement[] {
  const p = new Params();
  const q = batch[0]!;
  switch (q.kind) {
    case 'quality': return compileQuality(q);
    case 'count':
    case 'missing': return compileMissing(q, p);
    case 'terms':
    case 'unseen': return compileCounts(batch, p);
    case 'text': return compileText(batch, q, p);
    case 'oov_terms': return compileOovTerms(batch, q, p);
    case 'stats': return compileStats(batch, p);
    case 'percentiles': return compilePercentiles(batch, q, p);
    case 'range': return compileRange(batch, q, p);
    case 'values': return compileValues(batch, q, p);
  }
}

function step_(edges: readonly number[]): number {
  return (edges[edges.length - 1]! - edges[0]!) / (edges.length - 1);
}

/** True when the edges are numpy's linspace (what sturgesEdges gives): e_i = i * step + e_0, the last = max. */
export function linearEdges(edges: readonly number[]): boolean {
  if (edges.length < 2) return false;
  const step = step_(edges);
  if (!(step > 0)) return false;
  for (let i = 0; i < edges.length - 1; i++) if (edges[i] !== i * step + edges[0]!) return false;
  return true;
}

function countStatement(q: Query): Statement {
  const p = new Params();
  const s = scope(q, PREDICTIONS, p);
  return { sql: `SELECT ${select([...s.segs, 'count(*) AS n'])} FROM ${s.from} WHERE ${s.where.join(' AND ')}${groupBy(s.segNames)}`, params: p.values };
}

/** Scope over prediction_values restricted to the batch's fields; `tag` selects the `f` column. */
type ValueScope = ReturnType<typeof valueScope>;

function valueScope(batch: readonly Query[], p: Params) {
  const s = scope(batch[0]!, PREDICTION_VALUES, p);
  const fields = batch.map((q) => ('field' in q ? splitField(q.field) : { kind: 'feature' as const, name: '' }));
  if (fields.length === 1) {
    s.where.push(`t.kind = ${p.add(fields[0]!.kind)}`, `t.name = ${p.add(fields[0]!.name)}`);
  } else {
    // list_contains scans faster in DuckDB than an IN list of parameters.
    s.where.push(`list_contains(${p.add([...new Set(fields.map((f) => f.kind))])}::VARCHAR[], t.kind)`, `list_contains(${p.add([...new Set(fields.map((f) => f.name))])}::VARCHAR[], t.name)`);
  }
  // Two columns, not one concatenated tag: grouping on strings built per row costs DuckDB 2-3x.
  return { ...s, tag: 't.kind AS fk, t.name AS fn' };
}

/** SQL with its parameters listed after it, for `rules explain`. */
export function formatStatement(st: Statement): string {
  const params = st.params.map((v, i) => `--   $${i + 1} = ${JSON.stringify(v)}`).join('\n');
  return `${st.sql};${params ? `\n${params}` : ''}`;
}
