/**
 * The embedded rule backend: runs plan queries as SQL (sql.ts) on the DuckDB store and returns the
 * same answers as the Elasticsearch backend. A failing query is reported as an Error for that
 * query only, so one bad rule never stops the others.
 */
import type { EmbeddedStore } from '../../sinks/embedded/store.ts';
import { BackendError } from '../../errors.ts';
import { emptyPayload, segmentKey, sortBuckets, type Answers, type Backend, type Bucket, type Payload, type Query, type SegmentAnswers } from '../../rules/query.ts';
import { batches, compile, fieldTag, formatStatement } from './sql.ts';
import { decodeQuality } from './quality.ts';
import { OUTCOME_MIGRATIONS, OUTCOMES } from '../../quality/store-embedded.ts';
import { migrate } from '../../sinks/embedded/schema.ts';

type Row = Record<string, unknown>;

function segOf(q: Query, row: Row): string {
  return segmentKey(q.groupBy, q.groupBy.map((_, i) => row[`s${i}`] as string));
}

function num(v: unknown): number {
  if (typeof v === 'bigint') return Number(v);
  return v === null || v === undefined ? 0 : Number(v);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** Buckets -> sorted, cut at `size`, with the rest counted in `other`. */
function topBuckets(all: Bucket[], size: number): { buckets: Bucket[]; other: number } {
  sortBuckets(all);
  const buckets = all.slice(0, size);
  let other = 0;
  for (let i = size; i < all.length; i++) other += all[i]!.count;
  return { buckets, other };
}

function groupRows(q: Query, rows: Row[]): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) {
    const k = segOf(q, r);
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(r);
  }
  return out;
}

/** One batch being decoded: its queries, the rows of its statements, and the answers filled in. */
interface Decoding {
  q0: Query;
  results: Row[][];
  out: Map<string, SegmentAnswers>;
  /** Rows of a batched statement, split by the query (field) they belong to. */
  split(rows: Row[]): Map<Query, Row[]>;
  set(q: Query, seg: string, p: Payload): void;
}

function decodeMissing({ q0, results, out }: Decoding): void {
  if (q0.kind !== 'missing') return;
  const a = out.get(q0.id)!;
  for (const r of results[0]!) a.set(segOf(q0, r), { kind: 'missing', total: num(r.n), counts: Object.fromEntries(q0.names.map((n) => [n, 0])) });
  for (const r of results[1]!) {
    const m = a.get(segOf(q0, r));
    if (m?.kind === 'missing') m.counts[String(r.key)] = num(r.n);
  }
}

/** terms, unseen and oov_terms: buckets per segment, the top ones kept. */
function decodeBuckets({ results, split, set }: Decoding): void {
  for (const [q, rows] of split(results[0]!)) {
    for (const [seg, list] of groupRows(q, rows)) {
      const all = list.map((r) => ({ key: String(r.key), count: num(r.n) }));
      if (q.kind === 'unseen') {
        const unseen = list.filter((r) => r.unseen === true).map((r) => ({ key: String(r.key), count: num(r.n) }));
        set(q, seg, { kind: 'unseen', present: all.reduce((n, b) => n + b.count, 0), unseen: unseen.reduce((n, b) => n + b.count, 0), ...topBuckets(unseen, q.size) });
      } else if (q.kind === 'terms' || q.kind === 'oov_terms') {
        set(q, seg, { kind: q.kind, ...topBuckets(all, q.size) });
      }
    }
  }
}

function decodePercentiles({ results, split, set }: Decoding): void {
  for (const [q, rows] of split(results[0]!)) {
    if (q.kind !== 'percentiles') continue;
    for (const r of rows) {
      const qs = (r.q as (number | null)[] | null) ?? [];
      set(q, segOf(q, r), { kind: 'percentiles', values: Object.fromEntries(q.percents.map((p, i) => [String(p), qs[i] ?? null])) });
    }
  }
}

/** Range counts: one row per bin (equal-width bins, sql.ts) or one column per bin. */
function decodeRange({ q0, results, out, split, set }: Decoding): void {
  if (results[0]!.length && 'bin' in results[0]![0]!) {
    for (const [q, rows] of split(results[0]!)) {
      if (q.kind !== 'range') continue;
      for (const r of rows) {
        const seg = segOf(q, r);
        let a = out.get(q.id)!.get(seg);
        if (!a) out.get(q.id)!.set(seg, (a = emptyPayload(q)));
        if (a.kind === 'range' && r.bin !== null) a.counts[Number(r.bin)]! += num(r.n);
      }
    }
  } else {
    for (const r of results[0]!) set(q0, segOf(q0, r), { kind: 'range', counts: q0.kind === 'range' ? q0.edges.slice(1).map((_, i) => num(r[`b${i}`])) : [] });
  }
}

function decodeValues({ results, out, split, set }: Decoding): void {
  for (const [q, rows] of split(results[0]!)) for (const r of rows) set(q, segOf(q, r), { kind: 'values', values: [], total: num(r.n) });
  for (const [q, rows] of split(results[1]!)) {
    const a = out.get(q.id)!;
    for (const r of rows) {
      const v = a.get(segOf(q, r));
      if (v?.kind === 'values') v.values.push(Number(r.v));
    }
  }
  for (const a of out.values()) for (const v of a.values()) if (v.kind === 'values') v.values.sort((x, y) => x - y);
}

