/**
 * The embedded sink: writes batches of documents into the DuckDB store (schema.ts).
 *
 * One `send()` is one transaction: stage the batch (appender into a TEMP table), delete from the
 * stage what is stored already, insert the rest, then derive the long-table rows of the new
 * documents from their JSON inside DuckDB. `send()` resolves after COMMIT, which DuckDB syncs to
 * its WAL, so the pipeline may acknowledge the offsets. Transient failures (write conflicts, out of
 * memory) are retried with backoff; a value DuckDB refuses costs its document only (dead letter);
 * anything else rejects with a permanent SinkError and nothing of the batch is stored.
 *
 * Duplicates (Elasticsearch's 409 on `create`): a document is stored already when one of the same
 * model has the same id and the same `@timestamp`, which is what a line read twice gives (after a
 * crash, a replayed offset). The check is an anti-join over the batch's time span only, so zone maps
 * skip the rest of the table: its cost follows the batch, not the size of the store, and nothing
 * is held in memory per stored document (a PRIMARY KEY's index was: schema.ts). Two records that
 * share an id but not a timestamp are two documents.
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import type { EmbeddedOutputConfig } from '../../config/schema.ts';
import { DriftbeatError, SinkError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { deadLetters, docsDuplicate, docsIndexed, outputErrors, retries } from '../../telemetry/metrics.ts';
import type { Batch, DeadLetterWriter, DeliveryReport, Sink } from '../sink.ts';
import { encodeBatch, type StagedRow } from './encode.ts';
import { backoffDelay } from '../../lib/backoff.ts';
import { classifyStoreError } from './retry.ts';
import { PREDICTIONS, PREDICTION_MISSING, PREDICTION_TEXT, PREDICTION_VALUES } from './schema.ts';
import { messageOf, openStore, type EmbeddedStore, type Transaction } from './store.ts';

export interface EmbeddedSinkOptions {
  /** The DuckDB file; ignored when `store` is given. */
  path?: string;
  /** A store opened elsewhere (shared with the embedded backend); the sink does not close it. */
  store?: EmbeddedStore;
  deadLetter?: DeadLetterWriter;
  logger?: Logger;
  /** Backoff between retries of a transient failure (default 100 ms doubling up to 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Attempts per batch before giving up with a permanent error (default: forever). */
  maxAttempts?: number;
}

const OUTPUT = 'embedded';
const STAGE = 'driftbeat_stage';

export const STAGE_DDL = `
  CREATE TEMP TABLE IF NOT EXISTS ${STAGE} (
    model_name VARCHAR, event_id VARCHAR, ts VARCHAR, model_version VARCHAR, ingested VARCHAR,
    host VARCHAR, file_path VARCHAR, file_offset DOUBLE, duration_ns DOUBLE,
    labels VARCHAR, features VARCHAR, prediction VARCHAR, missing VARCHAR, text VARCHAR,
    -- JSON, not VARCHAR: the appender stores JSON.stringify's text as is, where a ::JSON cast
    -- would parse every document again only to validate it.
    doc JSON
  );
`;

/**
 * lo, hi: the batch's earliest and latest `@timestamp` as DuckDB printed them (ISO text, no quote
 * can occur), written into the SQL as literals: zone maps prune on constants, not on parameters.
 */
export const dropStored = (lo: string, hi: string) => `
  DELETE FROM temp.${STAGE} s
  WHERE EXISTS (
    SELECT 1 FROM ${PREDICTIONS} p
    WHERE p.ts >= '${lo}'::TIMESTAMPTZ AND p.ts <= '${hi}'::TIMESTAMPTZ
      AND p.model_name = s.model_name AND p.event_id = s.event_id AND p.ts = s.ts::TIMESTAMPTZ)`;

