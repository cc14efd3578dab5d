/**
 * Small read helpers over the document tables (schema.ts), for the CLI, reference building from a
 * window of logged predictions, and tests. Windows are closed-open `[from, to)`, in UTC.
 */
import type { PredictionDocument } from '../../normalize/document.ts';
import { PREDICTIONS } from './schema.ts';
import type { EmbeddedStore, SqlValue } from './store.ts';

export interface DocumentQuery {
  model: string;
  /** Inclusive lower bound on `@timestamp` (ISO 8601 or Date). */
  from?: string | Date;
  /** Exclusive upper bound on `@timestamp`. */
  to?: string | Date;
  version?: string;
  /** Default: no limit. */
  limit?: number;
  /** By `@timestamp` then event id; default ascending. */
  order?: 'asc' | 'desc';
}

function where(q: DocumentQuery): { sql: string; params: SqlValue[] } {
  const params: SqlValue[] = [q.model];
  const parts = ['model_name = $1'];
  if (q.from !== undefined) {
    params.push(q.from);
    parts.push(`ts >= $${params.length}::TIMESTAMPTZ`);
  }
  if (q.to !== undefined) {
    params.push(q.to);
    parts.push(`ts < $${params.length}::TIMESTAMPTZ`);
  }
  if (q.version !== undefined) {
    params.push(q.version);
    parts.push(`model_version = $${params.length}`);
  }
  return { sql: parts.join(' AND '), params };
}

/** The stored documents of a model in a window, exactly as they were sent. */
export async function queryDocuments(store: EmbeddedStore, q: DocumentQuery): Promise<PredictionDocument[]> {
  const { sql, params } = where(q);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  let text = `SELECT doc FROM ${PREDICTIONS} WHERE ${sql} ORDER BY ts ${dir}, event_id ${dir}`;
  if (q.limit !== undefined) {
    params.push(Math.max(0, Math.floor(q.limit)));
    text += ` LIMIT $${params.length}`;
  }
  const rows = await store.all<{ doc: PredictionDocument }>(text, params);
  return rows.map((r) => r.doc);
}

/** How many documents of a model a window holds. */
export async function countDocuments(store: EmbeddedStore, q: Omit<DocumentQuery, 'limit' | 'order'>): Promise<number> {
  const { sql, params } = where(q);
  const rows = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${PREDICTIONS} WHERE ${sql}`, params);
  return rows[0]?.n ?? 0;
}

/** The models the store has documents of, with their counts and time range. */
export async function listModels(store: EmbeddedStore): Promise<{ model: string; documents: number; first: string; last: string }[]> {
  return store.all(
    `SELECT model_name AS model, count(*) AS documents, min(ts) AS first, max(ts) AS last
     FROM ${PREDICTIONS} GROUP BY model_name ORDER BY model_name`,
  );
}
