/**
 * Which engine is at `output.elasticsearch.hosts`, and the few things that differ between them.
 *
 * Detected once at connect from `GET /` (OpenSearch says `version.distribution: "opensearch"`;
 * Elasticsearch 8+ sends the `x-elastic-product: Elasticsearch` header) and handed to the
 * components that care (setup's templates, the sink's start-up line). Everything else (bulk,
 * `_msearch`, queries, aggregations, terms lookups, optimistic concurrency) is shared.
 */

export type EngineKind = 'elasticsearch' | 'opensearch';

export interface Dialect {
  engine: EngineKind;
  /** For messages: "Elasticsearch", "OpenSearch". */
  label: string;
  /** The field type that takes any JSON object as keywords without growing the mapping. */
  flattenedType: 'flattened' | 'flat_object';
  /** Whether the flattened type takes `ignore_above` (flat_object takes no parameters). */
  flattenedIgnoreAbove: boolean;
  /** Index lifecycle: Elasticsearch's ILM, OpenSearch's ISM plugin (absent from a bare engine). */
  lifecycle: 'ilm' | 'ism';
  /** Watcher (Elasticsearch with a licence that has it); on OpenSearch the agent's own alerting is the path. */
  watcher: boolean;
  /** Kibana saved objects (OpenSearch Dashboards has its own formats). */
  kibana: boolean;
  /** Index templates may list component templates that do not exist (ES 8.7+ `ignore_missing_component_templates`). */
  ignoreMissingComponentTemplates: boolean;
  /** Index templates take `allow_auto_create` (Elasticsearch 7.11+). */
  allowAutoCreate: boolean;
}

export const DIALECTS: Record<EngineKind, Dialect> = {
  elasticsearch: {
    engine: 'elasticsearch',
    label: 'Elasticsearch',
    flattenedType: 'flattened',
    flattenedIgnoreAbove: true,
    lifecycle: 'ilm',
    watcher: true,
    kibana: true,
    ignoreMissingComponentTemplates: true,
    allowAutoCreate: true,
  },
  opensearch: {
    engine: 'opensearch',
    label: 'OpenSearch',
    flattenedType: 'flat_object',
    flattenedIgnoreAbove: false,
    lifecycle: 'ism',
    watcher: false,
    kibana: false,
    ignoreMissingComponentTemplates: false,
    allowAutoCreate: false,
  },
};

export interface EngineInfo {
  engine: EngineKind;
  /** e.g. 8.15.0, 2.19.6 */
  version: string;
  clusterName?: string;
}

export type Detection = { ok: true; info: EngineInfo } | { ok: false; kind: 'unsupported_version' | 'not_a_search_engine'; problem: string };

/**
 * What `GET /` says about the engine. Pure: the body and headers of the answer in, a verdict out.
 * Supported: Elasticsearch 8.x/9.x (data streams, the 8.x REST API) and OpenSearch 2.x (data
 * streams, `flat_object` since 2.7).
 */
export function detectEngine(body: unknown, headers: Record<string, string | string[] | undefined>): Detection {
  const b = (body ?? {}) as { version?: { number?: string; distribution?: string }; cluster_name?: string; tagline?: string };
  const version = b.version?.number ?? '';
  const major = Number.parseInt(version, 10);
  const minor = Number.parseInt(version.split('.')[1] ?? '', 10);
  const base = b.cluster_name !== undefined ? { clusterName: b.cluster_name } : {};
  if (b.version?.distribution === 'opensearch') {
    if (!(major >= 3 || (major === 2 && minor >= 7))) {
      return { ok: false, kind: 'unsupported_version', problem: `OpenSearch ${version} is not supported; driftbeat needs OpenSearch 2.7 or later (data streams, flat_object)` };
    }
    return { ok: true, info: { engine: 'opensearch', version, ...base } };
  }
  const product = headers['x-elastic-product'];
  if (product === 'Elasticsearch' || (Array.isArray(product) && product.includes('Elasticsearch'))) {
    if (!(major >= 8)) {
      return { ok: false, kind: 'unsupported_version', problem: `Elasticsearch ${version} is not supported; driftbeat needs 8.0 or later (data streams, the 8.x REST API)` };
    }
    return { ok: true, info: { engine: 'elasticsearch', version, ...base } };
  }
  if (Number.isFinite(major) && major < 8 && b.tagline === 'You Know, for Search') {
    return { ok: false, kind: 'unsupported_version', problem: `Elasticsearch ${version} is not supported; driftbeat needs 8.0 or later (data streams, the 8.x REST API)` };
  }
  return {
    ok: false,
    kind: 'not_a_search_engine',
    problem: 'the server at hosts is neither Elasticsearch 8+ (no x-elastic-product header) nor OpenSearch 2.x (no version.distribution "opensearch" in GET /); check output.elasticsearch.hosts (a proxy in the way?)',
  };
}
