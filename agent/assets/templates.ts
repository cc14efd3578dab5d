/**
 * What `driftbeat setup --templates` installs in Elasticsearch or OpenSearch, as pure data typed
 * with the specification's `estypes`: a lifecycle policy (ILM, or ISM on OpenSearch), component
 * and composable index templates for the predictions data streams, index templates for the
 * reference, results, alerts, state and dead-letter indices, those indices, and one data stream
 * per input whose model name is a constant.
 *
 * Setup only assembles: every mapping is owned by the component that writes the documents
 * (sinks/elasticsearch/mappings.ts, results/elasticsearch.ts, alerts/state-es.ts,
 * reference/store-elasticsearch.ts), so a template and its writer cannot disagree.
 *
 * The layout copies the built-in `logs` template of Elasticsearch: mappings and settings in
 * `<name>@mappings` / `<name>@settings` component templates, a `<name>@custom` component the user
 * may create to override anything (listed in ignore_missing_component_templates; on OpenSearch,
 * which lacks that option, setup creates it empty when absent and never overwrites it).
 */
import type { estypes } from '@elastic/elasticsearch';
import { deadLetterIndex } from '../sinks/elasticsearch/config.ts';
import type { Config } from '../config/schema.ts';
import { DIALECTS, type Dialect } from '../engine/dialect.ts';
import type { Mappings } from '../engine/mapping.ts';
import { wildcard } from '../lib/glob.ts';
import { predictionsStream } from '../normalize/document.ts';
import { alertsMappings, stateMappings } from '../alerts/state-es.ts';
import { referenceMappings } from '../reference/store-elasticsearch.ts';
import { resultsMappings } from '../results/elasticsearch.ts';
import { outcomesMappings } from '../quality/store-elasticsearch.ts';
import { deadLetterMappings, predictionsMappings } from '../sinks/elasticsearch/mappings.ts';

/** Bumped whenever a template below changes; stored in each template's `version`. */
export const TEMPLATE_VERSION = 1;

/** Above the built-in `logs` template (100), so a prefix such as `logs-...` still gets ours. */
export const PREDICTIONS_PRIORITY = 200;

export { KEYWORD_IGNORE_ABOVE } from '../engine/mapping.ts';
export const TOTAL_FIELDS_LIMIT = 2000;

export interface IndexNames {
  prefix: string;
  /** ILM policy of the predictions data streams. */
  ilmPolicy: string;
  /** Index template (and component template stem) of the predictions data streams. */
  predictionsTemplate: string;
  predictionsPattern: string;
  reference: string;
  results: string;
  alerts: string;
  state: string;
  deadLetter: string;
  /** Stem of the outcome indices, one per model: `<prefix>-outcomes-<model>` (agent/quality). */
  outcomes: string;
}

export function indexNames(prefix = 'driftbeat'): IndexNames {
  return {
    prefix,
    ilmPolicy: `${prefix}-predictions`,
    predictionsTemplate: `${prefix}-predictions`,
    predictionsPattern: `${prefix}-predictions-*`,
    reference: `${prefix}-reference`,
    results: `${prefix}-results`,
    alerts: `${prefix}-alerts`,
    state: `${prefix}-state`,
    deadLetter: deadLetterIndex(prefix),
    outcomes: `${prefix}-outcomes`,
  };
}

// ---------------------------------------------------------------------------------------------
// lifecycle: ILM (Elasticsearch) or ISM (OpenSearch's Index State Management plugin)

export interface IlmOptions {
  rolloverMaxAge: string;
  rolloverMaxPrimaryShardSize: string;
  deleteAfter: string;
}

export const DEFAULT_ILM: IlmOptions = { rolloverMaxAge: '30d', rolloverMaxPrimaryShardSize: '50gb', deleteAfter: '90d' };

/** The body of `PUT _ilm/policy/<name>` (the `{"policy": ...}` wrapper included). */
export function ilmPolicyBody(o: IlmOptions = DEFAULT_ILM): Omit<estypes.IlmPutLifecycleRequest, 'name'> {
  return {
    policy: {
      _meta: { description: 'driftbeat: predictions data streams (driftbeat setup)', managed_by: 'driftbeat' },
      phases: {
        hot: {
          min_age: '0ms',
          actions: { rollover: { max_age: o.rolloverMaxAge, max_primary_shard_size: o.rolloverMaxPrimaryShardSize } },
        },
        delete: { min_age: o.deleteAfter, actions: { delete: {} } },
      },
    },
  };
}

