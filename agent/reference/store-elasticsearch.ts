/**
 * Reference profiles in Elasticsearch: `<prefix>-reference`, one document per model + version +
 * field, `_id` = referenceDocId(model, version, field), so that a rule can use a category set or a
 * vocabulary in a `terms` lookup (`{ index, id, path: 'category_values' }`) instead of shipping
 * it in every query.
 *
 * Document fields:
 *   model, version, field, kind, type             keyword
 *   count, missing_count, distinct_count          long
 *   missing_share                                 double
 *   category_values                               keyword array: the category values (terms lookup)
 *   vocabulary_tokens                             keyword array: the vocabulary (terms lookup)
 *   numeric                                       { min, max, mean, std, quantiles: { "1": .., "99": .. } }
 *   built_at                                      date
 *   source_path, source_format (keyword), source_rows (long)   where the profile came from
 *   profile                                       the whole FieldProfile; not indexed (mapped as an
 *                                                 object with enabled: false), read back by get()
 */
import type { estypes } from '@elastic/elasticsearch';
import type { EngineClient } from '../engine/client.ts';
import { EngineResponseError } from '../engine/connection.ts';
import { date, double, keyword, long, opaque, stored, type Mappings } from '../engine/mapping.ts';
import { DriftbeatError } from '../errors.ts';
import { redact } from '../telemetry/redact.ts';
import { referenceDocId, type FieldProfile, type ReferenceProfile, type ReferenceStore } from './profile.ts';

/** Fields per model version and profiles listed: far above max_features (500) per model. */
const MAX_DOCS = 10_000;

export interface ReferenceDocument {
  model: string;
  version: string;
  field: string;
  kind: FieldProfile['kind'];
  type: FieldProfile['type'];
  count: number;
  missing_count: number;
  missing_share: number;
  distinct_count: number;
  category_values?: string[];
  vocabulary_tokens?: string[];
  numeric?: FieldProfile['numeric'];
  built_at: string;
  source_path: string;
  source_rows: number;
  source_format: ReferenceProfile['source']['format'];
  /** Index of the field in the build, so get() returns the fields in the order they were built. */
  position: number;
  profile: FieldProfile;
}

/** The document of one field (pure; exported for the templates' tests and for Watcher lookups). */
export function referenceDocument(profile: ReferenceProfile, f: FieldProfile, position = 0): ReferenceDocument {
  const d: ReferenceDocument = {
    model: profile.model,
    version: profile.version,
    field: f.field,
    kind: f.kind,
    type: f.type,
    count: f.count,
    missing_count: f.missing_count,
    missing_share: f.missing_share,
    distinct_count: f.distinct_count,
    built_at: profile.built_at,
    source_path: profile.source.path,
    source_rows: profile.source.rows,
    source_format: profile.source.format,
    position,
    profile: f,
  };
  if (f.categories) d.category_values = f.categories.map((c) => c.value);
  if (f.vocabulary) d.vocabulary_tokens = f.vocabulary.map((v) => v.token);
  if (f.numeric) d.numeric = f.numeric;
  return d;
}

/**
 * Reference profiles, one document per model + version + field. `dynamic: false` because category
 * counts and vocabularies are objects keyed by user values (a mapping explosion otherwise). The
 * terms-lookup arrays (category_values, vocabulary_tokens) are read from _source by `terms`
 * lookups only, so they are neither indexed nor given doc values; the full profile rides along
 * unindexed. This file owns the mapping: setup installs it, init() creates the index with it.
 */
export function referenceMappings(): Mappings {
  return {
    dynamic: false,
    properties: {
      model: keyword(),
      version: keyword(),
      field: keyword(),
      kind: keyword(),
      type: keyword(),
      position: long,
      count: long,
      missing_count: long,
      missing_share: double,
      distinct_count: long,
      category_values: stored,
      vocabulary_tokens: stored,
      numeric: opaque,
      profile: opaque,
      source_path: keyword(),
      source_rows: long,
      source_format: keyword(),
      built_at: date,
    },
  };
}

export class ElasticsearchReferenceStore implements ReferenceStore {
  readonly index: string;
  readonly #client: EngineClient;
  #ready?: Promise<void>;

  constructor(client: EngineClient, options: { indexPrefix?: string } = {}) {
    this.#client = client;
    this.index = `${options.indexPrefix ?? 'driftbeat'}-reference`;
  }