export const INSERT_DOCUMENTS = `
  INSERT INTO ${PREDICTIONS}
  SELECT model_name, event_id, ts::TIMESTAMPTZ, model_version, ingested::TIMESTAMPTZ, host, file_path,
         file_offset::BIGINT, duration_ns::BIGINT,
         json_transform(labels, '"MAP(VARCHAR, VARCHAR)"'), doc
  FROM temp.${STAGE}`;

// JSON numbers arrive as BIGINT, UBIGINT, HUGEINT or DOUBLE depending on their text.
const NUMERIC = `('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')`;

const entries = (kind: string, path: string) => `
  SELECT model_name, event_id, ts::TIMESTAMPTZ AS ts, model_version, '${kind}' AS kind,
         unnest(map_entries(json_transform(${path}, '"MAP(VARCHAR, JSON)"'))) AS e
  FROM temp.${STAGE}`;

// A list-valued feature (normalize.ts) is one row per element, as an Elasticsearch array is one
// value per element in its aggregations: lists are unnested in a second branch, so scalars (nearly
// every value) take no extra step.
export const INSERT_VALUES = `
  INSERT INTO ${PREDICTION_VALUES}
  WITH kv AS (
    SELECT model_name, event_id, ts, model_version, kind, e.key AS name, e.value AS v, json_type(e.value) AS t
    FROM (${entries('feature', 'features')} UNION ALL ${entries('prediction', 'prediction')})
    WHERE e.value IS NOT NULL
  ), elements AS (
    SELECT model_name, event_id, ts, model_version, kind, name, v, json_type(v) AS t
    FROM (SELECT model_name, event_id, ts, model_version, kind, name, unnest(json_transform(v, '["JSON"]')) AS v FROM kv WHERE t = 'ARRAY')
  )
  SELECT model_name, event_id, ts, model_version, kind, name,
         CASE WHEN t IN ${NUMERIC} THEN TRY_CAST(v AS DOUBLE) END,
         CASE WHEN t = 'VARCHAR' THEN v->>'$' WHEN t NOT IN ${NUMERIC} THEN v::VARCHAR END
  FROM (SELECT * FROM kv WHERE t NOT IN ('NULL', 'ARRAY') UNION ALL SELECT * FROM elements WHERE t NOT IN ('NULL', 'ARRAY', 'OBJECT'))`;

export const INSERT_MISSING = `
  INSERT INTO ${PREDICTION_MISSING}
  SELECT model_name, event_id, ts, model_version,
         CASE WHEN starts_with(name, 'prediction.') THEN 'prediction' ELSE 'feature' END, name
  FROM (SELECT model_name, event_id, ts::TIMESTAMPTZ AS ts, model_version,
               unnest(json_transform(missing, '["VARCHAR"]')) AS name
        FROM temp.${STAGE})
  WHERE name IS NOT NULL`;

export const INSERT_TEXT = `
  INSERT INTO ${PREDICTION_TEXT}
  SELECT model_name, event_id, ts, model_version, e.key,
         TRY_CAST(e.value->>'token_count' AS INTEGER),
         TRY_CAST(e.value->>'oov_count' AS INTEGER),
         json_transform(e.value->'oov_tokens', '["VARCHAR"]')
  FROM (${entries('text', 'text')})
  WHERE e.value IS NOT NULL`;

export class EmbeddedSink implements Sink {
  readonly name = OUTPUT;
  #opts: EmbeddedSinkOptions;
  #store: EmbeddedStore | undefined;
  #owned: boolean;
  #starting: Promise<EmbeddedStore> | undefined;
  #stopped = false;

  constructor(options: EmbeddedSinkOptions) {
    if (!options.store && !options.path) throw new TypeError('EmbeddedSink needs a path or a store');
    this.#opts = options;
    this.#store = options.store;
    this.#owned = options.store === undefined;
  }

  static fromConfig(config: EmbeddedOutputConfig, deps: Omit<EmbeddedSinkOptions, 'path'> = {}): EmbeddedSink {
    return new EmbeddedSink({ ...deps, path: config.path });
  }

