/**
 * The document tables of the embedded store, and the versioning every component's tables use.
 *
 * Layout (write SQL against this; all timestamps are TIMESTAMPTZ and the session zone is UTC):
 *
 * `predictions`: one row per document, the whole document kept as JSON.
 *   model_name VARCHAR, event_id VARCHAR      -- the sink stores a document once: a second one with
 *   ts TIMESTAMPTZ                            -- the same model, id and `@timestamp` is a duplicate
 *                                             -- (Elasticsearch's 409 on `create`; see sink.ts)
 *   model_version VARCHAR, ingested TIMESTAMPTZ, host VARCHAR,
 *   file_path VARCHAR, file_offset BIGINT, duration_ns BIGINT,
 *   labels MAP(VARCHAR, VARCHAR)              -- `labels['region']` (NULL when absent)
 *   doc JSON                                  -- the PredictionDocument exactly as sent
 *
 * The three "long" tables hold one row per value, so one generic SQL per rule type works for every
 * field (`GROUP BY name, str`). Each repeats model_name, event_id, ts and model_version so the usual
 * filters (model, window, version) need no join; segments by label or host join `predictions` on
 * (model_name, event_id). Rows exist only for documents that were stored (duplicates add none).
 *
 * `prediction_values`: one row per non-missing feature or prediction value.
 *   model_name, event_id, ts, model_version,
 *   kind VARCHAR                              -- 'feature' | 'prediction'
 *   name VARCHAR                              -- key without prefix: `age`, `geo.country`, `score`
 *                                             -- (Elasticsearch field: `features.<name>` / `prediction.<name>`)
 *   num DOUBLE                                -- set for numbers
 *   str VARCHAR                               -- set for strings; booleans as 'true' / 'false'
 *   `features_unparsed`, `features_overflow` and text features are not here (as in Elasticsearch,
 *   where they are other fields); they stay in predictions.doc.
 *
 * `prediction_missing`: one row per name in the document's `missing`.
 *   model_name, event_id, ts, model_version,
 *   kind VARCHAR                              -- 'prediction' when name starts with `prediction.`
 *   name VARCHAR                              -- exactly as in `missing` (a `terms` on `missing`
 *                                             -- and `GROUP BY name` give the same keys)
 *
 * `prediction_text`: one row per text field.
 *   model_name, event_id, ts, model_version, name VARCHAR,
 *   token_count INTEGER, oov_count INTEGER    -- NULL until a reference vocabulary exists
 *   oov_tokens VARCHAR[]                      -- distinct OOV tokens, capped; UNNEST for top words
 *
 * No indexes: DuckDB scans columns with zone maps, and documents arrive roughly in `ts` order, so
 * `WHERE model_name = ? AND ts >= ? AND ts < ?` skips most row groups; the sink's duplicate check
 * is such a scan over the time span of its batch. Schema version 1 had a PRIMARY KEY on
 * (model_name, event_id): its ART index held every key in memory (71 MB per million documents,
 * growing with the store, never evicted) and cost about 10 µs per insert; version 2 drops it.
 *
 * Versioning: `schema_version(component, version, applied_at)` holds one row per component that
 * owns tables (this file is component `documents`). `migrate()` applies the steps a file lacks, in
 * one transaction, and refuses a file written by a newer driftbeat.
 */
import { DriftbeatError } from '../../errors.ts';
import type { SqlRunner } from './sql-types.ts';

/** What a migration needs of the store (EmbeddedStore in store.ts is one). */
export interface MigrationTarget extends SqlRunner {
  readonly path: string;
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
}

export const PREDICTIONS = 'predictions';
export const PREDICTION_VALUES = 'prediction_values';
export const PREDICTION_MISSING = 'prediction_missing';
export const PREDICTION_TEXT = 'prediction_text';
export const SCHEMA_VERSION_TABLE = 'schema_version';

/** Steps of the `documents` component: step i takes the tables from version i to i + 1. */
export const DOCUMENT_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS ${PREDICTIONS} (
    model_name VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    model_version VARCHAR,
    ingested TIMESTAMPTZ,
    host VARCHAR,
    file_path VARCHAR,
    file_offset BIGINT,
    duration_ns BIGINT,
    labels MAP(VARCHAR, VARCHAR),
    doc JSON NOT NULL,
    PRIMARY KEY (model_name, event_id)
  );
  CREATE TABLE IF NOT EXISTS ${PREDICTION_VALUES} (
    model_name VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    model_version VARCHAR,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    num DOUBLE,
    str VARCHAR
  );
  CREATE TABLE IF NOT EXISTS ${PREDICTION_MISSING} (
    model_name VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    model_version VARCHAR,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL
  );
  CREATE TABLE IF NOT EXISTS ${PREDICTION_TEXT} (
    model_name VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    model_version VARCHAR,
    name VARCHAR NOT NULL,
    token_count INTEGER,
    oov_count INTEGER,
    oov_tokens VARCHAR[]
  );
  `,
  // 2: predictions without the PRIMARY KEY (see above). DuckDB cannot drop a constraint: rebuild.
  `
  CREATE TABLE ${PREDICTIONS}_v2 (
    model_name VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    model_version VARCHAR,
    ingested TIMESTAMPTZ,
    host VARCHAR,
    file_path VARCHAR,
    file_offset BIGINT,
    duration_ns BIGINT,
    labels MAP(VARCHAR, VARCHAR),
    doc JSON NOT NULL
  );
  INSERT INTO ${PREDICTIONS}_v2 SELECT * FROM ${PREDICTIONS} ORDER BY ts;
  DROP TABLE ${PREDICTIONS};
  ALTER TABLE ${PREDICTIONS}_v2 RENAME TO ${PREDICTIONS};
  `,
];

export const DOCUMENTS_COMPONENT = 'documents';

/**
 * Brings `component`'s tables to `steps.length`, applying the missing steps in one transaction.
 * Other components (reference, results, alert state) call this with their own name and steps.
 */
export async function migrate(store: MigrationTarget, component: string, steps: readonly string[]): Promise<number> {
  await store.run(`CREATE TABLE IF NOT EXISTS ${SCHEMA_VERSION_TABLE} (
    component VARCHAR PRIMARY KEY,
    version INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
  )`);
  return store.transaction(async (tx) => {
    const rows = await tx.all<{ version: number }>(`SELECT version FROM ${SCHEMA_VERSION_TABLE} WHERE component = $1`, [component]);
    const current = rows[0]?.version ?? 0;
    if (current > steps.length) {
      throw new DriftbeatError(
        'ERR_EMBEDDED_SCHEMA_NEWER',
        `embedded store "${store.path}": the ${component} tables are at schema version ${current}, this driftbeat knows up to ${steps.length}; ` +
          'upgrade driftbeat or point output.embedded.path at another file.',
      );
    }
    for (let v = current; v < steps.length; v++) await tx.run(steps[v]!);
    if (current < steps.length) {
      await tx.run(
        `INSERT INTO ${SCHEMA_VERSION_TABLE} VALUES ($1, $2, now())
         ON CONFLICT (component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at`,
        [component, steps.length],
      );
    }
    return steps.length;
  });
}

export function migrateDocumentSchema(store: MigrationTarget): Promise<number> {
  return migrate(store, DOCUMENTS_COMPONENT, DOCUMENT_MIGRATIONS);
}
