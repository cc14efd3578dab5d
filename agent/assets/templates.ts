/**
 * What `driftbeat setup --templates` installs in Elasticsearch, as pure data typed with the
 * official client's `estypes` (so `tsc` rejects a malformed template): an ILM policy, component
 * and composable index templates for the predictions data streams (DESIGN.md section 2), index
 * templates for the reference, results, alerts, state and dead-letter indices, those indices, and
 * one data stream per input whose model name is a constant.
 *
 * The layout copies the built-in `logs` template (shared/reference/es/templates/): mappings and
 * settings in `<name>@mappings` / `<name>@settings` component templates, a `<name>@custom`
 * component the user may create to override anything (listed in ignore_missing_component_templates).
 */
import type { estypes } from '@elastic/elasticsearch';
import type { Config } from '../config/schema.ts';
import { predictionsStream } from '../normalize/document.ts';
import { deadLetterIndex } from '../sinks/elasticsearch/config.ts';

/** Bumped whenever a template below changes; stored in each template's `version`. */
export const TEMPLATE_VERSION = 1;

/** Above the built-in `logs` template (100), so a prefix such as `logs-...` still gets ours. */
export const PREDICTIONS_PRIORITY = 200;

export const KEYWORD_IGNORE_ABOVE = 1024;
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
  };
}

// ---------------------------------------------------------------------------------------------
// ILM

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

// ---------------------------------------------------------------------------------------------
// mappings

const keyword = (ignoreAbove = KEYWORD_IGNORE_ABOVE): estypes.MappingKeywordProperty => ({ type: 'keyword', ignore_above: ignoreAbove });
const date: estypes.MappingDateProperty = { type: 'date' };
const double: estypes.MappingDoubleNumberProperty = { type: 'double' };
const long: estypes.MappingLongNumberProperty = { type: 'long' };
const integer: estypes.MappingIntegerNumberProperty = { type: 'integer' };
const bool: estypes.MappingBooleanProperty = { type: 'boolean' };
const flattened: estypes.MappingFlattenedProperty = { type: 'flattened', ignore_above: KEYWORD_IGNORE_ABOVE };
const obj = (properties: Record<string, estypes.MappingProperty>): estypes.MappingObjectProperty => ({ type: 'object', properties });

type DynamicTemplate = Partial<Record<string, estypes.MappingDynamicTemplate>>;

/**
 * Values of features and predictions: strings and booleans are categories (keyword), every number
 * is a double. Mapping JSON integers as double matters: a feature whose first value is `3` would
 * otherwise become `long` and a later `3.5` would be silently truncated.
 */
function valueTemplates(path: 'features' | 'prediction'): DynamicTemplate[] {
  return [
    { [`${path}_strings`]: { path_match: `${path}.*`, match_mapping_type: 'string', mapping: keyword() } },
    { [`${path}_booleans`]: { path_match: `${path}.*`, match_mapping_type: 'boolean', mapping: keyword() } },
    { [`${path}_longs`]: { path_match: `${path}.*`, match_mapping_type: 'long', mapping: double } },
    { [`${path}_doubles`]: { path_match: `${path}.*`, match_mapping_type: 'double', mapping: double } },
  ];
}

/** Mappings of a predictions document (agent/normalize/document.ts, DESIGN.md section 2). */
export function predictionsMappings(): estypes.MappingTypeMapping {
  return {
    // A prediction log has many string features that look like dates or numbers ("2024-01", "007"): keep them categories.
    date_detection: false,
    numeric_detection: false,
    dynamic_templates: [
      ...valueTemplates('features'),
      ...valueTemplates('prediction'),
      // Raw text is searchable, never an aggregatable keyword (high cardinality).
      { text_content: { path_match: 'text.*.content', mapping: { type: 'text' } } },
      { text_token_count: { path_match: 'text.*.token_count', mapping: integer } },
      { text_oov_count: { path_match: 'text.*.oov_count', mapping: integer } },
      // Copied to the top-level oov_tokens so one terms aggregation lists new words across text fields.
      { text_oov_tokens: { path_match: 'text.*.oov_tokens', mapping: { type: 'keyword', ignore_above: 256, copy_to: 'oov_tokens' } } },
      { labels: { path_match: 'labels.*', mapping: keyword() } },
      { strings_as_keywords: { match_mapping_type: 'string', mapping: keyword() } },
    ],
    properties: {
      '@timestamp': date,
      event: obj({ id: keyword(), ingested: date, duration: long }),
      model: obj({ name: keyword(), version: keyword() }),
      features: { type: 'object' },
      prediction: { type: 'object' },
      missing: keyword(),
      oov_tokens: keyword(256),
      features_unparsed: flattened,
      features_overflow: flattened,
      text: { type: 'object' },
      labels: { type: 'object' },
      host: obj({ name: keyword() }),
      log: obj({ file: obj({ path: keyword() }), offset: long }),
    },
  };
}