  /** Creates the index with the reference mappings when `driftbeat setup` has not (a dynamic mapping would make model a text field). */
  init(): Promise<void> {
    this.#ready ??= (async () => {
      try {
        if (await this.#client.indices.exists({ index: this.index })) return;
        await this.#client.indices.create({ index: this.index, mappings: referenceMappings() });
      } catch (err) {
        if (err instanceof EngineResponseError && err.statusCode === 400 && /already_exists/.test(JSON.stringify(err.body))) return;
        throw storeError(`creating index ${this.index}`, err, this.index);
      }
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async save(profile: ReferenceProfile): Promise<void> {
    await this.init();
    const ids = new Set(profile.fields.map((f) => referenceDocId(profile.model, profile.version, f.field)));
    // Fields of an earlier build of the same version that this build no longer has must go too.
    const stale = (await this.#search({ bool: { filter: [{ term: { model: profile.model } }, { term: { version: profile.version } }] } }, { _source: false }, 'reading the previous build'))
      .map((h) => h._id)
      .filter((id): id is string => typeof id === 'string' && !ids.has(id));
    const operations: estypes.BulkRequest['operations'] = [];
    for (const [i, f] of profile.fields.entries()) {
      operations.push({ index: { _index: this.index, _id: referenceDocId(profile.model, profile.version, f.field) } }, referenceDocument(profile, f, i));
    }
    for (const id of stale) operations.push({ delete: { _index: this.index, _id: id } });
    let res: estypes.BulkResponse;
    try {
      // wait_for: a rule run right after `reference build` must see the new profile.
      res = await this.#client.bulk({ operations, refresh: 'wait_for' });
    } catch (err) {
      throw storeError(`saving ${profile.model}@${profile.version}`, err, this.index);
    }
    if (res.errors) {
      const failed = res.items.map((it) => Object.values(it)[0]!).filter((it) => it.error && !(it.status === 404 && it.result === 'not_found'));
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new DriftbeatError(
          'ERR_REFERENCE_STORE',
          redact(`reference store (Elasticsearch): saving ${profile.model}@${profile.version}: ${failed.length} of ${res.items.length} documents failed, first "${first._id}": HTTP ${first.status} ${first.error?.type ?? ''}: ${first.error?.reason ?? ''}; check the ${this.index} mapping (run driftbeat setup)`),
        );
      }
    }
  }

  async get(model: string, version?: string): Promise<ReferenceProfile | undefined> {
    let v = version;
    if (v === undefined) {
      const latest = await this.#search({ term: { model } }, { size: 1, sort: [{ built_at: { order: 'desc' } }, { version: { order: 'desc' } }], _source: ['version'] }, `finding the latest profile of ${model}`);
      v = (latest[0]?._source as { version?: string } | undefined)?.version;
      if (v === undefined) return undefined;
    }
    const hits = await this.#search({ bool: { filter: [{ term: { model } }, { term: { version: v } }] } }, {}, `reading ${model}@${v}`);
    if (hits.length === 0) return undefined;
    const docs = hits.map((h) => h._source as ReferenceDocument);
    // Documents come back in no particular order; the profile keeps the build's field order.
    docs.sort((a, b) => a.position - b.position);
    const first = docs[0]!;
    return {
      model,
      version: v,
      built_at: first.built_at,
      source: { path: first.source_path, rows: first.source_rows, format: first.source_format },
      fields: docs.map((d) => d.profile),
    };
  }

  async list(): Promise<{ model: string; version: string; built_at: string }[]> {
    const hits = await this.#search({ match_all: {} }, { _source: ['model', 'version', 'built_at'] }, 'listing profiles');
    const seen = new Map<string, { model: string; version: string; built_at: string }>();
    for (const h of hits) {
      const s = h._source as { model: string; version: string; built_at: string };
      seen.set(`${s.model}\u0000${s.version}`, { model: s.model, version: s.version, built_at: s.built_at });
    }
    return [...seen.values()].sort((a, b) => (a.model !== b.model ? (a.model < b.model ? -1 : 1) : a.built_at < b.built_at ? -1 : a.built_at > b.built_at ? 1 : 0));
  }

  async #search(
    query: estypes.QueryDslQueryContainer,
    extra: Pick<estypes.SearchRequest, 'size' | 'sort' | '_source'>,
    what: string,
  ): Promise<estypes.SearchHit<unknown>[]> {
    try {
      const r = await this.#client.search({ index: this.index, query, size: MAX_DOCS, ...extra });
      return r.hits.hits;
    } catch (err) {
      // No index yet: no profile yet.
      if (err instanceof EngineResponseError && err.statusCode === 404) return [];
      throw storeError(what, err, this.index);
    }
  }
}

function storeError(what: string, err: unknown, index: string): DriftbeatError {
  let why = err instanceof Error ? err.message : String(err);
  if (err instanceof EngineResponseError) {
    const body = err.body as { error?: { type?: string; reason?: string } } | undefined;
    why = `HTTP ${err.statusCode}${body?.error?.type ? ` ${body.error.type}: ${body.error.reason ?? ''}` : ''}`;
  }
  return new DriftbeatError(
    'ERR_REFERENCE_STORE',
    redact(`reference store (Elasticsearch): ${what} failed: ${why}; check that the cluster is reachable and that the user may read and write ${index}`),
    { cause: err },
  );
}
