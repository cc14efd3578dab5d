/**
 * Outcomes in the embedded store: table `outcomes` (component `outcomes`, versioned by migrate()).
 *
 * `outcomes`: one row per labelled prediction (model_name, event_id), kept so by writeOutcomes
 * rather than by a PRIMARY KEY (schema version 2 dropped it, see OUTCOME_MIGRATIONS): a second
 * outcome for the same prediction replaces the row unless it has an earlier label time (DELETE of
 * older rows, then INSERT of the staged rows whose prediction has no row left, in one transaction
 * on the store's one write connection), so replays and out-of-order corrections end in the same row.
 *   model_name, event_id, ts TIMESTAMPTZ (the prediction's @timestamp), model_version,
 *   labels MAP(VARCHAR, VARCHAR), host VARCHAR, outcome_ts TIMESTAMPTZ, label_delay_ms BIGINT,
 *   task, actual_class, predicted_class VARCHAR, correct, actual_positive, predicted_positive INTEGER,
 *   score DOUBLE, score_bin INTEGER, log_loss DOUBLE,
 *   actual_value, predicted_value, error, abs_error, squared_error, abs_pct_error, actual_squared DOUBLE,
 *   doc JSON (the OutcomeDocument as written to the search engine)
 * Columns are the quality.* fields of outcome.ts, so the rule's SQL and its search body aggregate
 * the same values.
 */
import type { PredictionDocument } from '../normalize/document.ts';
import { migrate, PREDICTIONS } from '../sinks/embedded/schema.ts';
import type { DuckDBAppender } from '@duckdb/node-api';
import type { EmbeddedStore } from '../sinks/embedded/store.ts';
import type { OutcomeDocument } from './outcome.ts';
import { lastPerId, type OutcomeStore } from './store.ts';

export const OUTCOMES = 'outcomes';