const stringsAsKeywords: DynamicTemplate = { strings_as_keywords: { match_mapping_type: 'string', mapping: keyword() } };

/** RuleResult (agent/rules/result.ts): one document per rule x field x segment x window. */
function ruleResultProperties(): Record<string, estypes.MappingProperty> {
  return {
    rule: keyword(),
    type: keyword(),
    model: keyword(),
    version: keyword(),
    field: keyword(),
    segment: keyword(),
    window: obj({ from: date, to: date }),
    status: keyword(),
    statistic: keyword(),
    value: double,
    threshold: double,
    drifted: bool,
    reference_count: long,
    current_count: long,
    severity: keyword(),
    // Its shape differs per rule type; flattened takes any shape without growing the mapping.
    details: flattened,
    reference: keyword(),
    error: { type: 'text' },
    evaluated_at: date,
  };
}

export function resultsMappings(): estypes.MappingTypeMapping {
  return {
    dynamic_templates: [stringsAsKeywords],
    properties: { '@timestamp': date, ...ruleResultProperties() },
  };
}

/** Alert transitions (agent/alerts/lifecycle.ts Transition): ok -> firing -> recovered, with the result that caused it. */
export function alertsMappings(): estypes.MappingTypeMapping {
  return {
    dynamic_templates: [stringsAsKeywords],
    properties: {
      '@timestamp': date,
      at: date,
      key: keyword(),
      rule: keyword(),
      field: keyword(),
      segment: keyword(),
      model: keyword(),
      version: keyword(),
      state: keyword(),
      from: keyword(),
      to: keyword(),
      message: keyword(),
      silenced: bool,
      severity: keyword(),
      result: obj(ruleResultProperties()),
    },
  };
}

/**
 * Alert state and the evaluation lease. `dynamic: false`: the agent reads these documents by id
 * and by the keys below, and a new field in the state must never be able to break a write.
 */
export function stateMappings(): estypes.MappingTypeMapping {
  return {
    dynamic: false,
    properties: {
      key: keyword(),
      rule: keyword(),
      field: keyword(),
      segment: keyword(),
      model: keyword(),
      version: keyword(),
      state: keyword(),
      status: keyword(),
      kind: keyword(),
      holder: keyword(),
      since: date,
      firingSince: date,
      lastNotifiedAt: date,
      lastWindowTo: date,
      updatedAt: date,
      expires_at: date,
      updated_at: date,
    },
  };
}

/**
 * Reference profiles, one document per model + version + field. `dynamic: false` because category
 * counts and vocabularies are objects keyed by user values (a mapping explosion otherwise); `terms`
 * lookups read `_source`, so they work on unmapped fields.
 */
export function referenceMappings(): estypes.MappingTypeMapping {
  // Written by agent/reference/store-elasticsearch.ts. category_values / vocabulary_tokens are read
  // by terms lookups from _source only, so they are neither indexed nor given doc values; the full
  // profile rides along unindexed.
  const lookupOnly: estypes.MappingProperty = { type: 'keyword', index: false, doc_values: false };
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
      category_values: lookupOnly,
      vocabulary_tokens: lookupOnly,
      numeric: { type: 'object', enabled: false },
      profile: { type: 'object', enabled: false },
      source_path: keyword(),
      source_rows: long,
      source_format: keyword(),
      built_at: date,
    },
  };
}

