/**
 * The config schema: what `driftbeat.yml` accepts, its defaults and its docs.
 *
 * YAML keys are snake_case (as in Elasticsearch, Kibana and Beats). They become camelCase here and
 * nowhere else: every object schema is wrapped in `camel()`, which renames that object's own keys
 * (user-chosen keys of records such as `labels` or `notifiers` are left alone).
 * Unknown keys are rejected everywhere (`z.strictObject`).
 */
import { z } from 'zod';
import { parseIso } from '../normalize/timestamp.ts';
import { parseBytes, parseDuration } from './units.ts';

// ---------------------------------------------------------------------------------------------
// helpers

type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
export type CamelKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Renames the keys of one object from snake_case to camelCase (the one place this happens). */
export function camel<T extends z.ZodType<Record<string, unknown>>>(schema: T) {
  return schema.transform((o) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) out[camelCase(k)] = v;
    return out as CamelKeys<z.output<T>>;
  });
}

/** A duration such as `10s`, `5m`, `2h`, `7d`; a bare number means milliseconds. Parsed to ms. */
export function duration(example = '10s') {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as ${example}, received ${JSON.stringify(v)}`, input: v });
      return z.NEVER;
    }
    return ms;
  }).meta({ title: 'duration' });
}

/** A byte size such as `1MiB`, `512KiB`, `64MiB`; a bare number means bytes. Parsed to bytes. */
export function bytes(example = '1MiB') {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = parseBytes(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a size such as ${example}, received ${JSON.stringify(v)}`, input: v });
      return z.NEVER;
    }
    return n;
  }).meta({ title: 'size' });
}

const nonEmpty = z.string().min(1);

// ---------------------------------------------------------------------------------------------
// inputs

export const DEFAULT_NA_VALUES = ['NA', 'N/A', 'NaN', 'null', 'None'];

const ModelSchema = camel(
  z.strictObject({
    name: nonEmpty.optional().describe('Model name as a constant (use this or name_field).'),
    name_field: nonEmpty.optional().describe('Record field holding the model name.'),
    version: nonEmpty.optional().describe('Model version as a constant (use this or version_field).'),
    version_field: nonEmpty.optional().describe('Record field holding the model version.'),
  }),
).check((ctx) => {
  const m = ctx.value;
  if (!m.name && !m.nameField) {
    ctx.issues.push({ code: 'custom', message: 'expected one of name or name_field, received neither', input: m, path: [] });
  }
});

