/**
 * The embedded store: one DuckDB file shared by every component of the agent (the embedded sink,
 * the embedded rule backend, reference profiles, results, alert state).
 *
 * - One DuckDB instance per file per process. DuckDB lets a second instance on the same file in the
 *   same process open without complaint and the two then corrupt each other, so the cache here is
 *   not optional: every `openStore(path)` of the same file returns a handle on the same instance,
 *   reference counted; the file is released when the last handle closes.
 * - Writes (`run`, `ensure`, `transaction`) go through one connection, in call order: DuckDB has
 *   optimistic concurrency between connections and two writers would abort each other.
 * - Reads (`all`) use a second connection, so a long analytical query never holds up ingestion;
 *   they see every write whose promise has resolved (autocommit, MVCC).
 * - The session time zone is UTC for every connection, so `date_trunc`, window bounds and
 *   TIMESTAMPTZ text are the same on every machine (DuckDB's default is the host's zone).
 * - Rows come back as plain objects: BIGINT as number when it is a safe integer (else bigint),
 *   timestamps as ISO 8601 strings in UTC (`2024-05-01T12:00:00.123Z`, microseconds kept when
 *   present), DATE as `YYYY-MM-DD`, LIST as arrays, STRUCT as objects, MAP as objects, and
 *   top-level JSON columns parsed (JSON nested in a LIST or STRUCT stays text).
 * - Another process holding the file (another driftbeat, the duckdb CLI) is reported as
 *   ERR_EMBEDDED_LOCKED naming the file and the holder.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  DuckDBInstance,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  arrayFromArrayValue,
  arrayFromListValue,
  listValue,
  objectFromStructValue,
  timestampTZValue,
  DuckDBDateValue,
  DuckDBMapValue,
  DuckDBTimestampValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type JS,
} from '@duckdb/node-api';
import { DriftbeatError } from '../../errors.ts';
import { migrateDocumentSchema } from './schema.ts';

export type { SqlParams, SqlRunner, SqlValue, Transaction } from './sql-types.ts';
import type { SqlParams, SqlRunner, SqlValue, Transaction } from './sql-types.ts';

/** Errors of the store carry the file and DuckDB's own message (`cause`). */
export class EmbeddedStoreError extends DriftbeatError {
  readonly path: string;
  constructor(code: string, path: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.path = path;
  }
}

interface Shared {
  key: string;
  path: string;
  instance: DuckDBInstance;
  writer: DuckDBConnection;
  reader: DuckDBConnection;
  refs: number;
  /** Tail of the write queue; every write chains on it so they run one at a time, in order. */
  writeTail: Promise<unknown>;
  readTail: Promise<unknown>;
}

const shared = new Map<string, Promise<Shared>>();
const CHECKPOINT_THRESHOLD = '128MB';
/** DuckDB's memory budget (output.embedded.memory_limit) when the opener does not say. */
export const DEFAULT_MEMORY_LIMIT = 64 * 2 ** 20;

export interface StoreOptions {
  /** DuckDB's memory_limit in bytes. The first open of a file decides (one instance per file). */
  memoryLimit?: number;
  /** DuckDB's worker threads (default 1: measured, a second thread cost the sink ~15% more CPU). */
  threads?: number;
}

/**
 * Opens (or joins) the store at `path`, creating the file and its folder if needed, and brings the
 * document tables (schema.ts) up to date. `:memory:` gives a private in-memory store.
 */
export async function openStore(path: string, options: StoreOptions = {}): Promise<EmbeddedStore> {
  const key = storeKey(path);
  let pending = key === ':memory:' ? undefined : shared.get(key);
  if (pending === undefined) {
    pending = createShared(key, path, options);
    if (key !== ':memory:') {
      shared.set(key, pending);
      pending.catch(() => shared.delete(key));
    }
  }
  const s = await pending;
  s.refs += 1;
  return new EmbeddedStore(s);
}

function storeKey(path: string): string {
  if (path === ':memory:') return path;
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  // Symlinked folders must map to the same instance, or the process would open the file twice.
  return join(realpathSync(dirname(abs)), basename(abs));
}

