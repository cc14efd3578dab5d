/**
 * `driftbeat setup`: installs the Elastic stack side, idempotently, saying what each step did.
 *
 *   templates  lifecycle policy, component and index templates, indices, data streams (templates.ts)
 *   kibana     the saved objects of kibana/*.ndjson through POST /api/saved_objects/_import
 *   watches    Watcher watches generated from the rules (a provider passed in by the caller)
 *
 * On OpenSearch (detected at connect, agent/engine/dialect.ts) the lifecycle is ISM when its plugin
 * is installed (said and skipped when not), and the Kibana and Watcher steps are skipped with the
 * reason: the agent's own alerting is the path there.
 *
 * Every resource is read before it is written and written only when absent or different, so a
 * second run sends no write at all. `dryRun` prints every write request (Kibana Dev Tools console
 * format for Elasticsearch) and sends nothing, not even the reads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { packagePath } from '../paths.ts';
import { EngineClient, EngineUnsupportedError } from '../engine/client.ts';
import { EngineResponseError } from '../engine/connection.ts';
import type { Dialect } from '../engine/dialect.ts';
import { DriftbeatError } from '../errors.ts';
import { redact, registerSecret } from '../telemetry/redact.ts';
import { indexNames, templatePlanFor, type EsResource, type IndexNames, type ResourceKind } from './templates.ts';
import { buildKibanaObjects, DEFAULT_DASHBOARD_FIELDS, parseNdjson, type SavedObject } from './kibana.ts';

export type SetupStep = 'templates' | 'kibana' | 'watches';
export const SETUP_STEPS: readonly SetupStep[] = ['templates', 'kibana', 'watches'];

export type ActionResult = 'created' | 'updated' | 'unchanged' | 'skipped' | 'failed' | 'planned';

export interface SetupAction {
  step: SetupStep;
  kind: ResourceKind | 'saved_object';
  name: string;
  result: ActionResult;
  detail?: string;
}

export interface SetupReport {
  actions: SetupAction[];
  /** False when any action failed. */
  ok: boolean;
}

/** What a watches provider gets; it returns `PUT _watcher/watch/<id>` resources (kind `watch`). */
export interface WatchesContext {
  config: Config;
  names: IndexNames;
  /** Sends one read request (e.g. GET _license) through the same client; undefined in dry-run. */
  request?: EsRequest;
  /** The engine's dialect (the configured one in dry-run). */
  dialect: Dialect;
}
export type WatchesProvider = (ctx: WatchesContext) => Promise<EsResource[]> | EsResource[];

export interface SetupOptions {
  config: Config;
  /** Default: all three. A step asked for explicitly fails when it cannot run; a defaulted one is skipped. */
  steps?: readonly SetupStep[];
  dryRun?: boolean;
  /** Receives each line of output (no trailing newline). Default: stdout. */
  out?: (line: string) => void;
  /** The engine client; default: built from output.elasticsearch (and closed at the end). */
  client?: EngineClient;
  fetch?: typeof fetch;
  /** Folder of the *.ndjson saved objects; default: the repository's kibana/. */
  kibanaDir?: string;
  watches?: WatchesProvider;
}

export type EsRequest = (method: string, path: string, body?: Record<string, unknown>) => Promise<{ status: number; body: unknown }>;

export const DEFAULT_KIBANA_DIR = packagePath('kibana/');

const KIND_LABEL: Record<SetupAction['kind'], string> = {
  ilm_policy: 'ILM policy',
  ism_policy: 'ISM policy',
  component_template: 'component template',
  index_template: 'index template',
  index: 'index',
  data_stream: 'data stream',
  watch: 'watch',
  saved_object: 'saved object',
};

/** Each line prefixed with `# ` (Kibana Dev Tools comments). */
export function asComment(text: string): string {
  return text.split('\n').map((l) => `# ${l}`).join('\n');
}

export function formatAction(a: SetupAction): string {
  return `${a.step}: ${KIND_LABEL[a.kind]} ${a.name}: ${a.result}${a.detail ? ` (${a.detail})` : ''}`;
}