const DECODERS: Record<Query['kind'], (d: Decoding) => void> = {
  quality: ({ q0, results, out }) => void out.set(q0.id, decodeQuality(q0 as Extract<Query, { kind: 'quality' }>, results)),
  count: ({ q0, results, set }) => {
    for (const r of results[0]!) set(q0, segOf(q0, r), { kind: 'count', count: num(r.n) });
  },
  missing: decodeMissing,
  terms: decodeBuckets,
  unseen: decodeBuckets,
  oov_terms: decodeBuckets,
  text: ({ results, split, set }) => {
    for (const [q, rows] of split(results[0]!)) for (const r of rows) set(q, segOf(q, r), { kind: 'text', docs: num(r.docs), tokens: num(r.tokens), oov: num(r.oov) });
  },
  stats: ({ results, split, set }) => {
    for (const [q, rows] of split(results[0]!)) {
      for (const r of rows) set(q, segOf(q, r), { kind: 'stats', count: num(r.n), min: numOrNull(r.min), max: numOrNull(r.max), sum: num(r.sum), sumOfSquares: num(r.sum_sq) });
    }
  },
  percentiles: decodePercentiles,
  range: decodeRange,
  values: decodeValues,
};

/** Rows of the statements of a batch -> each query's answers per segment. */
export function decode(batch: readonly Query[], results: Row[][]): Map<string, SegmentAnswers> {
  // A field can have two queries in one batch (terms and unseen share a scan).
  const byTag = new Map<string, Query[]>();
  for (const q of batch) byTag.set(fieldTag(q), [...(byTag.get(fieldTag(q)) ?? []), q]);
  const out = new Map<string, SegmentAnswers>(batch.map((q) => [q.id, new Map()]));
  const q0 = batch[0]!;
  const split = (rows: Row[]): Map<Query, Row[]> => {
    const m = new Map<Query, Row[]>();
    for (const r of rows) {
      const tag = 'fk' in r ? `${String(r.fk)}:${String(r.fn)}` : 'f' in r ? String(r.f) : undefined;
      for (const q of tag === undefined ? [q0] : byTag.get(tag) ?? []) {
        let list = m.get(q);
        if (!list) m.set(q, (list = []));
        list.push(r);
      }
    }
    return m;
  };
  DECODERS[q0.kind]({ q0, results, out, split, set: (q, seg, p) => out.get(q.id)!.set(seg, p) });
  // Without group_by there is always an answer, as Elasticsearch gives (zeros over no documents).
  for (const q of batch) if (q.groupBy.length === 0 && !out.get(q.id)!.has('')) out.get(q.id)!.set('', emptyPayload(q));
  return out;
}

export class EmbeddedBackend implements Backend {
  readonly name = 'embedded' as const;
  readonly #store: EmbeddedStore;
  readonly #owned: boolean;
  #outcomes?: Promise<number>;
  /** SQL statements run (for the benchmark and tests). */
  statements = 0;

  /** `owned`: close() releases the store (commands open their own; the agent shares its sink's). */
  constructor(store: EmbeddedStore, options: { owned?: boolean } = {}) {
    this.#store = store;
    this.#owned = options.owned ?? false;
  }

  async execute(queries: readonly Query[]): Promise<Answers> {
    const answers: Answers = new Map();
    // Identical statements (the document count of several rules over the same window) run once.
    const memo = new Map<string, Promise<Row[]>>();
    for (const batch of batches(queries)) {
      try {
        // A model_quality rule before any outcome was joined (or with no feedback input yet) sees
        // an empty outcomes table, as the engine answers an absent index: no labelled predictions.
        if (batch[0]!.kind === 'quality') await (this.#outcomes ??= migrate(this.#store, OUTCOMES, OUTCOME_MIGRATIONS));
        const results: Row[][] = [];
        for (const st of compile(batch)) {
          const key = JSON.stringify([st.sql, st.params]);
          let rows = memo.get(key);
          if (!rows) {
            this.statements++;
            memo.set(key, (rows = this.#store.all<Row>(st.sql, st.params)));
          }
          results.push(await rows);
        }
        for (const [id, a] of decode(batch, results)) answers.set(id, a);
      } catch (err) {
        const q = batch[0]!;
        const what = batch.map((x) => ('field' in x ? `"${x.field}"` : `model "${x.filter.model}"`)).join(', ');
        const e = new BackendError('ERR_BACKEND_QUERY', `embedded store: query ${q.kind} on ${what} failed: ${(err as Error).message}`, { cause: err });
        for (const x of batch) answers.set(x.id, e);
      }
    }
    return answers;
  }

  explain(queries: readonly Query[]): string {
    return batches(queries).map((b) => `-- ${b.map((q) => q.id).join(', ')} (${b[0]!.kind})\n${compile(b).map(formatStatement).join('\n')}`).join('\n\n');
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#store.close();
  }
}
