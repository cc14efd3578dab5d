/**
 * model_quality queries -> SQL over the `outcomes` table (agent/quality/store-embedded.ts) and the
 * rows back into a QualityAnswer, pure. Same numbers as the search-engine form
 * (agent/backends/elasticsearch/quality.ts): counts per (actual, predicted) class, per score bin
 * the positives, negatives and log-loss sum, and the regression sums.
 */
import { OUTCOMES } from '../../quality/store-embedded.ts';
import type { SqlValue } from '../../sinks/embedded/store.ts';
import { segmentKey, type Query, type SegmentAnswers } from '../../rules/plan.ts';
import { emptyQualityAnswer, type QualityAnswer } from '../../rules/quality.ts';

type QualityQuery = Extract<Query, { kind: 'quality' }>;
type Row = Record<string, unknown>;
export interface Statement { sql: string; params: SqlValue[] }

function scope(q: QualityQuery): { where: string; segs: string[]; names: string[]; params: SqlValue[] } {
  const params: SqlValue[] = [];
  const add = (v: SqlValue) => { params.push(v); return `$${params.length}`; };
  const f = q.filter;
  const where = [`t.model_name = ${add(f.model)}`, `t.ts >= ${add(f.from)}::TIMESTAMPTZ`, `t.ts < ${add(f.to)}::TIMESTAMPTZ`, `t.task = ${add(q.task)}`];
  if (f.version !== undefined) where.push(`t.model_version = ${add(f.version)}`);
  const expr = (field: string): string => {
    if (field === 'model.version') return 't.model_version';
    if (field === 'host.name') return 't.host';
    if (field.startsWith('labels.')) return `t.labels[${add(field.slice('labels.'.length))}]`;
    throw new Error(`unknown segment field "${field}"`);
  };
  for (const [k, v] of Object.entries(f.segment ?? {})) where.push(`${expr(k)} = ${add(v)}`);
  const segs = q.groupBy.map((g, i) => `${expr(g)} AS s${i}`);
  q.groupBy.forEach((g) => where.push(`${expr(g)} IS NOT NULL`));
  return { where: where.join(' AND '), segs, names: q.groupBy.map((_, i) => `s${i}`), params };
}

const cols = (xs: string[]) => xs.filter(Boolean).join(', ');
const group = (xs: string[]) => (xs.length ? ` GROUP BY ${xs.join(', ')}` : '');

export function compileQuality(q: QualityQuery): Statement[] {
  if (q.task === 'regression') {
    const s = scope(q);
    return [{
      sql: `SELECT ${cols([...s.segs, 'count(*) AS n', 'sum(t.error) AS e', 'sum(t.abs_error) AS ae', 'sum(t.squared_error) AS se', 'sum(t.abs_pct_error) AS ape', 'sum(t.actual_value) AS a', 'sum(t.actual_squared) AS a2'])} ` +
        `FROM ${OUTCOMES} t WHERE ${s.where} AND t.actual_value IS NOT NULL${group(s.names)}`,
      params: s.params,
    }];
  }
  const s1 = scope(q);
  const s2 = scope(q);
  return [
    { sql: `SELECT ${cols([...s1.segs, 't.actual_class AS a', 't.predicted_class AS p', 'count(*) AS n'])} FROM ${OUTCOMES} t WHERE ${s1.where}${group([...s1.names, 'a', 'p'])}`, params: s1.params },
    {
      sql: `SELECT ${cols([...s2.segs, 't.score_bin AS bin', 'sum(t.actual_positive) AS pos', 'count(*) - sum(t.actual_positive) AS neg', 'sum(t.log_loss) AS ll'])} ` +
        `FROM ${OUTCOMES} t WHERE ${s2.where} AND t.score_bin IS NOT NULL${group([...s2.names, 'bin'])}`,
      params: s2.params,
    },
  ];
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export function decodeQuality(q: QualityQuery, results: Row[][]): SegmentAnswers {
  const out: SegmentAnswers = new Map();
  const at = (r: Row): QualityAnswer => {
    const k = segmentKey(q.groupBy, q.groupBy.map((_, i) => r[`s${i}`] as string));
    let a = out.get(k) as QualityAnswer | undefined;
    if (!a) out.set(k, (a = emptyQualityAnswer(q.bins)));
    return a;
  };
  if (q.task === 'regression') {
    for (const r of results[0] ?? []) {
      const a = at(r);
      a.labelled = num(r.n);
      a.sums = { n: num(r.n), error: num(r.e), absError: num(r.ae), squaredError: num(r.se), absPctError: num(r.ape), actual: num(r.a), actualSquared: num(r.a2) };
    }
  } else {
    for (const r of results[0] ?? []) {
      const a = at(r);
      const row = (a.confusion[String(r.a)] ??= {});
      row[String(r.p)] = num(r.n);
      a.labelled += num(r.n);
    }
    for (const r of results[1] ?? []) {
      const a = at(r);
      const b = num(r.bin);
      a.pos[b] = num(r.pos);
      a.neg[b] = num(r.neg);
      a.scored += num(r.pos) + num(r.neg);
      a.logLossSum += num(r.ll);
    }
  }
  if (q.groupBy.length === 0 && !out.has('')) out.set('', emptyQualityAnswer(q.bins));
  return out;
}
