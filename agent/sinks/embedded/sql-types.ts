/**
 * The SQL surface of the embedded store (agent/sinks/embedded/store.ts implements it), in a file of
 * its own so that the schema migrations (schema.ts) and the store do not import each other.
 */
import type { DuckDBAppender } from '@duckdb/node-api';

/** A value that can be bound to a `$1` / `$name` parameter. Dates bind as TIMESTAMPTZ. */
export type SqlValue = string | number | boolean | bigint | null | Date | readonly SqlValue[];
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

/** The SQL surface shared by the store and a transaction. */
export interface SqlRunner {
  /** Executes one or more statements; returns the rows changed by the last one. */
  run(sql: string, params?: SqlParams): Promise<number>;
  /** Runs a query and returns its rows as plain objects (see the module comment for types). */
  all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]>;
}

export interface Transaction extends SqlRunner {
  /**
   * A DuckDB appender on the write connection; rows appended before the transaction commits are
   * part of it. Use `{ temp: true }` for a TEMP table of this connection. Close it (closeSync)
   * before the transaction ends.
   */
  appender(table: string, options?: { temp?: boolean }): Promise<DuckDBAppender>;
}