export async function runSetup(options: SetupOptions): Promise<SetupReport> {
  const { config } = options;
  const out = options.out ?? ((line: string) => void process.stdout.write(line + '\n'));
  const explicit = options.steps !== undefined;
  const steps = SETUP_STEPS.filter((s) => (options.steps ?? SETUP_STEPS).includes(s));
  const actions: SetupAction[] = [];
  const record = (a: SetupAction) => {
    actions.push(a);
    // A dry run's output is pasted into Kibana Dev Tools: every line that is not a request is a comment.
    if (!options.dryRun) out(redact(formatAction(a)));
    else if (a.result !== 'planned') out(asComment(redact(formatAction(a))));
  };
  const es = config.output.elasticsearch;
  const names = indexNames(es?.indexPrefix ?? 'driftbeat');

  if (options.dryRun) {
    out('# driftbeat setup --dry-run: the requests setup sends when nothing is installed yet.');
    out('# (A real run reads each resource first and skips what is already equal.) Nothing was sent.');
  }

  if (!es) {
    const kinds: Record<SetupStep, SetupAction['kind']> = { templates: 'index_template', kibana: 'saved_object', watches: 'watch' };
    for (const step of steps) {
      record({ step, kind: kinds[step], name: '*', result: explicit ? 'failed' : 'skipped', detail: 'output is embedded: there is no Elasticsearch to set up' });
    }
    return { actions, ok: actions.every((a) => a.result !== 'failed') };
  }

  const client = options.client ?? new EngineClient(es, { name: 'setup' });
  try {
    await runSteps(options, { steps, explicit, client, names, out, record });
  } finally {
    if (!options.client) await client.close();
  }
  return { actions, ok: actions.every((a) => a.result !== 'failed') };
}

interface StepsContext {
  steps: SetupStep[];
  explicit: boolean;
  client: EngineClient;
  names: IndexNames;
  out: (line: string) => void;
  record: (a: SetupAction) => void;
}

async function runSteps(options: SetupOptions, ctx: StepsContext): Promise<void> {
  const { config } = options;
  const { steps, explicit, client, names, out, record } = ctx;
  const request: EsRequest = (method, path, body) => esRequest(client, method, path, body);
  // Which engine: asked once (a dry run sends nothing, so it plans for the configured one).
  let dialect = client.knownDialect;
  if (options.dryRun) {
    out(`# engine: ${dialect.label} (output.elasticsearch.engine: ${client.configured}${client.configured === 'auto' ? '; set it to opensearch for an OpenSearch plan' : ''})`);
  } else {
    try {
      const info = await client.info();
      dialect = client.knownDialect;
      out(`setup: ${dialect.label} ${info.version} at ${config.output.elasticsearch!.hosts.join(', ')}`);
    } catch (err) {
      if (err instanceof EngineUnsupportedError) {
        for (const step of steps) record({ step, kind: step === 'watches' ? 'watch' : step === 'kibana' ? 'saved_object' : 'index_template', name: '*', result: 'failed', detail: err.message });
        return;
      }
      // Unreachable: the first request of each step says so and skips the rest.
    }
  }

  for (const step of steps) {
    if (step === 'templates') {
      await applyResources('templates', templatePlanFor(config, dialect), { request, dryRun: options.dryRun ?? false, out, record });
    } else if (step === 'kibana') {
      if (!dialect.kibana) {
        record({ step, kind: 'saved_object', name: '*', result: explicit ? 'failed' : 'skipped', detail: `the saved objects are for Kibana; ${dialect.label} Dashboards has its own formats (not generated)` });
        continue;
      }
      await setupKibana(options, names, out, record, explicit);
    } else if (step === 'watches') {
      if (!dialect.watcher) {
        record({ step, kind: 'watch', name: '*', result: explicit ? 'failed' : 'skipped', detail: `Watcher is Elasticsearch-only; on ${dialect.label} the agent's own alerting (driftbeat run with rules.path) evaluates the rules and sends the alerts` });
        continue;
      }
      if (!options.watches) {
        record({ step, kind: 'watch', name: '*', result: explicit ? 'failed' : 'skipped', detail: 'watch generation is not available in this build' });
        continue;
      }
      let resources: EsResource[];
      try {
        resources = await options.watches({ config, names, dialect, ...(options.dryRun ? {} : { request }) });
      } catch (err) {
        // No rules configured is not a failure of a default run (all steps), only of an explicit --watches.
        const noRules = (err as { code?: string }).code === 'ERR_WATCH_NO_RULES';
        record({ step, kind: 'watch', name: '*', result: noRules && !explicit ? 'skipped' : 'failed', detail: err instanceof Error ? err.message : String(err) });
        continue;
      }
      await applyResources('watches', resources, { request, dryRun: options.dryRun ?? false, out, record });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Elasticsearch

/** One request whose HTTP status is an answer, not an error (setup reads 404 as "absent"). */
async function esRequest(client: EngineClient, method: string, path: string, body?: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  try {
    const res = await client.request({ method: method as 'GET', path, ...(body !== undefined ? { body } : {}) });
    return { status: res.statusCode, body: res.body };
  } catch (err) {
    if (err instanceof EngineResponseError) return { status: err.statusCode, body: err.body };
    throw err;
  }
}

/** The engine has no such API (a plugin that is not installed): OpenSearch's "no handler found". */
function apiAbsent(status: number, body: unknown): boolean {
  return (status === 400 || status === 404 || status === 405) && /no handler found/i.test(JSON.stringify(body ?? ''));
}

/** Loose containment: every key of `desired` is in `actual` with an equal value; scalars compare as strings because Elasticsearch stores settings (and some mapping flags) as strings. */
export function containsLoose(actual: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') {
    // Elasticsearch may hand back a one-element list for a scalar it accepted (e.g. copy_to).
    if (Array.isArray(actual) && actual.length === 1) return containsLoose(actual[0], desired);
    if (actual === null || actual === undefined || typeof actual === 'object') return actual === desired;
    return String(actual) === String(desired);
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual)) return desired.length === 1 && containsLoose(actual, desired[0]);
    return actual.length === desired.length && desired.every((d, i) => containsLoose(actual[i], d));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => containsLoose(a[k], v));
}