export const OUTCOME_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS ${OUTCOMES} (
    model_name VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    model_version VARCHAR,
    labels MAP(VARCHAR, VARCHAR),
    host VARCHAR,
    outcome_ts TIMESTAMPTZ NOT NULL,
    label_delay_ms BIGINT,
    task VARCHAR NOT NULL,
    actual_class VARCHAR,
    predicted_class VARCHAR,
    correct INTEGER,
    actual_positive INTEGER,
    predicted_positive INTEGER,
    score DOUBLE,
    score_bin INTEGER,
    log_loss DOUBLE,
    actual_value DOUBLE,
    predicted_value DOUBLE,
    error DOUBLE,
    abs_error DOUBLE,
    squared_error DOUBLE,
    abs_pct_error DOUBLE,
    actual_squared DOUBLE,
    doc JSON NOT NULL,
    PRIMARY KEY (model_name, event_id)
  );
  `,
  // 2: no PRIMARY KEY (as predictions in schema version 2): its ART index held every key in memory
  // (about 70 MB per million outcomes, never evicted) and cost ~10 µs per insert; writeOutcomes
  // keeps one row per prediction itself (delete the older label, insert where none is left).
  `
  CREATE TABLE ${OUTCOMES}_v2 (
    model_name VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    model_version VARCHAR,
    labels MAP(VARCHAR, VARCHAR),
    host VARCHAR,
    outcome_ts TIMESTAMPTZ NOT NULL,
    label_delay_ms BIGINT,
    task VARCHAR NOT NULL,
    actual_class VARCHAR,
    predicted_class VARCHAR,
    correct INTEGER,
    actual_positive INTEGER,
    predicted_positive INTEGER,
    score DOUBLE,
    score_bin INTEGER,
    log_loss DOUBLE,
    actual_value DOUBLE,
    predicted_value DOUBLE,
    error DOUBLE,
    abs_error DOUBLE,
    squared_error DOUBLE,
    abs_pct_error DOUBLE,
    actual_squared DOUBLE,
    doc JSON NOT NULL
  );
  INSERT INTO ${OUTCOMES}_v2 SELECT * FROM ${OUTCOMES} ORDER BY ts;
  DROP TABLE ${OUTCOMES};
  ALTER TABLE ${OUTCOMES}_v2 RENAME TO ${OUTCOMES};
  `,
];

const STAGE = 'driftbeat_outcomes_stage';

// The batch is staged with DuckDB's appender into a fresh TEMP table of plain columns (one call per
// value; doc is JSON.stringify's text, stored as is), then moved in one set-based statement pair.
// Measured on 100,000 stored predictions: json_transform of one JSON array parameter into a struct
// per row cost 24 µs of CPU per outcome, the appender ~6 µs (bench/RESULTS.md, "Joining outcomes").
// A fresh stage per batch, as the prediction sink does: rows deleted from a TEMP table keep their memory.
const STAGE_DDL = `
  DROP TABLE IF EXISTS temp.${STAGE};
  CREATE TEMP TABLE ${STAGE} (
    event_id VARCHAR, ts VARCHAR, model_version VARCHAR, labels VARCHAR, host VARCHAR,
    outcome_ts VARCHAR, label_delay_ms DOUBLE, task VARCHAR, actual_class VARCHAR, predicted_class VARCHAR,
    correct INTEGER, actual_positive INTEGER, predicted_positive INTEGER, score DOUBLE, score_bin INTEGER, log_loss DOUBLE,
    actual_value DOUBLE, predicted_value DOUBLE, error DOUBLE, abs_error DOUBLE, squared_error DOUBLE,
    abs_pct_error DOUBLE, actual_squared DOUBLE, doc JSON
  )`;
// A stored outcome with an earlier (or the same) label time is replaced; a later one stays.
const DELETE_OLDER_SQL = `
  DELETE FROM ${OUTCOMES} o USING temp.${STAGE} s
  WHERE o.model_name = $1 AND o.event_id = s.event_id AND s.outcome_ts::TIMESTAMPTZ >= o.outcome_ts`;
const INSERT_SQL = `
  INSERT INTO ${OUTCOMES}
  SELECT $1, s.event_id, ts::TIMESTAMPTZ, model_version, json_transform(labels, '"MAP(VARCHAR, VARCHAR)"'), host,
         outcome_ts::TIMESTAMPTZ, label_delay_ms::BIGINT, task, actual_class, predicted_class, correct, actual_positive,
         predicted_positive, score, score_bin, log_loss, actual_value, predicted_value, error, abs_error, squared_error,
         abs_pct_error, actual_squared, doc
  FROM temp.${STAGE} s
  WHERE NOT EXISTS (SELECT 1 FROM ${OUTCOMES} o WHERE o.model_name = $1 AND o.event_id = s.event_id)`;

const text = (app: DuckDBAppender, v: string | undefined) => (v === undefined ? app.appendNull() : app.appendVarchar(v));
const int = (app: DuckDBAppender, v: number | undefined) => (v === undefined ? app.appendNull() : app.appendInteger(v));
const num = (app: DuckDBAppender, v: number | undefined) => (v === undefined || !Number.isFinite(v) ? app.appendNull() : app.appendDouble(v));

/** Hot path: one appender call per column, in the stage's column order. */
export function appendOutcomes(app: DuckDBAppender, docs: readonly OutcomeDocument[]): void {
  for (const d of docs) {
    const q = d.quality;
    app.appendVarchar(d.event.id);
    app.appendVarchar(d['@timestamp']);
    text(app, d.model.version);
    text(app, d.labels ? JSON.stringify(d.labels) : undefined);
    text(app, d.host?.name);
    app.appendVarchar(d.outcome['@timestamp']);
    num(app, d.outcome.label_delay_ms);
    app.appendVarchar(q.task);
    text(app, q.actual_class);
    text(app, q.predicted_class);
    int(app, q.correct);
    int(app, q.actual_positive);
    int(app, q.predicted_positive);
    num(app, q.score);
    int(app, q.score_bin);
    num(app, q.log_loss);
    num(app, q.actual_value);
    num(app, q.predicted_value);
    num(app, q.error);
    num(app, q.abs_error);
    num(app, q.squared_error);
    num(app, q.abs_pct_error);
    num(app, q.actual_squared);
    app.appendVarchar(JSON.stringify(d));
    app.endRow();
  }
}

interface LookupRow {
  event_id: string;
  ts: string;
  model_version: string | null;
  labels: Record<string, string> | null;
  host: string | null;
  prediction: PredictionDocument['prediction'] | null;
}

/** The part of a stored prediction that buildOutcome reads (the search engine's lookup fetches the same fields). */
function predictionOf(model: string, r: LookupRow): PredictionDocument {
  const doc = {
    '@timestamp': r.ts,
    event: { id: r.event_id },
    model: r.model_version === null ? { name: model } : { name: model, version: r.model_version },
    prediction: r.prediction ?? {},
    ...(r.labels ? { labels: r.labels } : {}),
    ...(r.host !== null ? { host: { name: r.host } } : {}),
  };
  return doc as unknown as PredictionDocument;
}

export class EmbeddedOutcomeStore implements OutcomeStore {
  readonly name = 'embedded';
  /** Each lookup and write scans the table's id column once: larger chunks scan less (the feedback pipeline's batches are at most 5,000). */
  readonly lookupChunk = 5000;
  readonly #store: EmbeddedStore;
  #ready?: Promise<number>;

  constructor(store: EmbeddedStore) {
    this.#store = store;
  }

  init(): Promise<void> {
    this.#ready ??= migrate(this.#store, OUTCOMES, OUTCOME_MIGRATIONS);
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready.then(() => undefined);
  }

  /**
   * Only what an outcome copies, from the columns (ts, version, labels, host) and one JSON path
   * (prediction): parsing each whole document (features, text) in Node cost more than the query.
   * `ts` comes back as Date#toISOString prints it, which is what the document's `@timestamp` holds.
   */
  async findPredictions(model: string, ids: readonly string[]): Promise<Map<string, PredictionDocument>> {
    const out = new Map<string, PredictionDocument>();
    if (!ids.length) return out;
    const rows = await this.#store.all<LookupRow>(
      `SELECT event_id, ts, model_version, labels, host, json_extract(doc, '$.prediction') AS prediction FROM ${PREDICTIONS}
       WHERE model_name = $1 AND event_id IN (SELECT unnest(json_transform($2::JSON, '["VARCHAR"]')))`,
      [model, JSON.stringify(ids)],
    );
    for (const r of rows) out.set(r.event_id, predictionOf(model, r));
    return out;
  }

  async writeOutcomes(model: string, docs: readonly OutcomeDocument[]): Promise<void> {
    if (!docs.length) return;
    await this.init();
    await this.#store.transaction(async (tx) => {
      await tx.run(STAGE_DDL);
      const app = await tx.appender(STAGE, { temp: true });
      try {
        appendOutcomes(app, lastPerId(docs));
      } finally {
        app.closeSync();
      }
      await tx.run(DELETE_OLDER_SQL, [model]);
      await tx.run(INSERT_SQL, [model]);
    });
  }

  async close(): Promise<void> {}
}