/**
 * The body of `PUT _plugins/_ism/policies/<name>`: the same retention as the ILM policy, in ISM's
 * states-and-transitions form, attached to the backing indices of the data streams by
 * `ism_template` (OpenSearch has no per-index lifecycle setting in templates).
 */
export function ismPolicyBody(n: IndexNames, o: IlmOptions = DEFAULT_ILM): Record<string, unknown> {
  return {
    policy: {
      description: 'driftbeat: predictions data streams (driftbeat setup)',
      default_state: 'hot',
      states: [
        {
          name: 'hot',
          actions: [{ rollover: { min_index_age: o.rolloverMaxAge, min_primary_shard_size: o.rolloverMaxPrimaryShardSize } }],
          transitions: [{ state_name: 'delete', conditions: { min_index_age: o.deleteAfter } }],
        },
        { name: 'delete', actions: [{ delete: {} }], transitions: [] },
      ],
      ism_template: [{ index_patterns: [`.ds-${n.predictionsPattern}`], priority: PREDICTIONS_PRIORITY }],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// templates

export type ComponentTemplateBody = Omit<estypes.ClusterPutComponentTemplateRequest, 'name' | 'create' | 'cause' | 'master_timeout'>;
export type IndexTemplateBody = Omit<estypes.IndicesPutIndexTemplateRequest, 'name' | 'create' | 'cause' | 'master_timeout'>;

const META = { managed_by: 'driftbeat', managed: true };

export function predictionsComponentTemplates(n: IndexNames, d: Dialect = DIALECTS.elasticsearch): { name: string; body: ComponentTemplateBody }[] {
  const index: Record<string, unknown> = { mapping: { total_fields: { limit: TOTAL_FIELDS_LIMIT } } };
  if (d.lifecycle === 'ilm') index['lifecycle'] = { name: n.ilmPolicy };
  return [
    {
      name: `${n.predictionsTemplate}@mappings`,
      body: {
        template: { mappings: predictionsMappings(d) },
        version: TEMPLATE_VERSION,
        _meta: { ...META, description: 'driftbeat: mappings of prediction documents (agent/sinks/elasticsearch/mappings.ts)' },
      },
    },
    {
      name: `${n.predictionsTemplate}@settings`,
      body: {
        template: { settings: { index } },
        version: TEMPLATE_VERSION,
        _meta: { ...META, description: d.lifecycle === 'ilm' ? 'driftbeat: ILM policy and field limit of prediction data streams' : 'driftbeat: field limit of prediction data streams' },
      },
    },
  ];
}

export function predictionsIndexTemplate(n: IndexNames, d: Dialect = DIALECTS.elasticsearch): IndexTemplateBody {
  const body: IndexTemplateBody = {
    index_patterns: [n.predictionsPattern],
    priority: PREDICTIONS_PRIORITY,
    data_stream: {},
    composed_of: [`${n.predictionsTemplate}@mappings`, `${n.predictionsTemplate}@settings`, `${n.predictionsTemplate}@custom`],
    version: TEMPLATE_VERSION,
    _meta: { ...META, description: 'driftbeat: one data stream per model, driftbeat-predictions-<model>' },
  };
  if (d.ignoreMissingComponentTemplates) body.ignore_missing_component_templates = [`${n.predictionsTemplate}@custom`];
  if (d.allowAutoCreate) body.allow_auto_create = true;
  return body;
}

/** Plain indices (not data streams): they are updated in place or written with `index`, which data streams refuse. */
export function plainIndexTemplate(index: string, mappings: Mappings, description: string): IndexTemplateBody {
  return {
    index_patterns: [index, `${index}-*`],
    priority: PREDICTIONS_PRIORITY,
    template: {
      settings: { index: { mapping: { total_fields: { limit: TOTAL_FIELDS_LIMIT } } } },
      mappings,
    },
    version: TEMPLATE_VERSION,
    _meta: { ...META, description },
  };
}

/** The plain indices driftbeat writes, each with the mapping of its writer. */
export function plainIndices(n: IndexNames, d: Dialect = DIALECTS.elasticsearch): { index: string; mappings: Mappings; description: string }[] {
  return [
    { index: n.reference, mappings: referenceMappings(), description: 'driftbeat: reference profiles, one document per model + version + field' },
    { index: n.results, mappings: resultsMappings(d), description: 'driftbeat: one result per rule x field x segment x window' },
    { index: n.alerts, mappings: alertsMappings(d), description: 'driftbeat: alert transitions (firing, recovered)' },
    { index: n.state, mappings: stateMappings(), description: 'driftbeat: alert state, rule cursors, silences and the evaluation lease' },
    { index: n.deadLetter, mappings: deadLetterMappings(), description: 'driftbeat: documents the engine refused' },
  ];
}

// ---------------------------------------------------------------------------------------------
// the plan: every request of the templates step, in order

export type ResourceKind = 'ilm_policy' | 'ism_policy' | 'component_template' | 'index_template' | 'index' | 'data_stream' | 'watch';

/**
 * One thing setup makes exist in the engine. Setup reads it (`get`), compares what it read with
 * `put.body` and writes only when it is absent or different, so a second run changes nothing.
 */
export interface EsResource {
  kind: ResourceKind;
  name: string;
  /** Read first; a 404 means absent. */
  get: { method: 'GET' | 'HEAD'; path: string };
  put: { method: 'PUT' | 'POST'; path: string; body?: Record<string, unknown> };
  /** The stored definition in the GET response, compared with put.body. Absent: existence is all that counts. */
  current?: (getBody: unknown) => unknown;
  /** Query parameters of an update, from what GET answered (ISM wants the policy's seq_no). */
  updateQuery?: (getBody: unknown) => Record<string, string | number>;
  /** Set when the API may be absent (a plugin): what it means for the user, said instead of failing. */
  whenAbsent?: string;
}

/** Path segment encoding; `@` is legal in a path (RFC 3986 pchar) and reads better in --dry-run output. */
const enc = (s: string) => encodeURIComponent(s).replace(/%40/g, '@');

export function ilmResource(name: string, body: Omit<estypes.IlmPutLifecycleRequest, 'name'>): EsResource {
  return {
    kind: 'ilm_policy',
    name,
    get: { method: 'GET', path: `/_ilm/policy/${enc(name)}` },
    put: { method: 'PUT', path: `/_ilm/policy/${enc(name)}`, body: body as Record<string, unknown> },
    // GET answers {"<name>": {"version", "modified_date", "policy": {...}}}; we sent {"policy": {...}}.
    current: (b) => {
      const p = (b as Record<string, { policy?: unknown }> | undefined)?.[name]?.policy;
      return p === undefined ? undefined : { policy: p };
    },
  };
}

export function ismResource(name: string, body: Record<string, unknown>): EsResource {
  return {
    kind: 'ism_policy',
    name,
    get: { method: 'GET', path: `/_plugins/_ism/policies/${enc(name)}` },
    put: { method: 'PUT', path: `/_plugins/_ism/policies/${enc(name)}`, body },
    // GET answers {"_id", "_seq_no", "_primary_term", "policy": {...}}.
    current: (b) => {
      const p = (b as { policy?: unknown } | undefined)?.policy;
      return p === undefined ? undefined : { policy: p };
    },
    updateQuery: (b): Record<string, string | number> => {
      const g = b as { _seq_no?: number; _primary_term?: number };
      return g._seq_no === undefined || g._primary_term === undefined ? {} : { if_seq_no: g._seq_no, if_primary_term: g._primary_term };
    },
    whenAbsent: 'the Index State Management plugin (opensearch-index-management) is not installed: prediction indices are kept until deleted by hand; install the plugin and run setup again for rollover and retention',
  };
}

export function componentTemplateResource(name: string, body: ComponentTemplateBody, options: { onlyWhenAbsent?: boolean } = {}): EsResource {
  return {
    kind: 'component_template',
    name,
    get: { method: 'GET', path: `/_component_template/${enc(name)}` },
    put: { method: 'PUT', path: `/_component_template/${enc(name)}`, body: body as Record<string, unknown> },
    ...(options.onlyWhenAbsent
      ? {}
      : { current: (b: unknown) => (b as estypes.ClusterGetComponentTemplateResponse | undefined)?.component_templates?.find((t) => t.name === name)?.component_template }),
  };
}

export function indexTemplateResource(name: string, body: IndexTemplateBody): EsResource {
  return {
    kind: 'index_template',
    name,
    get: { method: 'GET', path: `/_index_template/${enc(name)}` },
    put: { method: 'PUT', path: `/_index_template/${enc(name)}`, body: body as Record<string, unknown> },
    current: (b) => (b as estypes.IndicesGetIndexTemplateResponse | undefined)?.index_templates?.find((t) => t.name === name)?.index_template,
  };
}

/** Created empty: the index template above gives it settings and mappings. */
export function indexResource(name: string): EsResource {
  return { kind: 'index', name, get: { method: 'HEAD', path: `/${enc(name)}` }, put: { method: 'PUT', path: `/${enc(name)}` } };
}

export function dataStreamResource(name: string): EsResource {
  return { kind: 'data_stream', name, get: { method: 'GET', path: `/_data_stream/${enc(name)}` }, put: { method: 'PUT', path: `/_data_stream/${enc(name)}` } };
}

/** Model names that are constants of an input (a `name_field` model is known only from its records). */
export function constantModels(config: Pick<Config, 'inputs'>): string[] {
  const names = new Set<string>();
  for (const input of config.inputs) if (input.model.name) names.add(input.model.name);
  return [...names].sort();
}

export interface TemplatePlanOptions {
  prefix?: string;
  ilm?: IlmOptions;
  /** Models whose data streams are created now (others are created by their first document). */
  models?: string[];
  /** The engine's dialect (default Elasticsearch). */
  dialect?: Dialect;
}

/** Every resource of the templates step, in the order they must be installed. */
export function templatePlan(o: TemplatePlanOptions = {}): EsResource[] {
  const n = indexNames(o.prefix);
  const d = o.dialect ?? DIALECTS.elasticsearch;
  const plain = plainIndices(n, d);
  const lifecycle = d.lifecycle === 'ilm'
    ? ilmResource(n.ilmPolicy, ilmPolicyBody(o.ilm))
    : ismResource(n.ilmPolicy, ismPolicyBody(n, o.ilm));
  // Without ignore_missing_component_templates the @custom component must exist: an empty one,
  // created only when absent, so a user's own overrides there are never replaced.
  const custom = d.ignoreMissingComponentTemplates
    ? []
    : [componentTemplateResource(`${n.predictionsTemplate}@custom`, {
      template: {},
      _meta: { ...META, managed: false, description: 'driftbeat: your own settings and mappings for prediction data streams (setup creates it empty and never changes it)' },
    }, { onlyWhenAbsent: true })];
  return [
    lifecycle,
    ...predictionsComponentTemplates(n, d).map((c) => componentTemplateResource(c.name, c.body)),
    ...custom,
    indexTemplateResource(n.predictionsTemplate, predictionsIndexTemplate(n, d)),
    ...plain.map((p) => indexTemplateResource(p.index, plainIndexTemplate(p.index, p.mappings, p.description))),
    ...plain.map((p) => indexResource(p.index)),
    // Outcome indices are created per model by the join (agent/quality/store-elasticsearch.ts): only their template here.
    indexTemplateResource(n.outcomes, plainIndexTemplate(n.outcomes, outcomesMappings(), 'driftbeat: one outcome (ground truth joined with its prediction) per labelled prediction, <prefix>-outcomes-<model>')),
    ...(o.models ?? []).map((m) => dataStreamResource(predictionsStream(n.prefix, m))),
  ];
}

/** The plan for a loaded config on an engine of `dialect`. */
export function templatePlanFor(config: Config, dialect: Dialect = DIALECTS.elasticsearch): EsResource[] {
  const prefix = config.output.elasticsearch?.indexPrefix ?? 'driftbeat';
  return templatePlan({ prefix, ilm: config.setup.ilm, models: constantModels(config), dialect });
}

// ---------------------------------------------------------------------------------------------
// what a field becomes (for tests and for checking Kibana objects against the mappings)

export type JsonKind = 'string' | 'long' | 'double' | 'boolean';

/** Dynamic templates' `match`/`path_match` are Elasticsearch's simple match: `*` only, `?` is itself. */
const ES_MATCH = { question: false } as const;
const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** ES's mapping of a new field without any dynamic template. */
const DEFAULT_DYNAMIC: Record<JsonKind, string> = { string: 'text', long: 'long', double: 'float', boolean: 'boolean' };

/**
 * The Elasticsearch type a leaf `path` gets under `mappings` when a document holds a JSON value of
 * `kind` there: an explicit property wins, else the first matching dynamic template, else ES's
 * default; undefined when the field is not indexed (`dynamic: false`) or lies inside a flattened field.
 */
export function mappedType(mappings: estypes.MappingTypeMapping, path: string, kind: JsonKind): string | undefined {
  const segments = path.split('.');
  let props: Record<string, estypes.MappingProperty> | undefined = mappings.properties;
  for (let i = 0; i < segments.length && props; i++) {
    // Property names may themselves hold dots; try the longest name first.
    let found: estypes.MappingProperty | undefined;
    let used = 0;
    for (let j = segments.length; j > i; j--) {
      const name = segments.slice(i, j).join('.');
      if (props[name]) {
        found = props[name];
        used = j - i;
        break;
      }
    }
    if (!found) break;
    const type = (found as { type?: string }).type;
    if (i + used === segments.length) return type === 'object' ? undefined : type;
    if (type === 'flattened') return 'flattened';
    if (type !== undefined && type !== 'object' && type !== 'nested') {
      // A leaf has no children, only multi-fields (`fields`); a document with children there is refused.
      const rest = segments.slice(i + used).join('.');
      return ((found as { fields?: Record<string, { type?: string }> }).fields?.[rest])?.type;
    }
    i += used - 1;
    props = (found as estypes.MappingObjectProperty).properties ?? {};
  }
  if (mappings.dynamic === false || mappings.dynamic === 'false') return undefined;
  const leaf = segments[segments.length - 1]!;
  for (const entry of mappings.dynamic_templates ?? []) {
    const t = Object.values(entry)[0];
    if (!t) continue;
    const types = asList(t.match_mapping_type);
    if (types.length > 0 && !types.includes('*') && !types.includes(kind)) continue;
    const pathMatch = asList(t.path_match);
    const match = asList(t.match);
    if (pathMatch.length > 0 && !pathMatch.some((g) => wildcard(g, ES_MATCH).test(path))) continue;
    if (match.length > 0 && !match.some((g) => wildcard(g, ES_MATCH).test(leaf))) continue;
    if (asList(t.path_unmatch).some((g) => wildcard(g, ES_MATCH).test(path))) continue;
    if (asList(t.unmatch).some((g) => wildcard(g, ES_MATCH).test(leaf))) continue;
    const type = (t.mapping as { type?: string } | undefined)?.type;
    return type ?? DEFAULT_DYNAMIC[kind];
  }
  return DEFAULT_DYNAMIC[kind];
}

/** Every type `path` can get, whatever the JSON value (dynamic templates differ by value kind). */
export function possibleTypes(mappings: estypes.MappingTypeMapping, path: string): string[] {
  const kinds: JsonKind[] = ['string', 'long', 'double', 'boolean'];
  return [...new Set(kinds.map((k) => mappedType(mappings, path, k)).filter((t): t is string => t !== undefined))];
}

/** Types Kibana can aggregate on (terms, date_histogram, percentiles...). */
export const AGGREGATABLE_TYPES = new Set(['keyword', 'constant_keyword', 'boolean', 'date', 'date_nanos', 'long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'ip']);

/** The mappings a Kibana data view title (index pattern) reads (Kibana is Elasticsearch-only). */
export function mappingsForPattern(pattern: string, prefix = 'driftbeat'): estypes.MappingTypeMapping | undefined {
  const n = indexNames(prefix);
  const d = DIALECTS.elasticsearch;
  if (pattern === n.predictionsPattern) return predictionsMappings(d);
  if (pattern === `${n.outcomes}-*`) return outcomesMappings();
  return plainIndices(n, d).find((p) => pattern.startsWith(p.index))?.mappings;
}