/** Documents Elasticsearch refused for good (agent/sinks/elasticsearch/sink.ts indexDeadLetters). */
export function deadLetterMappings(): estypes.MappingTypeMapping {
  return {
    dynamic: false,
    properties: {
      '@timestamp': date,
      event: obj({ id: keyword(), original: { type: 'keyword', index: false, doc_values: false } }),
      model: obj({ name: keyword(), version: keyword() }),
      log: obj({ file: obj({ path: keyword() }), offset: long }),
      error: obj({ type: keyword(), message: { type: 'text' } }),
      reason: { type: 'text' },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// templates

export type ComponentTemplateBody = Omit<estypes.ClusterPutComponentTemplateRequest, 'name' | 'create' | 'cause' | 'master_timeout'>;
export type IndexTemplateBody = Omit<estypes.IndicesPutIndexTemplateRequest, 'name' | 'create' | 'cause' | 'master_timeout'>;

const META = { managed_by: 'driftbeat', managed: true };

export function predictionsComponentTemplates(n: IndexNames): { name: string; body: ComponentTemplateBody }[] {
  return [
    {
      name: `${n.predictionsTemplate}@mappings`,
      body: {
        template: { mappings: predictionsMappings() },
        version: TEMPLATE_VERSION,
        _meta: { ...META, description: 'driftbeat: mappings of prediction documents (DESIGN.md section 2)' },
      },
    },
    {
      name: `${n.predictionsTemplate}@settings`,
      body: {
        template: {
          settings: {
            index: {
              lifecycle: { name: n.ilmPolicy },
              mapping: { total_fields: { limit: TOTAL_FIELDS_LIMIT } },
            },
          },
        },
        version: TEMPLATE_VERSION,
        _meta: { ...META, description: 'driftbeat: ILM policy and field limit of prediction data streams' },
      },
    },
  ];
}

export function predictionsIndexTemplate(n: IndexNames): IndexTemplateBody {
  return {
    index_patterns: [n.predictionsPattern],
    priority: PREDICTIONS_PRIORITY,
    data_stream: {},
    composed_of: [`${n.predictionsTemplate}@mappings`, `${n.predictionsTemplate}@settings`, `${n.predictionsTemplate}@custom`],
    ignore_missing_component_templates: [`${n.predictionsTemplate}@custom`],
    allow_auto_create: true,
    version: TEMPLATE_VERSION,
    _meta: { ...META, description: 'driftbeat: one data stream per model, driftbeat-predictions-<model>' },
  };
}

/** Plain indices (not data streams): they are updated in place or written with `index`, which data streams refuse. */
export function plainIndexTemplate(index: string, mappings: estypes.MappingTypeMapping, description: string): IndexTemplateBody {
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

// ---------------------------------------------------------------------------------------------
// the plan: every request of the templates step, in order

export type ResourceKind = 'ilm_policy' | 'component_template' | 'index_template' | 'index' | 'data_stream' | 'watch';

/**
 * One thing setup makes exist in Elasticsearch. Setup reads it (`get`), compares what it read with
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

export function componentTemplateResource(name: string, body: ComponentTemplateBody): EsResource {
  return {
    kind: 'component_template',
    name,
    get: { method: 'GET', path: `/_component_template/${enc(name)}` },
    put: { method: 'PUT', path: `/_component_template/${enc(name)}`, body: body as Record<string, unknown> },
    current: (b) => (b as estypes.ClusterGetComponentTemplateResponse | undefined)?.component_templates?.find((t) => t.name === name)?.component_template,
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
}

/** Every resource of the templates step, in the order they must be installed. */
export function templatePlan(o: TemplatePlanOptions = {}): EsResource[] {
  const n = indexNames(o.prefix);
  const plain: [string, estypes.MappingTypeMapping, string][] = [
    [n.reference, referenceMappings(), 'driftbeat: reference profiles, one document per model + version + field'],
    [n.results, resultsMappings(), 'driftbeat: one result per rule x field x segment x window'],
    [n.alerts, alertsMappings(), 'driftbeat: alert transitions (firing, recovered)'],
    [n.state, stateMappings(), 'driftbeat: alert state and the evaluation lease'],
    [n.deadLetter, deadLetterMappings(), 'driftbeat: documents Elasticsearch refused'],
  ];
  return [
    ilmResource(n.ilmPolicy, ilmPolicyBody(o.ilm)),
    ...predictionsComponentTemplates(n).map((c) => componentTemplateResource(c.name, c.body)),
    indexTemplateResource(n.predictionsTemplate, predictionsIndexTemplate(n)),
    ...plain.map(([index, mappings, description]) => indexTemplateResource(index, plainIndexTemplate(index, mappings, description))),
    ...plain.map(([index]) => indexResource(index)),
    ...(o.models ?? []).map((m) => dataStreamResource(predictionsStream(n.prefix, m))),
  ];
}

/** The plan for a loaded config. */
export function templatePlanFor(config: Config): EsResource[] {
  const prefix = config.output.elasticsearch?.indexPrefix ?? 'driftbeat';
  return templatePlan({ prefix, ilm: config.setup.ilm, models: constantModels(config) });
}

// ---------------------------------------------------------------------------------------------
// what a field becomes (for tests and for checking Kibana objects against the mappings)

export type JsonKind = 'string' | 'long' | 'double' | 'boolean';

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

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
    if (pathMatch.length > 0 && !pathMatch.some((g) => globToRegExp(g).test(path))) continue;
    if (match.length > 0 && !match.some((g) => globToRegExp(g).test(leaf))) continue;
    if (asList(t.path_unmatch).some((g) => globToRegExp(g).test(path))) continue;
    if (asList(t.unmatch).some((g) => globToRegExp(g).test(leaf))) continue;
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

/** The mappings a Kibana data view title (index pattern) reads, by prefix-independent suffix. */
export function mappingsForPattern(pattern: string, prefix = 'driftbeat'): estypes.MappingTypeMapping | undefined {
  const n = indexNames(prefix);
  if (pattern === n.predictionsPattern) return predictionsMappings();
  if (pattern.startsWith(n.results)) return resultsMappings();
  if (pattern.startsWith(n.alerts)) return alertsMappings();
  if (pattern.startsWith(n.state)) return stateMappings();
  if (pattern.startsWith(n.reference)) return referenceMappings();
  if (pattern.startsWith(n.deadLetter)) return deadLetterMappings();
  return undefined;
}