function esErrorDetail(status: number, body: unknown): string {
  const e = (body as { error?: { type?: string; reason?: string } | string } | undefined)?.error;
  const what = typeof e === 'string' ? e : e ? [e.type, e.reason].filter(Boolean).join(': ') : '';
  return `HTTP ${status}${what ? ` ${what}` : ''}`;
}

function printRequest(out: (l: string) => void, method: string, path: string, body?: Record<string, unknown>): void {
  out(`${method} ${path}`);
  // A watch's webhook headers hold values resolved from the environment: never printed.
  if (body !== undefined) for (const line of JSON.stringify(body, null, 2).split('\n')) out(redact(line));
  out('');
}

interface ApplyContext {
  request: EsRequest;
  dryRun: boolean;
  out: (line: string) => void;
  record: (a: SetupAction) => void;
}

/**
 * Makes each resource exist as described, in order. Reachability and credential problems stop the
 * step (every further request would fail alike); a refused resource is reported and the rest go on.
 * Exported so that the watches step (and tests) reuse the same read-compare-write loop.
 */
export async function applyResources(step: SetupStep, resources: EsResource[], ctx: ApplyContext): Promise<void> {
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i]!;
    if (ctx.dryRun) {
      ctx.out(`# ${step}: ${KIND_LABEL[r.kind]} ${r.name}${r.current ? '' : ' (only when absent)'}`);
      printRequest(ctx.out, r.put.method, r.put.path, r.put.body);
      ctx.record({ step, kind: r.kind, name: r.name, result: 'planned' });
      continue;
    }
    try {
      const got = await ctx.request(r.get.method, r.get.path);
      if (got.status === 401 || got.status === 403) {
        const fix = got.status === 401
          ? 'check output.elasticsearch username/password or api_key'
          : 'the user needs the manage_ilm, manage_index_templates and manage privileges (cluster) and manage on driftbeat-* indices';
        ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: `${esErrorDetail(got.status, got.body)}: ${fix}` });
        skipRest(step, resources, i + 1, ctx, 'not attempted after the failure above');
        return;
      }
      if (r.whenAbsent && apiAbsent(got.status, got.body)) {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'skipped', detail: r.whenAbsent });
        continue;
      }
      let existed = got.status >= 200 && got.status < 300;
      if (got.status !== 404 && !existed) {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: `reading it: ${esErrorDetail(got.status, got.body)}` });
        continue;
      }
      let current: unknown;
      if (existed && r.current) {
        current = r.current(got.body);
        if (current === undefined) existed = false;
      }
      if (existed && (!r.current || containsLoose(current, r.put.body))) {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'unchanged' });
        continue;
      }
      const query = existed && r.updateQuery ? new URLSearchParams(Object.entries(r.updateQuery(got.body)).map(([k, v]): [string, string] => [k, String(v)])).toString() : '';
      const put = await ctx.request(r.put.method, query ? `${r.put.path}?${query}` : r.put.path, r.put.body);
      const alreadyThere = JSON.stringify(put.body ?? '').includes('already_exists_exception');
      if (put.status >= 200 && put.status < 300) {
        ctx.record({ step, kind: r.kind, name: r.name, result: existed ? 'updated' : 'created' });
      } else if (!r.current && alreadyThere) {
        // Created meanwhile (the agent's first document auto-creates indices and data streams).
        ctx.record({ step, kind: r.kind, name: r.name, result: 'unchanged' });
      } else {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: esErrorDetail(put.status, put.body) });
      }
    } catch (err) {
      ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: `cannot reach Elasticsearch: ${connectionDetail(err)}` });
      skipRest(step, resources, i + 1, ctx, 'not attempted: the cluster is unreachable');
      return;
    }
  }
}

