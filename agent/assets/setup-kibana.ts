/**
 * Setup's Kibana step: the saved objects of kibana/*.ndjson (or generated for the configured
 * dashboard fields), compared with Kibana's export and imported in one
 * POST /api/saved_objects/_import?overwrite=true when any differs; each object's result from the
 * import response.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { DriftbeatError } from '../errors.ts';
import { packagePath } from '../paths.ts';
import { registerSecret } from '../telemetry/redact.ts';
import { buildKibanaObjects, DEFAULT_DASHBOARD_FIELDS, parseNdjson, type SavedObject } from './kibana.ts';
import { connectionDetail, containsLoose } from './setup-apply.ts';
import type { SetupAction, SetupOptions, SetupStep } from './setup.ts';
import type { IndexNames } from './templates.ts';

/** The package's kibana/ folder (agent/paths.ts: the same from the sources and from dist/). */
export const DEFAULT_KIBANA_DIR = packagePath('kibana/');


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

type Loaded = { files: string[]; objects: SavedObject[] };
type Record_ = (a: SetupAction) => void;

/** kibana/driftbeat.ndjson charts prediction.score and prediction.label; other prediction fields get the same objects generated for them (the ndjson is that generator's output). */
function kibanaObjects(options: SetupOptions, names: IndexNames): Loaded {
  const k = options.config.setup.kibana;
  const fields = { score: k?.scoreField ?? DEFAULT_DASHBOARD_FIELDS.score, label: k?.labelField ?? DEFAULT_DASHBOARD_FIELDS.label };
  const ownFields = fields.score !== DEFAULT_DASHBOARD_FIELDS.score || fields.label !== DEFAULT_DASHBOARD_FIELDS.label;
  return ownFields && !options.kibanaDir
    ? { files: ['driftbeat.ndjson'], objects: withPrefix(buildKibanaObjects(fields), names.prefix) }
    : loadSavedObjects(options.kibanaDir ?? DEFAULT_KIBANA_DIR, names.prefix);
}

const IMPORT_PATH = '/api/saved_objects/_import?overwrite=true';

function printImport(out: (line: string) => void, record: Record_, target: KibanaTarget, { files, objects }: Loaded, ndjson: string): void {
  out(`# kibana: import ${objects.length} saved objects from ${files.map((f) => basename(f)).join(', ')}`);
  for (const o of objects) out(`#   ${o.type} ${o.id}: ${String(o.attributes['title'] ?? '')}`);
  out(`POST ${target.base}${IMPORT_PATH}`);
  out('kbn-xsrf: true');
  out(`Content-Type: multipart/form-data; field "file" = ${basename(files[0] ?? 'driftbeat.ndjson')} (${objects.length} objects, ${Buffer.byteLength(ndjson)} bytes)`);
  out('');
  for (const o of objects) record({ step: 'kibana', kind: 'saved_object', name: objKey(o), result: 'planned' });
}

/** What is there already (objects equal to ours need no import), or why Kibana could not be asked. */
async function exportExisting(doFetch: typeof fetch, target: KibanaTarget, objects: SavedObject[], host: string): Promise<Map<string, SavedObject> | { error: string }> {
  const existing = new Map<string, SavedObject>();
  try {
    const res = await doFetch(`${target.base}/api/saved_objects/_export`, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ objects: objects.map((o) => ({ type: o.type, id: o.id })), includeReferencesDeep: false }),
    });
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      return { error: `Kibana at ${host} answered ${res.status}: check setup.kibana username/password or api_key (the user needs the kibana_admin role or All on Saved Objects Management)` };
    }
    // A missing object makes the export fail as a whole (4xx): then every object is imported.
    if (res.ok) for (const o of parseNdjson(text, 'export response')) existing.set(objKey(o), o);
    return existing;
  } catch (err) {
    return { error: `cannot reach Kibana at ${host}: ${connectionDetail(err)}` };
  }
}

/** The whole set in one request, so that references between objects resolve. */
async function importAll(doFetch: typeof fetch, target: KibanaTarget, files: string[], ndjson: string, host: string): Promise<{ response: ImportResponse } | { error: string }> {
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), basename(files[0] ?? 'driftbeat.ndjson'));
  try {
    const res = await doFetch(`${target.base}${IMPORT_PATH}`, { method: 'POST', headers: target.headers, body: form });
    const text = await res.text();
    if (!res.ok) {
      let msg = text.slice(0, 300);
      try {
        const j = JSON.parse(text) as { message?: string; error?: string };
        msg = j.message ?? j.error ?? msg;
      } catch { /* not JSON: keep the text */ }
      return { error: `Kibana answered ${res.status} to the import: ${msg}` };
    }
    return { response: JSON.parse(text) as ImportResponse };
  } catch (err) {
    return { error: `cannot reach Kibana at ${host}: ${connectionDetail(err)}` };
  }
}

export async function setupKibana(
  options: SetupOptions,
  names: IndexNames,
  out: (line: string) => void,
  record: Record_,
  explicit: boolean,
): Promise<void> {
  const step: SetupStep = 'kibana';
  let loaded: Loaded;
  try {
    loaded = kibanaObjects(options, names);
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
  if (options.dryRun) {
    printImport(out, record, target, loaded, ndjson);
    return;
  }
  const doFetch = options.fetch ?? fetch;
  const host = options.config.setup.kibana!.host;
  const fail = (detail: string) => {
    for (const o of objects) record({ step, kind: 'saved_object', name: objKey(o), result: 'failed', detail });
  };
  const existing = await exportExisting(doFetch, target, objects, host);
  if (!(existing instanceof Map)) return fail(existing.error);
  const changed = objects.filter((o) => {
    const theirs = existing.get(objKey(o));
    return !theirs || !sameObject(theirs, o);
  });
  if (changed.length === 0) {
    for (const o of objects) record({ step, kind: 'saved_object', name: objKey(o), result: 'unchanged' });
    return;
  }
  const imported = await importAll(doFetch, target, files, ndjson, host);
  if ('error' in imported) return fail(imported.error);
  for (const a of importActions(objects, existing, changed, imported.response)) record(a);
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

