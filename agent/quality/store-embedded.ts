/**
 * Outcomes in the embedded store: table `outcomes` (component `outcomes`, versioned by migrate()).
 *
 * `outcomes`: one row per labelled prediction, PRIMARY KEY (model_name, event_id): a second
 * outcome for the same prediction replaces the row unless it has an earlier label time
 * (DELETE of older rows, then INSERT ... ON CONFLICT DO NOTHING, in one transaction), so replays and
 * out-of-order corrections end in the same row.
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
];

const STAGE = 'driftbeat_outcomes_stage';

// One statement stages a batch: the documents go in as one JSON array parameter, parsed once into
// a struct per row (json_transform) rather than one JSON path extraction per column and row.
const Q = (f: string, t: string) => `"${f}": "${t}"`;
const SHAPE = `{"@timestamp": "VARCHAR", "event": {"id": "VARCHAR"}, "model": {"version": "VARCHAR"}, "labels": "MAP(VARCHAR, VARCHAR)", "host": {"name": "VARCHAR"},
  "outcome": {"@timestamp": "VARCHAR", "label_delay_ms": "BIGINT"},
  "quality": {${[Q('task', 'VARCHAR'), Q('actual_class', 'VARCHAR'), Q('predicted_class', 'VARCHAR'), Q('correct', 'INTEGER'), Q('actual_positive', 'INTEGER'), Q('predicted_positive', 'INTEGER'),
    Q('score', 'DOUBLE'), Q('score_bin', 'INTEGER'), Q('log_loss', 'DOUBLE'), Q('actual_value', 'DOUBLE'), Q('predicted_value', 'DOUBLE'), Q('error', 'DOUBLE'), Q('abs_error', 'DOUBLE'),
    Q('squared_error', 'DOUBLE'), Q('abs_pct_error', 'DOUBLE'), Q('actual_squared', 'DOUBLE')].join(', ')}}}`;
const STAGE_SQL = `
  CREATE OR REPLACE TEMP TABLE ${STAGE} AS
  SELECT $1::VARCHAR AS model_name, r.event.id AS event_id, r."@timestamp"::TIMESTAMPTZ AS ts, r.model.version AS model_version, r.labels AS labels,
         r.host.name AS host, r.outcome."@timestamp"::TIMESTAMPTZ AS outcome_ts, r.outcome.label_delay_ms AS label_delay_ms,
         r.quality.task AS task, r.quality.actual_class AS actual_class, r.quality.predicted_class AS predicted_class,
         r.quality.correct AS correct, r.quality.actual_positive AS actual_positive, r.quality.predicted_positive AS predicted_positive,
         r.quality.score AS score, r.quality.score_bin AS score_bin, r.quality.log_loss AS log_loss,
         r.quality.actual_value AS actual_value, r.quality.predicted_value AS predicted_value, r.quality.error AS error,
         r.quality.abs_error AS abs_error, r.quality.squared_error AS squared_error, r.quality.abs_pct_error AS abs_pct_error,
         r.quality.actual_squared AS actual_squared, d::JSON AS doc
  FROM (SELECT unnest(json_transform($2::JSON, '["JSON"]')) AS d) j, LATERAL (SELECT json_transform(j.d, '${SHAPE}') AS r)`;
// A stored outcome with an earlier (or the same) label time is replaced; a later one stays.
const REPLACE_SQL = `
  DELETE FROM ${OUTCOMES} o USING temp.${STAGE} s
  WHERE o.model_name = s.model_name AND o.event_id = s.event_id AND s.outcome_ts >= o.outcome_ts;
  INSERT INTO ${OUTCOMES} SELECT * FROM temp.${STAGE} ON CONFLICT DO NOTHING`;

export class EmbeddedOutcomeStore implements OutcomeStore {
  readonly name = 'embedded';
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

  async findPredictions(model: string, ids: readonly string[]): Promise<Map<string, PredictionDocument>> {
    const out = new Map<string, PredictionDocument>();
    if (!ids.length) return out;
    const rows = await this.#store.all<{ event_id: string; doc: string }>(
      `SELECT event_id, doc::VARCHAR AS doc FROM ${PREDICTIONS}
       WHERE model_name = $1 AND event_id IN (SELECT unnest(json_transform($2::JSON, '["VARCHAR"]')))`,
      [model, JSON.stringify(ids)],
    );
    for (const r of rows) out.set(r.event_id, JSON.parse(r.doc) as PredictionDocument);
    return out;
  }

  async writeOutcomes(model: string, docs: readonly OutcomeDocument[]): Promise<void> {
    if (!docs.length) return;
    await this.init();
    await this.#store.transaction(async (tx) => {
      await tx.run(STAGE_SQL, [model, JSON.stringify(lastPerId(docs))]);
      await tx.run(REPLACE_SQL);
    });
  }

  async close(): Promise<void> {}
}