async function createShared(key: string, path: string, options: StoreOptions): Promise<Shared> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(key);
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const writer = await instance.connect();
    // GLOBAL so that every connection opened later (the reader) is in UTC too.
    await writer.run("SET GLOBAL TimeZone = 'UTC'");
    // DuckDB's default (16 MB of WAL) checkpoints every few batches and rewrites the same partly
    // filled row groups each time; 128 MB halves the sink's commit cost. The price: a crash
    // replays up to 128 MB of WAL at the next open (a few seconds).
    await writer.run(`SET GLOBAL checkpoint_threshold = '${CHECKPOINT_THRESHOLD}'`);
    // DuckDB's default is 80% of the machine's RAM, and it keeps what it read or wrote cached up to
    // that: 2 GB of RSS for a 1M-line backfill. The limit bounds its buffers; beyond it DuckDB
    // evicts (written blocks) or spills to a temp folder beside the file.
    await writer.run(`SET GLOBAL memory_limit = '${Math.max(16, Math.floor((options.memoryLimit ?? DEFAULT_MEMORY_LIMIT) / 2 ** 20))}MiB'`);
    await writer.run(`SET GLOBAL threads = ${Math.max(1, Math.floor(options.threads ?? 1))}`);
    const reader = await instance.connect();
    const s: Shared = { key, path, instance, writer, reader, refs: 0, writeTail: Promise.resolve(), readTail: Promise.resolve() };
    await migrateDocumentSchema(new EmbeddedStore(s, true));
    return s;
  } catch (err) {
    instance.closeSync();
    throw err instanceof DriftbeatError ? err : new EmbeddedStoreError('ERR_EMBEDDED_OPEN', path, `embedded store "${path}": cannot initialize: ${messageOf(err)}`, { cause: err });
  }
}

function openError(path: string, err: unknown): EmbeddedStoreError {
  const msg = messageOf(err);
  const lock = /Could not set lock on file[^:]*:\s*Conflicting lock is held in (.*?)(?:\(PID (\d+)\))?\.?(?: See also|$)/i.exec(msg);
  if (lock || /Could not set lock/i.test(msg)) {
    const holder = lock ? `${lock[1]?.trim() ?? 'another process'}${lock[2] ? ` (PID ${lock[2]})` : ''}` : 'another process';
    return new EmbeddedStoreError(
      'ERR_EMBEDDED_LOCKED',
      path,
      `embedded store "${path}" is locked by ${holder}: another driftbeat (or a DuckDB client) may be running on this file. ` +
        'Stop it, or set output.embedded.path to a different file.',
      { cause: err },
    );
  }
  return new EmbeddedStoreError('ERR_EMBEDDED_OPEN', path, `embedded store "${path}": cannot open: ${msg}`, { cause: err });
}

export class EmbeddedStore implements SqlRunner {
  readonly path: string;
  #s: Shared;
  #closed = false;
  /** The bootstrap handle used during open: runs directly, outside the queue and the ref count. */
  #bootstrap: boolean;

  /** @internal use openStore() */
  constructor(s: Shared, bootstrap = false) {
    this.#s = s;
    this.path = s.path;
    this.#bootstrap = bootstrap;
  }

