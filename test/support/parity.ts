/**
 * Parity of the two rule backends on the same events: the real search engine (test/engine/) and
 * real DuckDB. Loads events and reference profiles into both, evaluates rules on both, and compares
 * what they answered: counts exactly, sums to 1e-9 relative, percentiles within a tolerance (the
 * engine's percentiles are t-digest estimates, DuckDB's `quantile_cont` is exact: they differ by
 * design, and `compareAnswers` measures by how much).
 */
import type { EngineClient } from '../../agent/engine/client.ts';
import { ElasticsearchBackend } from '../../agent/backends/elasticsearch/backend.ts';
import { EmbeddedBackend } from '../../agent/backends/embedded/backend.ts';
import { predictionsStream } from '../../agent/normalize/document.ts';
import type { ReferenceProfile } from '../../agent/reference/profile.ts';
import { ElasticsearchReferenceStore } from '../../agent/reference/store-elasticsearch.ts';
import { EmbeddedReferenceStore } from '../../agent/reference/store-embedded.ts';
import type { Answers, Backend, Payload, Query } from '../../agent/rules/plan.ts';
import type { RuleResult, TimeWindow } from '../../agent/rules/result.ts';
import { evaluateRules, type TickReport } from '../../agent/rules/runner.ts';
import type { Rule } from '../../agent/rules/schema.ts';
import { EmbeddedSink } from '../../agent/sinks/embedded/sink.ts';
import type { EmbeddedStore } from '../../agent/sinks/embedded/store.ts';
import type { OutEvent } from '../../agent/sinks/sink.ts';

/** Records every query and answer a backend gives. */
export class Recording implements Backend {
  readonly name: Backend['name'];
  readonly answers = new Map<string, Map<string, Payload> | Error>();
  readonly queries: Query[] = [];
  constructor(readonly inner: Backend) {
    this.name = inner.name;
  }
  async execute(queries: readonly Query[]): Promise<Answers> {
    this.queries.push(...queries);
    const a = await this.inner.execute(queries);
    for (const [k, v] of a) this.answers.set(k, v);
    return a;
  }
  explain(queries: readonly Query[]): string {
    return this.inner.explain(queries);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The same events and profiles in DuckDB and in the engine (under `prefix`, after setup). */
export async function loadBoth(opts: { store: EmbeddedStore; client: EngineClient; prefix: string; model: string; events: readonly OutEvent[]; profiles: readonly ReferenceProfile[] }): Promise<void> {
  const refs = new EmbeddedReferenceStore(opts.store);
  for (const p of opts.profiles) await refs.save(p);
  const sink = new EmbeddedSink({ store: opts.store });
  await sink.start();
  await sink.send({ events: [...opts.events], bytes: 0 });
  await sink.stop();
  const esRefs = new ElasticsearchReferenceStore(opts.client, { indexPrefix: opts.prefix });
  for (const p of opts.profiles) await esRefs.save(p);
  const index = predictionsStream(opts.prefix, opts.model);
  for (let i = 0; i < opts.events.length; i += 5000) {
    const operations: unknown[] = [];
    for (const e of opts.events.slice(i, i + 5000)) operations.push({ create: { _index: index, _id: e.id } }, e.doc);
    const res = await opts.client.bulk({ operations });
    if (res.errors) throw new Error(`the engine refused fixture documents: ${JSON.stringify(res.items.find((x) => x.create?.error))}`);
  }
  await opts.client.request({ method: 'POST', path: `/${prefixPattern(opts.prefix)}/_refresh`, querystring: { expand_wildcards: 'all' } });
}

function prefixPattern(prefix: string): string {
  return `${prefix}-*,.ds-${prefix}-*`;
}

export interface BothRun {
  emb: Recording;
  esb: Recording;
  e: TickReport;
  s: TickReport;
}

/** Evaluates the same rules and windows on both backends. */
export async function evaluateBoth(opts: { store: EmbeddedStore; client: EngineClient; prefix: string; items: readonly { rule: Rule; window: TimeWindow }[]; now: Date }): Promise<BothRun> {
  const emb = new Recording(new EmbeddedBackend(opts.store));
  const esb = new Recording(new ElasticsearchBackend(opts.client, { indexPrefix: opts.prefix }));
  const now = () => opts.now;
  const e = await evaluateRules(opts.items, { backend: emb, references: new EmbeddedReferenceStore(opts.store), now });
  const s = await evaluateRules(opts.items, { backend: esb, references: new ElasticsearchReferenceStore(opts.client, { indexPrefix: opts.prefix }), now });
  return { emb, esb, e, s };
}

/** What comparing two backends found: mismatches (must be none) and the percentile deviations measured. */
export interface Comparison {
  mismatches: string[];
  /**
   * Largest distance, in ranks (order statistics), between the engine's percentile and the exact
   * one (DuckDB's quantile_cont at rank p/100 x (n - 1)), and the same as a share of n.
   */
  maxRankDeviation: number;
  maxRankShare: number;
  /** Largest |engine - DuckDB| relative to the field's range in the segment. */
  maxRangeDeviation: number;
  maxAt: string;
  percentilesCompared: number;
}

/** Tolerance of percentiles: within `ranks` order statistics, or `share` x n ranks, whichever is larger. */
export interface PercentileTolerance {
  ranks: number;
  share: number;
}

/** The raw values a query's segment looked at (from the events loaded), ascending. */
export type ValuesOf = (q: Query, seg: string) => number[];

/** Relative tolerance of sums and sums of squares (float summation order). */
export const SUM_TOLERANCE = 1e-9;

function close(a: number | null, b: number | null, rel = SUM_TOLERANCE): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Fractional rank (0-based) at which linear interpolation between sorted `xs` gives `v`. */
export function rankOf(xs: readonly number[], v: number): number {
  if (xs.length === 0) return NaN;
  if (v <= xs[0]!) return 0;
  if (v >= xs[xs.length - 1]!) return xs.length - 1;
  let lo = 0;
  let hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= v) lo = mid;
    else hi = mid;
  }
  // Ties: the middle of the run of equal values.
  let first = lo;
  while (first > 0 && xs[first - 1] === xs[lo]) first--;
  if (xs[lo] === v) return (first + lo) / 2;
  return lo + (v - xs[lo]!) / (xs[hi]! - xs[lo]!);
}