  /** The store the sink writes to (opened by start()). */
  get store(): EmbeddedStore | undefined {
    return this.#store;
  }

  /** Opens the file (a lock held by another process fails here, permanently) and the staging tables. */
  start(): Promise<void> {
    return this.#ready().then(() => undefined);
  }

  #ready(): Promise<EmbeddedStore> {
    this.#starting ??= (async () => {
      let store = this.#store;
      if (!store) {
        try {
          store = await openStore(this.#opts.path!);
        } catch (err) {
          throw toSinkError(err, this.#opts.path!);
        }
        this.#store = store;
      }
      await store.ensure(STAGE_DDL);
      return store;
    })();
    return this.#starting;
  }

  async send(batch: Batch, signal?: AbortSignal): Promise<DeliveryReport> {
    if (this.#stopped) throw new SinkError('ERR_EMBEDDED_STOPPED', `output "embedded": send() after stop()`, { permanent: true });
    const store = await this.#ready();
    const encoded = await encodeBatch(batch.events);
    for (const r of encoded.rejected) {
      this.#opts.deadLetter?.write({
        reason: r.reason,
        file: r.event.doc?.log?.file?.path,
        offset: r.event.doc?.log?.offset,
        doc: r.event.doc,
        model: r.event.doc?.model?.name,
      });
      deadLetters.inc({ reason: 'invalid_document' });
    }
    const report: DeliveryReport = { indexed: 0, duplicates: encoded.duplicatesInBatch, deadLettered: encoded.rejected.length, retries: 0 };
    if (encoded.rows.length > 0) {
      const indexed = await this.#storeRows(store, encoded.rows, report, signal);
      report.indexed = indexed;
      report.duplicates += encoded.rows.length - indexed - report.deadLettered + encoded.rejected.length;
    }
    docsIndexed.inc({ output: OUTPUT }, report.indexed);
    docsDuplicate.inc({ output: OUTPUT }, report.duplicates);
    return report;
  }

  /**
   * Stores rows; when DuckDB refuses a value (a conversion or constraint error), the rows are
   * split in halves and each half stored on its own, down to the one document, which goes to the
   * dead letter with DuckDB's message. A bad document costs about two extra writes of its batch
   * (log2 of the batch size ever smaller transactions), never the sink.
   */
  async #storeRows(store: EmbeddedStore, rows: StagedRow[], report: DeliveryReport, signal?: AbortSignal): Promise<number> {
    try {
      return await this.#writeWithRetry(store, rows, report, signal);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      if (rows.length === 1) {
        this.#deadLetterRow(rows[0]!, err.cause);
        report.deadLettered++;
        return 0;
      }
      const half = rows.length >>> 1;
      return (await this.#storeRows(store, rows.slice(0, half), report, signal)) + (await this.#storeRows(store, rows.slice(half), report, signal));
    }
  }

  #deadLetterRow(row: StagedRow, err: unknown): void {
    const doc = JSON.parse(row.doc) as { log?: { file?: { path?: string }; offset?: number } };
    this.#opts.deadLetter?.write({
      reason: `output "embedded" could not store document ${row.event_id}: ${messageOf(err).replace(/^embedded store "[^"]*": /, '')}`,
      file: doc.log?.file?.path,
      offset: doc.log?.offset,
      doc,
      model: row.model_name,
    });
    deadLetters.inc({ reason: 'embedded_rejected' });
  }

  async #writeWithRetry(store: EmbeddedStore, rows: StagedRow[], report: DeliveryReport, signal?: AbortSignal): Promise<number> {
    const initial = this.#opts.initialBackoffMs ?? 100;
    const max = this.#opts.maxBackoffMs ?? 30_000;
    const maxAttempts = this.#opts.maxAttempts ?? Infinity;
    for (let attempt = 0; ; attempt++) {
      try {
        return await store.transaction((tx) => writeRows(tx, rows));
      } catch (err) {
        const verdict = classifyStoreError(err);
        outputErrors.inc({ output: OUTPUT, kind: verdict });
        if (verdict === 'data') throw new DataError(err);
        if (verdict === 'permanent' || attempt + 1 >= maxAttempts) throw toSinkError(err, store.path);
        const wait = backoffDelay(attempt, { initial, max });
        this.#opts.logger?.warn({ err, attempt: attempt + 1, backoff_ms: wait }, `output "embedded": transient failure, retrying`);
        retries.inc({ output: OUTPUT, cause: 'transient' });
        report.retries++;
        await sleep(wait, signal);
      }
    }
  }

  /** Closes the file if the sink opened it. Safe without start and safe twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#starting) await this.#starting.catch(() => undefined);
    if (this.#owned && this.#store) await this.#store.close();
  }
}

/** One transaction's work; returns how many documents were new. */
async function writeRows(tx: Transaction, rows: StagedRow[]): Promise<number> {
  // A new stage per batch: rows deleted from a TEMP table keep their memory (a temp table is never
  // checkpointed), so one stage reused for a backfill grew by every batch and DuckDB spilled it.
  await tx.run(`DROP TABLE IF EXISTS temp.${STAGE}; ${STAGE_DDL}`);
  const app = await tx.appender(STAGE, { temp: true });
  try {
    appendStaged(app, rows);
  } finally {
    app.closeSync();
  }
  // The span first, as literals for the anti-join: zone maps prune on constants.
  const [span] = await tx.all<{ lo: string; hi: string }>(`SELECT min(ts::TIMESTAMPTZ) AS lo, max(ts::TIMESTAMPTZ) AS hi FROM temp.${STAGE}`);
  if (!/^[0-9T:.+\-Z ]+$/.test(span!.lo + span!.hi)) throw new Error(`unexpected time span ${span!.lo} .. ${span!.hi}`);
  const stored = await tx.run(dropStored(span!.lo, span!.hi));
  if (stored === rows.length) return 0;
  await tx.run(INSERT_DOCUMENTS);
  await tx.run(INSERT_VALUES);
  await tx.run(INSERT_MISSING);
  await tx.run(INSERT_TEXT);
  return rows.length - stored;
}

