/**
 * Outcomes in the embedded store: table `outcomes` (component `outcomes`, versioned by migrate()).
 *
 * `outcomes`: one row per labelled prediction, PRIMARY KEY (model_name, event_id): a second
 * outcome for the same prediction replaces the row unless it has an earlier label time
 * (ON CONFLICT DO UPDATE ... WHERE excluded.outcome_ts >= outcome_ts), so replays and out-of-order
 * corrections end in the same row.
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

// Updated on conflict: every column but the key.
const COLUMNS = ['ts', 'model_version', 'labels', 'host', 'outcome_ts', 'label_delay_ms', 'task', 'actual_class', 'predicted_class',
  'correct', 'actual_positive', 'predicted_positive', 'score', 'score_bin', 'log_loss', 'actual_value', 'predicted_value',
  'error', 'abs_error', 'squared_error', 'abs_pct_error', 'actual_squared', 'doc'];

const q = (f: string, t: string) => `TRY_CAST(d->>'$.quality.${f}' AS ${t})`;

// One statement per batch: the documents go in as one JSON array parameter.
const UPSERT = `
  INSERT INTO ${OUTCOMES}
  SELECT $1, d->>'$.event.id', (d->>'$."@timestamp"')::TIMESTAMPTZ, d->>'$.model.version',
         CASE WHEN (d->'$.labels') IS NULL THEN NULL ELSE json_transform((d->'$.labels'), '"MAP(VARCHAR, VARCHAR)"') END,
         d->>'$.host.name', (d->>'$.outcome."@timestamp"')::TIMESTAMPTZ, TRY_CAST(d->>'$.outcome.label_delay_ms' AS BIGINT),
         d->>'$.quality.task', d->>'$.quality.actual_class', d->>'$.quality.predicted_class',
         ${q('correct', 'INTEGER')}, ${q('actual_positive', 'INTEGER')}, ${q('predicted_positive', 'INTEGER')},
         ${q('score', 'DOUBLE')}, ${q('score_bin', 'INTEGER')}, ${q('log_loss', 'DOUBLE')},
         ${q('actual_value', 'DOUBLE')}, ${q('predicted_value', 'DOUBLE')}, ${q('error', 'DOUBLE')}, ${q('abs_error', 'DOUBLE')},
         ${q('squared_error', 'DOUBLE')}, ${q('abs_pct_error', 'DOUBLE')}, ${q('actual_squared', 'DOUBLE')}, d
  FROM (SELECT unnest(json_transform($2::JSON, '["JSON"]')) AS d)
  ON CONFLICT (model_name, event_id) DO UPDATE SET
    ${COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}
  WHERE excluded.outcome_ts >= ${OUTCOMES}.outcome_ts`;

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
    await this.#store.run(UPSERT, [model, JSON.stringify(lastPerId(docs))]);
  }

  async close(): Promise<void> {}
}
