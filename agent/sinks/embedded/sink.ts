/**
 * The embedded sink: writes batches of documents into the DuckDB store (schema.ts).
 *
 * One `send()` is one transaction: stage the batch (appender into a TEMP table), insert the new
 * documents with `ON CONFLICT DO NOTHING` (the primary key decides what is a duplicate, as a 409
 * does in Elasticsearch), then derive the long-table rows of the newly stored documents from their
 * JSON inside DuckDB. `send()` resolves after COMMIT, which DuckDB syncs to its WAL, so the pipeline
 * may acknowledge the offsets. Transient failures (write conflicts, out of memory) are retried with
 * backoff; anything else rejects with a permanent SinkError and nothing of the batch is stored.
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import type { EmbeddedOutputConfig } from '../../config/schema.ts';
import { DriftbeatError, SinkError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { deadLetters, docsDuplicate, docsIndexed, outputErrors, retries } from '../../telemetry/metrics.ts';
import type { Batch, DeadLetterWriter, DeliveryReport, Sink } from '../sink.ts';
import { encodeBatch, type StagedRow } from './encode.ts';
import { backoffMs, classifyStoreError } from './retry.ts';
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
const FRESH = 'driftbeat_stage_fresh';

const STAGE_DDL = `
  CREATE TEMP TABLE IF NOT EXISTS ${STAGE} (
    model_name VARCHAR, event_id VARCHAR, ts VARCHAR, model_version VARCHAR, ingested VARCHAR,
    host VARCHAR, file_path VARCHAR, file_offset DOUBLE, duration_ns DOUBLE,
    labels VARCHAR, features VARCHAR, prediction VARCHAR, missing VARCHAR, text VARCHAR, doc VARCHAR
  );
  CREATE TEMP TABLE IF NOT EXISTS ${FRESH} (model_name VARCHAR, event_id VARCHAR);
`;

const INSERT_DOCUMENTS = `
  INSERT INTO ${PREDICTIONS}
  SELECT model_name, event_id, ts::TIMESTAMPTZ, model_version, ingested::TIMESTAMPTZ, host, file_path,
         file_offset::BIGINT, duration_ns::BIGINT,
         json_transform(labels, '"MAP(VARCHAR, VARCHAR)"'), doc::JSON
  FROM temp.${STAGE}
  ON CONFLICT DO NOTHING
  RETURNING model_name, event_id`;

const DROP_DUPLICATES = `
  DELETE FROM temp.${STAGE} s
  WHERE NOT EXISTS (SELECT 1 FROM temp.${FRESH} f WHERE f.model_name = s.model_name AND f.event_id = s.event_id)`;

// JSON numbers arrive as BIGINT, UBIGINT, HUGEINT or DOUBLE depending on their text.
const NUMERIC = `('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')`;

const entries = (kind: string, path: string) => `
  SELECT model_name, event_id, ts::TIMESTAMPTZ AS ts, model_version, '${kind}' AS kind,
         unnest(map_entries(json_transform(${path}, '"MAP(VARCHAR, JSON)"'))) AS e
  FROM temp.${STAGE}`;

const INSERT_VALUES = `
  INSERT INTO ${PREDICTION_VALUES}
  SELECT model_name, event_id, ts, model_version, kind, e.key,
         CASE WHEN t IN ${NUMERIC} THEN TRY_CAST(e.value AS DOUBLE) END,
         CASE WHEN t = 'VARCHAR' THEN e.value->>'$' WHEN t NOT IN ${NUMERIC} THEN e.value::VARCHAR END
  FROM (SELECT *, json_type(e.value) AS t FROM (${entries('feature', 'features')} UNION ALL ${entries('prediction', 'prediction')}))
  WHERE e.value IS NOT NULL AND t <> 'NULL'`;

const INSERT_MISSING = `
  INSERT INTO ${PREDICTION_MISSING}
  SELECT model_name, event_id, ts, model_version,
         CASE WHEN starts_with(name, 'prediction.') THEN 'prediction' ELSE 'feature' END, name
  FROM (SELECT model_name, event_id, ts::TIMESTAMPTZ AS ts, model_version,
               unnest(json_transform(missing, '["VARCHAR"]')) AS name
        FROM temp.${STAGE})
  WHERE name IS NOT NULL`;

const INSERT_TEXT = `
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
    const encoded = encodeBatch(batch.events);
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
        const wait = backoffMs(attempt, initial, max);
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
  await tx.run(`DELETE FROM temp.${STAGE}; DELETE FROM temp.${FRESH};`);
  const app = await tx.appender(STAGE, { temp: true });
  try {
    appendStaged(app, rows);
  } finally {
    app.closeSync();
  }
  const fresh = await tx.all<{ model_name: string; event_id: string }>(INSERT_DOCUMENTS);
  if (fresh.length === 0) return 0;
  if (fresh.length < rows.length) {
    const f = await tx.appender(FRESH, { temp: true });
    try {
      for (const r of fresh) {
        f.appendVarchar(r.model_name);
        f.appendVarchar(r.event_id);
        f.endRow();
      }
    } finally {
      f.closeSync();
    }
    await tx.run(DROP_DUPLICATES);
  }
  await tx.run(INSERT_VALUES);
  await tx.run(INSERT_MISSING);
  await tx.run(INSERT_TEXT);
  return fresh.length;
}

// Hot path: one appender call per column, no intermediate arrays.
function appendStaged(app: DuckDBAppender, rows: StagedRow[]): void {
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