// Hot path: one appender call per column, no intermediate arrays.
export function appendStaged(app: DuckDBAppender, rows: StagedRow[]): void {
  for (const r of rows) {
    app.appendVarchar(r.model_name);
    app.appendVarchar(r.event_id);
    app.appendVarchar(r.ts);
    appendText(app, r.model_version);
    appendText(app, r.ingested);
    appendText(app, r.host);
    appendText(app, r.file_path);
    appendNumber(app, r.file_offset);
    appendNumber(app, r.duration_ns);
    appendText(app, r.labels);
    appendText(app, r.features);
    appendText(app, r.prediction);
    appendText(app, r.missing);
    appendText(app, r.text);
    app.appendVarchar(r.doc);
    app.endRow();
  }
}

function appendText(app: DuckDBAppender, v: string | null): void {
  if (v === null) app.appendNull();
  else app.appendVarchar(v);
}

function appendNumber(app: DuckDBAppender, v: number | null): void {
  if (v === null) app.appendNull();
  else app.appendDouble(v);
}

/** A value of the rows was refused (retry.ts verdict `data`): split the rows, dead-letter the one. */
class DataError extends Error {
  constructor(cause: unknown) {
    super(messageOf(cause), { cause });
  }
}

function toSinkError(err: unknown, path: string): SinkError {
  if (err instanceof SinkError) return err;
  const code = err instanceof DriftbeatError ? err.code : 'ERR_EMBEDDED_WRITE';
  const msg = err instanceof DriftbeatError ? err.message : `output "embedded" (${path}): ${messageOf(err)}`;
  return new SinkError(code, msg, { cause: err, permanent: true });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): SinkError {
  return new SinkError('ERR_EMBEDDED_ABORTED', 'output "embedded": send() aborted while waiting to retry; the batch was not stored');
}