function skipRest(step: SetupStep, resources: EsResource[], from: number, ctx: ApplyContext, detail: string): void {
  for (const r of resources.slice(from)) ctx.record({ step, kind: r.kind, name: r.name, result: 'skipped', detail });
}

function connectionDetail(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
    return `${err.name}${code ? ` ${code}` : ''}: ${err.message}`.slice(0, 300);
  }
  return String(err).slice(0, 300);
}

// ---------------------------------------------------------------------------------------------
// Kibana

/** Saved objects of every *.ndjson file in `dir`, with data view titles moved to the configured prefix. */
export function loadSavedObjects(dir: string, prefix = 'driftbeat'): { files: string[]; objects: SavedObject[] } {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort().map((f) => join(dir, f));
  } catch (err) {
    throw new DriftbeatError('ERR_SETUP_KIBANA_FILES', `cannot read the Kibana saved objects folder ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const objects: SavedObject[] = [];
  for (const f of files) objects.push(...parseNdjson(readFileSync(f, 'utf8'), f));
  return { files, objects: withPrefix(objects, prefix) };
}

/** Data view titles moved from `driftbeat-` to the configured index prefix. */
function withPrefix(objects: SavedObject[], prefix: string): SavedObject[] {
  if (prefix !== 'driftbeat') {
    for (const o of objects) {
      const title = o.attributes['title'];
      if (o.type === 'index-pattern' && typeof title === 'string' && title.startsWith('driftbeat-')) {
        o.attributes['title'] = prefix + title.slice('driftbeat'.length);
      }
    }
  }
  return objects;
}

interface KibanaTarget {
  base: string;
  headers: Record<string, string>;
}

function kibanaTarget(config: Config): KibanaTarget | undefined {
  const k = config.setup.kibana;
  if (!k) return undefined;
  const es = config.output.elasticsearch;
  const headers: Record<string, string> = { 'kbn-xsrf': 'true' };
  // As Beats do: without credentials of its own, Kibana gets those of the Elasticsearch output.
  const apiKey = k.apiKey ?? (k.username ? undefined : es?.apiKey);
  const username = k.username ?? (k.apiKey ? undefined : es?.username);
  const password = k.password ?? (k.apiKey ? undefined : es?.password);
  if (apiKey) {
    registerSecret(apiKey);
    headers['authorization'] = `ApiKey ${apiKey}`;
  } else if (username && password) {
    registerSecret(password);
    const basic = Buffer.from(`${username}:${password}`).toString('base64');
    registerSecret(basic);
    headers['authorization'] = `Basic ${basic}`;
  }
  const base = k.host.replace(/\/+$/, '') + (k.space && k.space !== 'default' ? `/s/${encodeURIComponent(k.space)}` : '');
  return { base, headers };
}

/** JSON-in-string attributes parsed, so that Kibana's re-serialization does not count as a change. */
function comparable(v: unknown): unknown {
  if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
    try {
      return comparable(JSON.parse(v));
    } catch {
      return v;
    }
  }
  if (Array.isArray(v)) return v.map(comparable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

function sameObject(theirs: SavedObject, ours: SavedObject): boolean {
  const refs = (o: SavedObject) => (o.references ?? []).map((r) => `${r.type}|${r.id}|${r.name}`).sort().join('\n');
  return refs(theirs) === refs(ours) && containsLoose(comparable(theirs.attributes), comparable(ours.attributes));
}

const objKey = (o: { type: string; id: string }) => `${o.type}/${o.id}`;

async function setupKibana(
  options: SetupOptions,
  names: IndexNames,
  out: (line: string) => void,
  record: (a: SetupAction) => void,
  explicit: boolean,
): Promise<void> {
  const step: SetupStep = 'kibana';
  let loaded: { files: string[]; objects: SavedObject[] };
  const k = options.config.setup.kibana;
  const fields = { score: k?.scoreField ?? DEFAULT_DASHBOARD_FIELDS.score, label: k?.labelField ?? DEFAULT_DASHBOARD_FIELDS.label };
  const ownFields = fields.score !== DEFAULT_DASHBOARD_FIELDS.score || fields.label !== DEFAULT_DASHBOARD_FIELDS.label;
  try {
    // kibana/driftbeat.ndjson charts prediction.score and prediction.label; other prediction
    // fields get the same objects generated for them (the ndjson is that generator's output).
    loaded = ownFields && !options.kibanaDir
      ? { files: ['driftbeat.ndjson'], objects: withPrefix(buildKibanaObjects(fields), names.prefix) }
      : loadSavedObjects(options.kibanaDir ?? DEFAULT_KIBANA_DIR, names.prefix);
  } catch (err) {
    record({ step, kind: 'saved_object', name: '*', result: 'failed', detail: err instanceof Error ? err.message : String(err) });
    return;
  }
  const { objects, files } = loaded;
  const target = kibanaTarget(options.config);
  if (!target) {
    const detail = 'setup.kibana.host is not set in the config (e.g. setup: {kibana: {host: "http://127.0.0.1:5601"}})';
    record({ step, kind: 'saved_object', name: '*', result: explicit ? 'failed' : 'skipped', detail });
    return;
  }
  const ndjson = objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
  const importPath = '/api/saved_objects/_import?overwrite=true';

  if (options.dryRun) {
    out(`# kibana: import ${objects.length} saved objects from ${files.map((f) => basename(f)).join(', ')}`);
    for (const o of objects) out(`#   ${o.type} ${o.id}: ${String(o.attributes['title'] ?? '')}`);
    out(`POST ${target.base}${importPath}`);
    out('kbn-xsrf: true');
    out(`Content-Type: multipart/form-data; field "file" = ${basename(files[0] ?? 'driftbeat.ndjson')} (${objects.length} objects, ${Buffer.byteLength(ndjson)} bytes)`);
    out('');
    for (const o of objects) record({ step, kind: 'saved_object', name: objKey(o), result: 'planned' });
    return;
  }

  const doFetch = options.fetch ?? fetch;
  const fail = (detail: string) => {
    for (const o of objects) record({ step, kind: 'saved_object', name: objKey(o), result: 'failed', detail });
  };

  // What is there already: objects equal to ours need no import.
  const existing = new Map<string, SavedObject>();
  try {
    const res = await doFetch(`${target.base}/api/saved_objects/_export`, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ objects: objects.map((o) => ({ type: o.type, id: o.id })), includeReferencesDeep: false }),
    });
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      fail(`Kibana at ${options.config.setup.kibana!.host} answered ${res.status}: check setup.kibana username/password or api_key (the user needs the kibana_admin role or All on Saved Objects Management)`);
      return;
    }
    // A missing object makes the export fail as a whole (4xx): then every object is imported.
    if (res.ok) for (const o of parseNdjson(text, 'export response')) existing.set(objKey(o), o);
  } catch (err) {
    fail(`cannot reach Kibana at ${options.config.setup.kibana!.host}: ${connectionDetail(err)}`);
    return;
  }

  const changed = objects.filter((o) => {
    const theirs = existing.get(objKey(o));
    return !theirs || !sameObject(theirs, o);
  });
  if (changed.length === 0) {
    for (const o of objects) record({ step, kind: 'saved_object', name: objKey(o), result: 'unchanged' });
    return;
  }

  // The whole set goes in one request so that references between objects resolve.
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), basename(files[0] ?? 'driftbeat.ndjson'));
  let body: ImportResponse;
  try {
    const res = await doFetch(`${target.base}${importPath}`, { method: 'POST', headers: target.headers, body: form });
    const text = await res.text();
    if (!res.ok) {
      let msg = text.slice(0, 300);
      try {
        const j = JSON.parse(text) as { message?: string; error?: string };
        msg = j.message ?? j.error ?? msg;
      } catch { /* not JSON: keep the text */ }
      fail(`Kibana answered ${res.status} to the import: ${msg}`);
      return;
    }
    body = JSON.parse(text) as ImportResponse;
  } catch (err) {
    fail(`cannot reach Kibana at ${options.config.setup.kibana!.host}: ${connectionDetail(err)}`);
    return;
  }

  for (const a of importActions(objects, existing, changed, body)) record(a);
}