/**
 * Compares the answers of both backends query by query: everything exactly (sums to 1e-9) but
 * percentiles, which are placed among the raw values (`valuesOf`) and checked in rank space.
 */
export function compareAnswers(run: BothRun, tolerance: PercentileTolerance, valuesOf: ValuesOf): Comparison {
  const out: Comparison = { mismatches: [], maxRankDeviation: 0, maxRankShare: 0, maxRangeDeviation: 0, maxAt: '', percentilesCompared: 0 };
  const queries = new Map(run.emb.queries.map((q) => [q.id, q]));
  const ids = new Set([...run.emb.answers.keys(), ...run.esb.answers.keys()]);
  for (const id of ids) {
    const a = run.emb.answers.get(id);
    const b = run.esb.answers.get(id);
    if (!(a instanceof Map) || !(b instanceof Map)) {
      out.mismatches.push(`${id}: embedded ${a instanceof Error ? a.message : String(a)}; engine ${b instanceof Error ? b.message : String(b)}`);
      continue;
    }
    for (const seg of new Set([...a.keys(), ...b.keys()])) {
      const x = a.get(seg);
      const y = b.get(seg);
      const where = `${id} [${seg}]`;
      if (!x || !y) {
        // A segment without documents may be absent on one side: only an empty one.
        if (!isEmpty(x ?? y!)) out.mismatches.push(`${where}: only on the ${x ? 'embedded' : 'engine'} side: ${JSON.stringify(x ?? y)}`);
        continue;
      }
      if (x.kind === 'percentiles' && y.kind === 'percentiles') {
        comparePercentiles(out, where, x.values, y.values, valuesOf(queries.get(id)!, seg), tolerance);
        continue;
      }
      if (x.kind === 'stats' && y.kind === 'stats') {
        const same = x.count === y.count && x.min === y.min && x.max === y.max && close(x.sum, y.sum) && close(x.sumOfSquares, y.sumOfSquares);
        if (!same) out.mismatches.push(`${where}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
        continue;
      }
      if (JSON.stringify(x) !== JSON.stringify(y)) out.mismatches.push(`${where}: embedded ${JSON.stringify(x).slice(0, 400)} vs engine ${JSON.stringify(y).slice(0, 400)}`);
    }
  }
  return out;
}

function comparePercentiles(out: Comparison, where: string, exact: Record<string, number | null>, engine: Record<string, number | null>, xs: number[], tol: PercentileTolerance): void {
  const n = xs.length;
  const range = n ? xs[n - 1]! - xs[0]! : 0;
  for (const [p, v] of Object.entries(exact)) {
    const w = engine[p] ?? null;
    if (v === null || w === null) {
      if (v !== w) out.mismatches.push(`${where} p${p}: ${v} vs ${w}`);
      continue;
    }
    out.percentilesCompared++;
    const want = (Number(p) / 100) * (n - 1);
    if (Math.abs(rankOf(xs, v) - want) > 1e-6 && Math.abs(v - interpolate(xs, want)) > 1e-9 * Math.max(1, Math.abs(v))) {
      out.mismatches.push(`${where} p${p}: DuckDB ${v} is not the exact percentile ${interpolate(xs, want)} of the ${n} values`);
    }
    const dr = Math.abs(rankOf(xs, w) - want);
    const dv = range > 0 ? Math.abs(v - w) / range : 0;
    if (dr > out.maxRankDeviation) {
      out.maxRankDeviation = dr;
      out.maxAt = `${where} p${p} of ${n} values: DuckDB ${v}, engine ${w}`;
    }
    out.maxRankShare = Math.max(out.maxRankShare, n ? dr / n : 0);
    out.maxRangeDeviation = Math.max(out.maxRangeDeviation, dv);
    if (dr > Math.max(tol.ranks, tol.share * n)) out.mismatches.push(`${where} p${p}: DuckDB ${v}, engine ${w}: ${dr.toFixed(2)} ranks apart among ${n} values`);
  }
}

function interpolate(xs: readonly number[], r: number): number {
  const lo = Math.floor(r);
  const hi = Math.min(lo + 1, xs.length - 1);
  return xs[lo]! + (xs[hi]! - xs[lo]!) * (r - lo);
}

function isEmpty(p: Payload): boolean {
  switch (p.kind) {
    case 'count': return p.count === 0;
    case 'missing': return p.total === 0;
    case 'stats': return p.count === 0;
    case 'values': return p.total === 0;
    case 'text': return p.docs === 0;
    case 'unseen': return p.present === 0;
    default: return false;
  }
}

/** A field of a prediction document by its path (`features.amount`, `prediction.score`, `model.version`). */
export function fieldOf(doc: unknown, path: string): unknown {
  let o = doc as Record<string, unknown> | undefined;
  const parts = path.split('.');
  for (let i = 0; i < parts.length && o && typeof o === 'object'; i++) {
    const rest = parts.slice(i).join('.');
    if (rest in o) return o[rest];
    o = o[parts[i]!] as Record<string, unknown> | undefined;
  }
  return undefined;
}

/** The numbers of `query.field` in the events that match the query's filter and segment, ascending. */
export function valuesFromEvents(events: readonly OutEvent[]): ValuesOf {
  return (q, seg) => {
    const want: Record<string, string> = { ...(q.filter.segment ?? {}) };
    if (seg) for (const part of seg.split(',')) { const i = part.indexOf('='); want[part.slice(0, i)] = part.slice(i + 1); }
    const from = Date.parse(q.filter.from);
    const to = Date.parse(q.filter.to);
    const field = (q as { field?: string }).field ?? '';
    const out: number[] = [];
    for (const e of events) {
      const d = e.doc as unknown as Record<string, unknown>;
      const ts = Date.parse(String(d['@timestamp']));
      if (ts < from || ts >= to || fieldOf(d, 'model.name') !== q.filter.model) continue;
      if (q.filter.version !== undefined && fieldOf(d, 'model.version') !== q.filter.version) continue;
      if (Object.entries(want).some(([k, v]) => String(fieldOf(d, k)) !== v)) continue;
      const v = fieldOf(d, field);
      if (typeof v === 'number') out.push(v);
    }
    return out.sort((x, y) => x - y);
  };
}

/** Numbers to 9 significant digits (float summation order), evaluated_at dropped. */
export function norm(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) && v !== 0 ? Number(v.toPrecision(9)) : v;
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([k]) => k !== 'evaluated_at').map(([k, x]) => [k, norm(x)]));
  return v;
}

const isPercentile = (stat: string): boolean => stat === 'median' || /^p\d/.test(stat);

/**
 * A prediction_stats result split into what must be equal and its percentile values (in
 * details.statistics, details.violations and, when the statistic is one, value and verdict).
 */
function splitPercentiles(r: RuleResult): { exact: unknown; approx: Record<string, number | null>; verdict?: { status: string; drifted: boolean } } {
  const { evaluated_at: _e, ...rest } = r;
  if (r.type !== 'prediction_stats') return { exact: rest, approx: {} };
  const approx: Record<string, number | null> = {};
  const details = { ...r.details };
  const stats = { ...(details.statistics as Record<string, number | null> | undefined) };
  for (const k of Object.keys(stats)) if (isPercentile(k)) { approx[k] = stats[k] ?? null; delete stats[k]; }
  details.statistics = stats;
  if (Array.isArray(details.violations)) details.violations = (details.violations as { statistic: string }[]).filter((v) => !isPercentile(v.statistic));
  const exact: Record<string, unknown> = { ...rest, details };
  if (!isPercentile(r.statistic)) return { exact, approx };
  approx.value = r.value;
  delete exact.value;
  delete exact.status;
  delete exact.drifted;
  return { exact, approx, verdict: { status: r.status, drifted: r.drifted } };
}

/**
 * Results of both backends compared: the same results in the same order, equal after `norm`,
 * except percentile values of prediction_stats (details.statistics, violations, value), compared
 * within `relTolerance` of the value; a verdict on a percentile may differ only where its bound
 * lies between the two estimates. Returns the mismatches.
 */
export function compareResults(e: TickReport, s: TickReport, relTolerance: number): string[] {
  const out: string[] = [];
  const er = e.evaluations.flatMap((x) => x.results);
  const sr = s.evaluations.flatMap((x) => x.results);
  if (er.length !== sr.length) out.push(`result count: embedded ${er.length}, engine ${sr.length}`);
  for (let i = 0; i < Math.min(er.length, sr.length); i++) {
    const a = splitPercentiles(er[i]!);
    const b = splitPercentiles(sr[i]!);
    const r = er[i]!;
    const where = `${r.rule} ${r.field} [${r.segment}] ${r.window.from}`;
    const ja = JSON.stringify(norm(a.exact));
    const jb = JSON.stringify(norm(b.exact));
    if (ja !== jb) out.push(`${where}: embedded ${ja.slice(0, 600)} vs engine ${jb.slice(0, 600)}`);
    for (const [k, va] of Object.entries(a.approx)) {
      const vb = b.approx[k] ?? null;
      if (va === null || vb === null ? va !== vb : Math.abs(va - vb) > relTolerance * Math.max(Math.abs(va), 1e-12)) out.push(`${where}: ${k} ${va} vs ${vb}`);
    }
    if (a.verdict && b.verdict && (a.verdict.status !== b.verdict.status || a.verdict.drifted !== b.verdict.drifted)) {
      const va = a.approx.value ?? null;
      const vb = b.approx.value ?? null;
      const t = r.threshold?.value ?? null;
      const between = t !== null && va !== null && vb !== null && Math.min(va, vb) <= t && t <= Math.max(va, vb);
      if (!between) out.push(`${where}: ${a.verdict.status} vs ${b.verdict.status} at ${va} vs ${vb}`);
    }
  }
  return out;
}
