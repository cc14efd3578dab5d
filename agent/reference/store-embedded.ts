/**
 * Reference profiles in the embedded DuckDB store (component `reference` of schema_version).
 *
 * Tables, for rules to join against in SQL (`field` is the document path: `features.country`,
 * `prediction.score`, `text.customer_note`; strip the `features.` / `prediction.` prefix to match
 * `prediction_values.name`):
 *
 *   reference_profiles(model, version, built_at TIMESTAMPTZ, source JSON)     one row per profile
 *   reference_fields(model, version, field, kind, type, profile JSON, built_at TIMESTAMPTZ,
 *                    position INTEGER, count BIGINT, missing_count BIGINT, missing_share DOUBLE,
 *                    distinct_count BIGINT)
 *       one row per field; `profile` is the whole FieldProfile (categories, sample, vocabulary
 *       included); kind 'feature' | 'prediction' | 'text', type 'num' | 'cat' | 'bool' | 'text'
 *   reference_categories(model, version, field, value VARCHAR, count BIGINT)
 *       category counts of cat/bool fields (booleans as 'true' / 'false', as prediction_values.str)
 *       and of numeric fields with few distinct values (value = the number as JavaScript prints
 *       it: '3', '0.5')
 *   reference_vocabulary(model, version, field, token VARCHAR, count BIGINT)     text fields
 *   reference_sample(model, version, field, value DOUBLE)    reference sample of numeric fields
 *
 * Saving a model + version replaces all its rows in one transaction, so a reader never sees half
 * a profile.
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import { migrate } from '../sinks/embedded/schema.ts';
import { openStore, type EmbeddedStore } from '../sinks/embedded/store.ts';
import type { FieldProfile, ReferenceProfile, ReferenceStore } from './profile.ts';

export const REFERENCE_COMPONENT = 'reference';
export const REFERENCE_TABLES = ['reference_profiles', 'reference_fields', 'reference_categories', 'reference_vocabulary', 'reference_sample'] as const;

export const REFERENCE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS reference_profiles (
    model VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    built_at TIMESTAMPTZ NOT NULL,
    source JSON,
    PRIMARY KEY (model, version)
  );
  CREATE TABLE IF NOT EXISTS reference_fields (
    model VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    type VARCHAR NOT NULL,
    profile JSON NOT NULL,
    built_at TIMESTAMPTZ NOT NULL,
    position INTEGER NOT NULL,
    count BIGINT NOT NULL,
    missing_count BIGINT NOT NULL,
    missing_share DOUBLE NOT NULL,
    distinct_count BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS reference_categories (
    model VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    count BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS reference_vocabulary (
    model VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    count BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS reference_sample (
    model VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    value DOUBLE NOT NULL
  );
  `,
];

export class EmbeddedReferenceStore implements ReferenceStore {
  readonly store: EmbeddedStore;
  readonly #owned: boolean;
  #ready?: Promise<void>;

  /** Uses an open store; the caller keeps ownership (close it yourself). */
  constructor(store: EmbeddedStore, options: { owned?: boolean } = {}) {
    this.store = store;
    this.#owned = options.owned ?? false;
  }

  /** Opens the store file at `path`; close() releases it. */
  static async open(path: string): Promise<EmbeddedReferenceStore> {
    const s = new EmbeddedReferenceStore(await openStore(path), { owned: true });
    await s.init();
    return s;
  }

  init(): Promise<void> {
    this.#ready ??= migrate(this.store, REFERENCE_COMPONENT, REFERENCE_MIGRATIONS).then(() => undefined);
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async save(profile: ReferenceProfile): Promise<void> {
    await this.init();
    const { model, version } = profile;
    const builtAt = new Date(profile.built_at);
    await this.store.transaction(async (tx) => {
      for (const t of REFERENCE_TABLES) await tx.run(`DELETE FROM ${t} WHERE model = $1 AND version = $2`, [model, version]);
      await tx.run('INSERT INTO reference_profiles VALUES ($1, $2, $3, $4)', [model, version, builtAt, JSON.stringify(profile.source)]);
      for (const [i, f] of profile.fields.entries()) {
        await tx.run('INSERT INTO reference_fields VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)', [
          model, version, f.field, f.kind, f.type, JSON.stringify(f), builtAt, i, f.count, f.missing_count, f.missing_share, f.distinct_count,
        ]);
      }
      // Appenders: a vocabulary holds up to 50,000 rows and a sample 10,000 per field.
      await append(await tx.appender('reference_categories'), profile.fields, (f, a) => {
        for (const c of f.categories ?? []) row(a, model, version, f.field, () => (a.appendVarchar(c.value), a.appendBigInt(BigInt(c.count))));
      });
      await append(await tx.appender('reference_vocabulary'), profile.fields, (f, a) => {
        for (const v of f.vocabulary ?? []) row(a, model, version, f.field, () => (a.appendVarchar(v.token), a.appendBigInt(BigInt(v.count))));
      });
      await append(await tx.appender('reference_sample'), profile.fields, (f, a) => {
        for (const v of f.sample ?? []) row(a, model, version, f.field, () => a.appendDouble(v));
      });
    });
  }

  async get(model: string, version?: string): Promise<ReferenceProfile | undefined> {
    await this.init();
    let v = version;
    if (v === undefined) {
      const latest = await this.store.all<{ version: string }>(
        'SELECT version FROM reference_profiles WHERE model = $1 ORDER BY built_at DESC, version DESC LIMIT 1',
        [model],
      );
      v = latest[0]?.version;
      if (v === undefined) return undefined;
    }
    const head = await this.store.all<{ built_at: string; source: ReferenceProfile['source'] }>(
      'SELECT built_at, source FROM reference_profiles WHERE model = $1 AND version = $2',
      [model, v],
    );
    if (head.length === 0) return undefined;
    const fields = await this.store.all<{ profile: FieldProfile }>(
      'SELECT profile FROM reference_fields WHERE model = $1 AND version = $2 ORDER BY position',
      [model, v],
    );
    return { model, version: v, built_at: head[0]!.built_at, source: head[0]!.source, fields: fields.map((r) => r.profile) };
  }

  async list(): Promise<{ model: string; version: string; built_at: string }[]> {
    await this.init();
    return this.store.all('SELECT model, version, built_at FROM reference_profiles ORDER BY model, built_at, version');
  }

  /** Releases the store when this object opened it; safe twice. */
  async close(): Promise<void> {
    if (this.#owned) await this.store.close();
  }
}

function row(a: DuckDBAppender, model: string, version: string, field: string, rest: () => void): void {
  a.appendVarchar(model);
  a.appendVarchar(version);
  a.appendVarchar(field);
  rest();
  a.endRow();
}

async function append(a: DuckDBAppender, fields: readonly FieldProfile[], fn: (f: FieldProfile, a: DuckDBAppender) => void): Promise<void> {
  try {
    for (const f of fields) fn(f, a);
    a.flushSync();
  } finally {
    a.closeSync();
  }
}