export interface ImportError {
  id: string;
  type: string;
  title?: string;
  error: { type: string; destinationId?: string; destinations?: { id: string }[]; references?: { type: string; id: string }[]; message?: string };
}

export interface ImportResponse {
  success: boolean;
  successCount: number;
  successResults?: { id: string; type: string; destinationId?: string }[];
  errors?: ImportError[];
  warnings?: unknown[];
}

function describeImportError(e: ImportError): string {
  switch (e.error.type) {
    case 'conflict':
      return `conflict${e.error.destinationId ? ` with ${e.error.destinationId}` : ''}: an object with this id exists and was not overwritten; delete it in Kibana (Stack Management > Saved objects) and run setup again`;
    case 'ambiguous_conflict':
      return `ambiguous conflict with ${(e.error.destinations ?? []).map((d) => d.id).join(', ')}: delete those objects in Kibana and run setup again`;
    case 'missing_references':
      return `missing references ${(e.error.references ?? []).map((r) => `${r.type} ${r.id}`).join(', ')}`;
    default:
      return `${e.error.type}${e.error.message ? `: ${e.error.message}` : ''}`;
  }
}

/**
 * One action per object from an import response. Kibana answers HTTP 200 with `success: false`
 * when some objects failed; per its docs nothing is created until every resolvable error is
 * resolved, so with any error the objects reported as successful are "skipped", not "created".
 */