  run(sql: string, params?: SqlParams): Promise<number> {
    return this.#write(async (conn) => {
      const r = await conn.run(sql, bindable(params));
      return r.rowsChanged;
    }, sql);
  }

  all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const s = this.#s;
    const job = s.readTail.then(() => readRows<T>(s.reader, sql, params, this.path));
    s.readTail = job.catch(() => undefined);
    return job;
  }

  /**
   * Runs idempotent DDL (CREATE ... IF NOT EXISTS) in the write queue. Other components own their
   * tables' DDL and call this at start; for versioned changes use `migrate` from schema.ts.
   */
  async ensure(ddl: string): Promise<void> {
    await this.run(ddl);
  }

  /**
   * Runs `fn` in one transaction on the write connection, after every write queued before it and
   * before every write queued after it. Commits when `fn` resolves, rolls back when it throws.
   * Resolves only once the commit is durable (DuckDB's WAL is synced at commit).
   * Inside `fn` use `tx`, never the store: a store write would queue behind this transaction and
   * wait for it forever.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.#write(async (conn) => {
      await conn.run('BEGIN TRANSACTION');
      const tx: Transaction = {
        run: async (sql, params) => (await wrap(this.path, sql, () => conn.run(sql, bindable(params)))).rowsChanged,
        all: (sql, params) => readRows(conn, sql, params, this.path),
        appender: (table, options) => wrap(this.path, table, () => (options?.temp ? conn.createAppender(table, 'main', 'temp') : conn.createAppender(table))),
      };
      try {
        const out = await fn(tx);
        await conn.run('COMMIT');
        return out;
      } catch (err) {
        // After a fatal error DuckDB has already dropped the transaction; ROLLBACK then fails too.
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }, 'transaction');
  }

  /** Releases this handle; the file is closed (and checkpointed) when the last handle closes. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed || this.#bootstrap) return;
    this.#closed = true;
    const s = this.#s;
    s.refs -= 1;
    if (s.refs > 0) return;
    shared.delete(s.key);
    await Promise.all([s.writeTail, s.readTail]);
    s.reader.closeSync();
    s.writer.closeSync();
    s.instance.closeSync();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #closedError(): EmbeddedStoreError {
    return new EmbeddedStoreError('ERR_EMBEDDED_CLOSED', this.path, `embedded store "${this.path}" is closed`);
  }

  #write<T>(job: (conn: DuckDBConnection) => Promise<T>, what: string): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const s = this.#s;
    const run = () => wrap(this.path, what, () => job(s.writer));
    if (this.#bootstrap) return run();
    const p = s.writeTail.then(run);
    s.writeTail = p.catch(() => undefined);
    return p;
  }
}

async function wrap<T>(path: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DriftbeatError) throw err;
    throw new EmbeddedStoreError('ERR_EMBEDDED_SQL', path, `embedded store "${path}": ${messageOf(err)} (in: ${snippet(what)})`, { cause: err });
  }
}

async function readRows<T>(conn: DuckDBConnection, sql: string, params: SqlParams | undefined, path: string): Promise<T[]> {
  const reader = await wrap(path, sql, () => conn.runAndReadAll(sql, bindable(params)));
  const rows = reader.convertRowObjects(plainConverter);
  // The JSON alias is only on the result's column types, not on the values' types the converter sees.
  const names = reader.columnNames();
  const json = reader.columnTypes().flatMap((t, i) => (t.alias === 'JSON' ? [names[i]!] : []));
  if (json.length > 0) {
    for (const row of rows) {
      for (const name of json) {
        const v = row[name];
        if (typeof v === 'string') row[name] = JSON.parse(v);
      }
    }
  }
  return rows as T[];
}

function snippet(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------
// parameters in, rows out

function toDuckValue(v: SqlValue): DuckDBValue {
  if (v instanceof Date) return timestampTZValue(BigInt(v.getTime()) * 1000n);
  if (Array.isArray(v)) return listValue((v as readonly SqlValue[]).map(toDuckValue));
  return v as DuckDBValue;
}

function bindable(params: SqlParams | undefined): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return (params as readonly SqlValue[]).map(toDuckValue);
  const out: Record<string, DuckDBValue> = {};
  for (const [k, v] of Object.entries(params as Record<string, SqlValue>)) out[k] = toDuckValue(v);
  return out;
}

/** `micros` since the epoch as ISO 8601 UTC; milliseconds always, microseconds only when non-zero. */
export function isoFromMicros(micros: bigint): string {
  const ms = micros / 1000n;
  let sub = micros % 1000n;
  let msN = Number(ms);
  if (sub < 0n) {
    sub += 1000n;
    msN -= 1;
  }
  const iso = new Date(msN).toISOString();
  return sub === 0n ? iso : `${iso.slice(0, -1)}${sub.toString().padStart(3, '0')}Z`;
}

function safeNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const plainConverter: DuckDBValueConverter<unknown> = (value, type: DuckDBType, converter) => {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return safeNumber(value as bigint);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return finiteTs(value as DuckDBTimestampTZValue, (value as DuckDBTimestampTZValue).micros);
    case DuckDBTypeId.TIMESTAMP:
      return finiteTs(value as DuckDBTimestampValue, (value as DuckDBTimestampValue).micros);
    case DuckDBTypeId.TIMESTAMP_MS:
      return finiteTs(value as DuckDBTimestampMillisecondsValue, (value as DuckDBTimestampMillisecondsValue).millis * 1000n);
    case DuckDBTypeId.TIMESTAMP_S:
      return finiteTs(value as DuckDBTimestampSecondsValue, (value as DuckDBTimestampSecondsValue).seconds * 1_000_000n);
    case DuckDBTypeId.TIMESTAMP_NS:
      return finiteTs(value as DuckDBTimestampNanosecondsValue, (value as DuckDBTimestampNanosecondsValue).nanos / 1000n);
    case DuckDBTypeId.DATE:
      return (value as DuckDBDateValue).toString();
    case DuckDBTypeId.INTERVAL: {
      const iv = value as { months: number; days: number; micros: bigint };
      return { months: iv.months, days: iv.days, micros: safeNumber(iv.micros) };
    }
    case DuckDBTypeId.LIST:
      return arrayFromListValue(value, type, converter);
    case DuckDBTypeId.ARRAY:
      return arrayFromArrayValue(value, type, converter);
    case DuckDBTypeId.STRUCT:
      return objectFromStructValue(value, type, converter);
    case DuckDBTypeId.MAP: {
      const out: Record<string, unknown> = {};
      const mapType = type as unknown as { keyType: DuckDBType; valueType: DuckDBType };
      for (const e of (value as DuckDBMapValue).entries) {
        out[String(converter(e.key, mapType.keyType, converter))] = converter(e.value, mapType.valueType, converter);
      }
      return out;
    }
    default:
      return JSDuckDBValueConverter(value, type, converter as DuckDBValueConverter<JS>);
  }
};

function finiteTs(value: { isFinite: boolean; toString(): string }, micros: bigint): string {
  return value.isFinite ? isoFromMicros(micros) : value.toString();
}