/** An ISO 8601 date or date-time (UTC when it has no zone), parsed to epoch milliseconds. */
function instant(example: string) {
  return z.string().transform((v, ctx) => {
    const ms = parseIso(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected an ISO 8601 date such as ${example}, received ${JSON.stringify(v)}`, input: v });
      return z.NEVER;
    }
    return ms;
  });
}

const TimestampRangeSchema = camel(
  z.strictObject({
    min: instant('2000-01-01').prefault('2000-01-01').describe('Earliest plausible record time; earlier lines go to the dead letter.'),
    max_ahead: duration('1d').prefault('1d').describe('How far past the agent clock a record time may lie; later lines go to the dead letter.'),
  }),
);

const FieldsSchema = camel(
  z.strictObject({
    timestamp: nonEmpty.default('timestamp').describe('Record field holding the event time.'),
    timestamp_format: z.enum(['auto', 'iso8601', 'epoch_s', 'epoch_ms', 'epoch_us', 'epoch_ns']).default('auto')
      .describe('auto detects ISO 8601 and epoch seconds, milliseconds, microseconds or nanoseconds by magnitude.'),
    timestamp_range: TimestampRangeSchema.prefault({}),
    id: nonEmpty.optional().describe('Record field holding a unique request id; else file identity + offset.'),
    features: nonEmpty.default('features').describe('Record field holding the object of model inputs.'),
    predictions: nonEmpty.default('prediction').describe('Record field holding the prediction (an object, or a scalar stored as prediction.value).'),
    text: z.array(nonEmpty).default([]).describe('Feature names holding free text (tokenized; OOV against the reference vocabulary).'),
    latency: nonEmpty.optional().describe('Record field holding the inference latency in milliseconds (stored as event.duration in ns).'),
    actual: z.union([nonEmpty, z.array(nonEmpty).min(1)]).optional()
      .describe('kind: feedback only. Record field(s) holding the actual outcome: one field (an object, or a scalar stored as actual.value) or a list of fields (actual.<field>).'),
  }),
);

/** How a feedback input's outcomes are joined with their predictions (kind: feedback). */
export const JoinSchema = camel(
  z.strictObject({
    task: z.enum(['classification', 'regression']).default('classification').describe('What the outcome is compared as: classes (correct, confusion matrix) or numbers (error, abs_error, squared_error).'),
    prediction: nonEmpty.default('label').describe('The prediction.<name> compared with the actual value.'),
    actual: nonEmpty.default('value').describe('The actual.<name> compared with the prediction.'),
    score: nonEmpty.optional().describe('classification: prediction.<name> holding the probability of the positive class (ROC AUC, log loss).'),
    positive: z.union([z.string(), z.number(), z.boolean()]).transform(String).default('1').describe('classification: the positive class (its precision/recall/F1, and what score is the probability of).'),
    give_up_after: duration('24h').prefault('24h').describe('An outcome whose prediction is still not stored this long after it was read is counted and dead-lettered.'),
    max_pending: z.int().positive().default(100_000).describe('Outcomes waiting for their prediction; when full, reading the feedback log pauses.'),
    retry_interval: duration('5s').prefault('5s').describe('How often waiting outcomes look for their prediction again.'),
  }),
);

export const InputSchema = camel(
  z.strictObject({
    id: nonEmpty.optional().describe('Name of this input in logs and metrics; defaults to the model name.'),
    kind: z.enum(['predictions', 'feedback']).default('predictions').describe('predictions: a prediction log. feedback: outcomes (ground truth) keyed by the prediction id, joined with the stored predictions.'),
    join: JoinSchema.optional().describe('kind: feedback only: how outcomes are compared with predictions.'),
    paths: z.array(nonEmpty).min(1).describe('Glob patterns of JSON-lines prediction logs.'),
    exclude: z.array(nonEmpty).default([]).describe('Glob patterns to leave out (e.g. compressed rotated files).'),
    model: ModelSchema,
    fields: FieldsSchema.prefault({}),
    labels: z.record(z.string(), z.string()).default({}).describe('Constant labels added to every document as labels.*.'),
    na_values: z.array(z.string()).default(DEFAULT_NA_VALUES).describe('Strings that mean "missing", besides null, "" , NaN and ±Infinity.'),
    max_line_bytes: bytes('1MiB').prefault('1MiB').describe('Longer lines go to the dead letter.'),
    max_features: z.int().positive().default(500).describe('Distinct feature names per model; the rest go to the flattened features_overflow field.'),
    start_position: z.enum(['beginning', 'end']).default('beginning').describe('Where to start in files seen for the first time.'),
    scan_frequency: duration('10s').prefault('10s').describe('How often globs are re-scanned (besides file-system events).'),
    close_removed: z.boolean().default(true).describe('Stop reading a file once it is deleted and read to its end.'),
    fingerprint_bytes: z.int().min(16).max(65536).default(1024).describe('Bytes at the start of a file that form its fingerprint.'),
    rotated: z.array(nonEmpty).default([]).describe('Glob patterns where rotation moves files to another folder; at start, files the registry knows that are not finished are looked for here (and in their own folder).'),
    max_open_files: z.int().positive().default(128).describe('Files of this input held open at once (read to their end before they are let go, so rotation during an outage loses nothing); see "Rotation" in the README.'),
  }),
).check((ctx) => {
  const i = ctx.value;
  const issue = (path: (string | number)[], message: string) => ctx.issues.push({ code: 'custom', message, input: i, path });
  if (i.kind === 'feedback') {
    if (!i.fields.id) issue(['fields', 'id'], 'kind: feedback needs fields.id (the record field holding the prediction id), received none');
    if (!i.fields.actual) issue(['fields', 'actual'], 'kind: feedback needs fields.actual (the record field(s) holding the outcome), received none');
    if (!i.model.name) issue(['model', 'name'], 'kind: feedback needs a constant model.name (the model whose predictions are joined), received name_field only');
  } else {
    if (i.join) issue(['join'], 'join is for kind: feedback inputs, received it on a predictions input');
    if (i.fields.actual) issue(['fields', 'actual'], 'fields.actual is for kind: feedback inputs, received it on a predictions input');
  }
});

// ---------------------------------------------------------------------------------------------
// outputs

const BackoffSchema = camel(
  z.strictObject({
    initial: duration('1s').prefault('1s'),
    max: duration('60s').prefault('60s'),
  }),
);

export const ElasticsearchOutputSchema = camel(
  z.strictObject({
    hosts: z.array(z.url()).min(1).describe('URLs of Elasticsearch 8.x/9.x or OpenSearch 2.x nodes (the engine is detected at connect).'),
    engine: z.enum(['auto', 'elasticsearch', 'opensearch']).default('auto').describe('Which engine hosts point at: auto detects it from GET /; the value is used when the engine cannot be asked (setup --dry-run).'),
    api_key: nonEmpty.optional().describe('API key (base64 id:key); use ${ENV}.'),
    username: nonEmpty.optional(),
    password: nonEmpty.optional().describe('Use ${ENV}.'),
    ca_fingerprint: nonEmpty.optional().describe('SHA-256 fingerprint of the CA certificate (as Elasticsearch prints at first start).'),
    ca: nonEmpty.optional().describe('Path of a PEM CA certificate file.'),
    tls_verify: z.boolean().default(true).describe('Verify server certificates. Turn off only for local tests.'),
    index_prefix: nonEmpty.default('driftbeat').describe('Prefix of every index and data stream (driftbeat-predictions-<model>, driftbeat-results, ...).'),
    bulk_max_bytes: bytes('5MiB').prefault('5MiB').describe('A bulk request is sent once it reaches this size...'),
    bulk_max_docs: z.int().positive().default(2000).describe('...or this many documents...'),
    flush_interval: duration('1s').prefault('1s').describe('...or when the oldest buffered document is this old.'),
    max_in_flight: z.int().positive().max(16).default(2).describe('Bulk requests in flight at once.'),
    timeout: duration('30s').prefault('30s').describe('Request timeout.'),
    backoff: BackoffSchema.prefault({}),
    max_retries: z.int().min(-1).default(-1).describe('Retries of a retryable failure; -1 retries forever (nothing is dropped).'),
  }),
).check((ctx) => {
  const o = ctx.value;
  if (o.apiKey && (o.username || o.password)) {
    ctx.issues.push({ code: 'custom', message: 'expected api_key or username/password, received both', input: o, path: ['api_key'] });
  }
  if (Boolean(o.username) !== Boolean(o.password)) {
    ctx.issues.push({ code: 'custom', message: 'expected username and password together, received only one', input: o, path: [o.username ? 'password' : 'username'] });
  }
});

export const EmbeddedOutputSchema = camel(
  z.strictObject({
    path: nonEmpty.default('./data/driftbeat.duckdb').describe('DuckDB database file.'),
    batch_max_docs: z.int().positive().default(5000).describe('Documents per insert transaction.'),
    flush_interval: duration('1s').prefault('1s'),
  }),
);

const OutputSchema = camel(
  z.strictObject({
    elasticsearch: ElasticsearchOutputSchema.optional(),
    embedded: EmbeddedOutputSchema.optional(),
  }),
).check((ctx) => {
  const o = ctx.value;
  const n = Number(o.elasticsearch !== undefined) + Number(o.embedded !== undefined);
  if (n !== 1) {
    ctx.issues.push({
      code: 'custom',
      message: `expected exactly one of elasticsearch or embedded, received ${n === 0 ? 'none' : 'both'}`,
      input: o,
      path: [],
    });
  }
});

// ---------------------------------------------------------------------------------------------
// notifiers (used by rules' `notify:`)

const RetrySchema = camel(
  z.strictObject({
    max_attempts: z.int().positive().default(10).describe('Attempts before a message is given up (logged and counted).'),
    initial_backoff: duration('1s').prefault('1s'),
    max_backoff: duration('5m').prefault('5m'),
  }),
);

const SlackNotifierSchema = camel(
  z.strictObject({
    type: z.literal('slack'),
    webhook_url: z.url().describe('Slack incoming-webhook URL; use ${ENV}.'),
    channel: nonEmpty.optional(),
    username: nonEmpty.optional(),
    retry: RetrySchema.prefault({}),
  }),
);

const EmailNotifierSchema = camel(
  z.strictObject({
    type: z.literal('email'),
    host: nonEmpty,
    port: z.int().positive().default(587),
    secure: z.boolean().default(false).describe('TLS from the start (port 465); otherwise STARTTLS when offered.'),
    username: nonEmpty.optional(),
    password: nonEmpty.optional().describe('Use ${ENV}.'),
    from: nonEmpty,
    to: z.array(nonEmpty).min(1),
    subject_prefix: z.string().default('[driftbeat]'),
    retry: RetrySchema.prefault({}),
  }),
);

const WebhookNotifierSchema = camel(
  z.strictObject({
    type: z.literal('webhook'),
    url: z.url(),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra headers; values may use ${ENV}.'),
    body: z.unknown().optional().describe('JSON body template; strings may hold {{alert.field}} placeholders. Default: the alert as JSON.'),
    retry: RetrySchema.prefault({}),
  }),
);

const LogNotifierSchema = camel(
  z.strictObject({
    type: z.literal('log'),
    retry: RetrySchema.prefault({}),
  }),
);

export const NotifierSchema = z.discriminatedUnion('type', [
  SlackNotifierSchema,
  EmailNotifierSchema,
  WebhookNotifierSchema,
  LogNotifierSchema,
]);

// ---------------------------------------------------------------------------------------------
// the rest

const PathSchema = camel(
  z.strictObject({
    data: nonEmpty.default('./data').describe('Registry, outbox and dead letter live here.'),
  }),
);

const QueueSchema = camel(
  z.strictObject({
    max_bytes: bytes('16MiB').prefault('16MiB').describe('Memory budget for lines read but not yet acknowledged; reading pauses when it is full.'),
  }),
);

const HttpSchema = camel(
  z.strictObject({
    enabled: z.boolean().default(true),
    host: nonEmpty.default('127.0.0.1').describe('Bind address of /metrics and /healthz. Keep it on loopback.'),
    port: z.int().min(0).max(65535).default(5066),
  }),
);

const LoggingSchema = camel(
  z.strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  }),
);

const RulesSchema = camel(
  z.strictObject({
    path: nonEmpty.optional().describe('Folder of rule files; rules run only when this is set.'),
    max_catchup_windows: z.int().min(0).default(24).describe('Missed windows evaluated after a restart, per rule; older ones are skipped with a warning.'),
    kibana_url: z.url().optional().describe('Kibana base URL used for links in alert messages.'),
  }),
);

const KibanaSetupSchema = camel(
  z.strictObject({
    host: z.url().describe('Kibana URL, e.g. http://127.0.0.1:5601.'),
    username: nonEmpty.optional(),
    password: nonEmpty.optional(),
    api_key: nonEmpty.optional(),
    space: nonEmpty.optional().describe('Kibana space id; default space when absent.'),
    score_field: nonEmpty.default('prediction.score').describe("The numeric prediction the dashboard's score panels chart (a prediction.<name> field)."),
    label_field: nonEmpty.default('prediction.label').describe("The categorical prediction the dashboard's label panel splits by (a prediction.<name> field)."),
  }),
);

const SetupSchema = camel(
  z.strictObject({
    kibana: KibanaSetupSchema.optional(),
    ilm: camel(
      z.strictObject({
        rollover_max_age: nonEmpty.default('30d'),
        rollover_max_primary_shard_size: nonEmpty.default('50gb'),
        delete_after: nonEmpty.default('90d'),
      }),
    ).prefault({}),
  }),
);

export const ConfigSchema = camel(
  z.strictObject({
    inputs: z.array(InputSchema).default([]).describe('Prediction logs to tail.'),
    output: OutputSchema,
    path: PathSchema.prefault({}),
    queue: QueueSchema.prefault({}),
    http: HttpSchema.prefault({}),
    logging: LoggingSchema.prefault({}),
    rules: RulesSchema.prefault({}),
    notifiers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), NotifierSchema).default({}).describe('Named notifiers that rules reference in notify:.'),
    setup: SetupSchema.prefault({}),
  }),
);

export type Config = z.output<typeof ConfigSchema>;
export type InputConfig = z.output<typeof InputSchema>;
export type JoinConfig = z.output<typeof JoinSchema>;
export type ElasticsearchOutputConfig = z.output<typeof ElasticsearchOutputSchema>;
export type EmbeddedOutputConfig = z.output<typeof EmbeddedOutputSchema>;
export type NotifierConfig = z.output<typeof NotifierSchema>;