export function importActions(objects: SavedObject[], existing: Map<string, SavedObject>, changed: SavedObject[], res: ImportResponse): SetupAction[] {
  const step: SetupStep = 'kibana';
  const errorsByKey = new Map((res.errors ?? []).map((e) => [objKey(e), e]));
  const okKeys = new Set((res.successResults ?? []).map(objKey));
  const changedKeys = new Set(changed.map(objKey));
  const actions: SetupAction[] = [];
  for (const o of objects) {
    const key = objKey(o);
    const err = errorsByKey.get(key);
    if (err) {
      actions.push({ step, kind: 'saved_object', name: key, result: 'failed', detail: describeImportError(err) });
      errorsByKey.delete(key);
    } else if (!res.success) {
      actions.push({ step, kind: 'saved_object', name: key, result: 'skipped', detail: 'not imported because of the errors above' });
    } else if (okKeys.has(key)) {
      actions.push({ step, kind: 'saved_object', name: key, result: !changedKeys.has(key) ? 'unchanged' : existing.has(key) ? 'updated' : 'created' });
    } else {
      actions.push({ step, kind: 'saved_object', name: key, result: 'failed', detail: 'Kibana did not report it in the import response' });
    }
  }
  // Errors about objects we did not send (Kibana may name them by another id) still count.
  for (const e of errorsByKey.values()) {
    actions.push({ step, kind: 'saved_object', name: objKey(e), result: 'failed', detail: describeImportError(e) });
  }
  return actions;
}

// ---------------------------------------------------------------------------------------------
// for the CLI

/** `--templates --kibana --watches`: none given means all three (defaulted, so unconfigured ones are skipped). */
export function stepsFromFlags(flags: { templates?: boolean; kibana?: boolean; watches?: boolean }): SetupStep[] | undefined {
  const steps = SETUP_STEPS.filter((s) => flags[s]);
  return steps.length > 0 ? steps : undefined;
}

/** The closing line, e.g. `setup: 3 created, 1 updated, 30 unchanged, 1 skipped, 0 failed`. */
export function summarizeSetup(report: SetupReport, dryRun = false): string {
  if (dryRun) return `# setup --dry-run: ${report.actions.filter((a) => a.result === 'planned').length} resources planned, nothing sent`;
  const n = (r: ActionResult) => report.actions.filter((a) => a.result === r).length;
  return `setup: ${n('created')} created, ${n('updated')} updated, ${n('unchanged')} unchanged, ${n('skipped')} skipped, ${n('failed')} failed`;
}
