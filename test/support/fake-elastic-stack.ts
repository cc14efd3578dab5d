/**
 * A stateful stand-in for Elasticsearch and Kibana on 127.0.0.1 (one server, both APIs), for
 * `driftbeat setup` tests. It answers in the real formats of test/fixtures/elastic/ and normalizes
 * what it stores the way Elasticsearch does (settings become strings, ILM adds defaults), so that
 * "unchanged" detection is tested against what a cluster really returns, not against an echo.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface StoredObject {
  type: string;
  id: string;
  [k: string]: unknown;
}

export class FakeElasticStack {
  readonly requests: RecordedRequest[] = [];
  readonly ilm = new Map<string, unknown>();
  readonly componentTemplates = new Map<string, unknown>();
  readonly indexTemplates = new Map<string, unknown>();
  readonly indices = new Set<string>();
  readonly dataStreams = new Set<string>();
  readonly savedObjects = new Map<string, StoredObject>();
  /** Watcher watches by id, as Watcher returns them (normalized) with their active state. */
  readonly watches = new Map<string, { watch: Record<string, unknown>; active: boolean; version: number }>();
  /** What GET _license answers (`license` of estypes.LicenseGetResponse). */
  license: { type: string; status: string } = { type: 'trial', status: 'active' };
  /** When set, the next imports answer with this body (HTTP 200), e.g. the reference conflict response. */
  importResponse: unknown;
  private server: Server | undefined;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
        try {
          this.handle(req, body, res);
        } catch (err) {
          send(res, 500, { error: { type: 'fake_server_exception', reason: String(err) }, status: 500 });
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Method + path of each request, e.g. `PUT /_ilm/policy/driftbeat-predictions`. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.url}`);
  }

  /** Routes one request to the handler of its resource; a method a resource does not serve falls through to 400. */
  private handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const method = req.method ?? 'GET';
    const json = () => (body ? (JSON.parse(body) as Record<string, unknown>) : {});
    let m: RegExpMatchArray | null;

    if (path.startsWith('/api/saved_objects/') || path.startsWith('/s/')) return this.kibana(req, path.replace(/^\/s\/[^/]+/, ''), body, res);

    if ((m = path.match(/^\/_ilm\/policy\/([^/]+)$/)) && this.ilmPolicy(m[1]!, method, json, res)) return;
    if ((m = path.match(/^\/_component_template\/([^/]+)$/)) && this.componentTemplate(m[1]!, method, json, res)) return;
    if ((m = path.match(/^\/_index_template\/([^/]+)$/)) && this.indexTemplate(m[1]!, method, json, res)) return;
    if ((m = path.match(/^\/_data_stream\/([^/]+)$/)) && this.dataStream(m[1]!, method, res)) return;
    if (path === '/_license' && method === 'GET') {
      return send(res, 200, { license: { status: this.license.status, uid: 'cbff45e7-c553-41f7-ae4f-9205eabd80xx', type: this.license.type, issue_date: '2024-05-01T00:00:00.000Z', issue_date_in_millis: 1714521600000, max_nodes: 1000, issued_to: 'test', issuer: 'elasticsearch', start_date_in_millis: -1 } });
    }
    if ((m = path.match(/^\/_watcher\/watch\/([^/]+)$/)) && this.watch(m[1]!, method, url, json, res)) return;
    if ((m = path.match(/^\/([^_/][^/]*)$/)) && this.index(m[1]!, method, res)) return;
    send(res, 400, notFound('illegal_argument_exception', `fake: no handler for ${method} ${path}`, 400));
  }

  /** GET/PUT `_ilm/policy/<name>`; false when the method is not one of those. */
  private ilmPolicy(name: string, method: string, json: () => Record<string, unknown>, res: ServerResponse): boolean {
    if (method === 'GET') {
      const p = this.ilm.get(name);
      if (!p) send(res, 404, notFound('resource_not_found_exception', `Lifecycle policy not found: ${name}`));
      else send(res, 200, { [name]: { version: 1, modified_date: '2024-05-01T00:00:00.000Z', policy: p, in_use_by: { indices: [], data_streams: [], composable_templates: [] } } });
      return true;
    }
    if (method === 'PUT') {
      this.ilm.set(name, normalizeIlm((json()['policy'] ?? {}) as Record<string, unknown>));
      send(res, 200, { acknowledged: true });
      return true;
    }
    return false;
  }

  /** GET/PUT `_component_template/<name>`. */
  private componentTemplate(name: string, method: string, json: () => Record<string, unknown>, res: ServerResponse): boolean {
    if (method === 'GET') {
      const t = this.componentTemplates.get(name);
      if (!t) send(res, 404, notFound('resource_not_found_exception', `component template matching [${name}] not found`));
      else send(res, 200, { component_templates: [{ name, component_template: t }] });
      return true;
    }
    if (method === 'PUT') {
      this.componentTemplates.set(name, normalizeTemplate(json()));
      send(res, 200, { acknowledged: true });
      return true;
    }
    return false;
  }

  /** GET/PUT `_index_template/<name>`. */
  private indexTemplate(name: string, method: string, json: () => Record<string, unknown>, res: ServerResponse): boolean {
    if (method === 'GET') {
      const t = this.indexTemplates.get(name);
      if (!t) send(res, 404, notFound('resource_not_found_exception', `index template matching [${name}] not found`));
      else send(res, 200, { index_templates: [{ name, index_template: t }] });
      return true;
    }
    if (method === 'PUT') {
      const t = normalizeTemplate(json());
      if (t['data_stream']) t['data_stream'] = { hidden: false, allow_custom_routing: false };
      this.indexTemplates.set(name, t);
      send(res, 200, { acknowledged: true });
      return true;
    }
    return false;
  }

  /** GET/PUT `_data_stream/<name>`. */
  private dataStream(name: string, method: string, res: ServerResponse): boolean {
    if (method === 'GET') {
      if (!this.dataStreams.has(name)) send(res, 404, notFound('index_not_found_exception', `no such index [${name}]`));
      else send(res, 200, {
        data_streams: [{ name, timestamp_field: { name: '@timestamp' }, indices: [{ index_name: `.ds-${name}-2024.05.01-000001`, index_uuid: 'x' }], generation: 1, status: 'GREEN', template: 'driftbeat-predictions' }],
      });
      return true;
    }
    if (method === 'PUT') {
      if (this.dataStreams.has(name)) send(res, 400, notFound('resource_already_exists_exception', `data_stream [${name}] already exists`, 400));
      else {
        this.dataStreams.add(name);
        send(res, 200, { acknowledged: true });
      }
      return true;
    }
    return false;
  }

  /** GET/PUT/POST `_watcher/watch/<id>` (`?active=false` stores it inactive). */
  private watch(id: string, method: string, url: URL, json: () => Record<string, unknown>, res: ServerResponse): boolean {
    if (method === 'GET') {
      const w = this.watches.get(id);
      if (!w) send(res, 404, { found: false, _id: id });
      else send(res, 200, { found: true, _id: id, _version: w.version, _seq_no: w.version - 1, _primary_term: 1, status: { state: { active: w.active, timestamp: '2024-05-01T00:00:00.000Z' }, actions: {}, execution_state: 'awaits_execution', version: w.version }, watch: w.watch });
      return true;
    }
    if (method === 'PUT' || method === 'POST') {
      const prev = this.watches.get(id);
      const active = url.searchParams.get('active') !== 'false';
      this.watches.set(id, { watch: normalizeWatch(json()), active, version: (prev?.version ?? 0) + 1 });
      send(res, prev ? 200 : 201, { _id: id, _version: (prev?.version ?? 0) + 1, _seq_no: prev?.version ?? 0, _primary_term: 1, created: !prev });
      return true;
    }
    return false;
  }

  /** HEAD/PUT `/<index>`. */
  private index(name: string, method: string, res: ServerResponse): boolean {
    if (method === 'HEAD') {
      send(res, this.indices.has(name) ? 200 : 404, undefined);
      return true;
    }
    if (method === 'PUT') {
      if (this.indices.has(name)) send(res, 400, notFound('resource_already_exists_exception', `index [${name}/abc] already exists`, 400));
      else {
        this.indices.add(name);
        send(res, 200, { acknowledged: true, shards_acknowledged: true, index: name });
      }
      return true;
    }
    return false;
  }

  private kibana(req: IncomingMessage, path: string, body: string, res: ServerResponse): void {
    if (req.method !== 'POST') return sendKibana(res, 404, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
    if (!req.headers['kbn-xsrf']) return sendKibana(res, 400, { statusCode: 400, error: 'Bad Request', message: 'Request must contain a kbn-xsrf header.' });
    if (path === '/api/saved_objects/_export') {
      const wanted = (JSON.parse(body) as { objects: { type: string; id: string }[] }).objects;
      const found = wanted.map((w) => this.savedObjects.get(`${w.type}/${w.id}`)).filter((o): o is StoredObject => o !== undefined);
      const details = { excludedObjects: [], excludedObjectsCount: 0, exportedCount: found.length, missingRefCount: 0, missingReferences: [] };
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end([...found, details].map((o) => JSON.stringify(o)).join('\n'));
      return;
    }
    if (path === '/api/saved_objects/_import') {
      if (this.importResponse !== undefined) return sendKibana(res, 200, this.importResponse);
      const file = multipartFile(req.headers['content-type'] ?? '', body);
      if (file === undefined) return sendKibana(res, 400, { statusCode: 400, error: 'Bad Request', message: '[request body.file]: expected value of type [Stream] but got [undefined]' });
      const successResults = [];
      for (const line of file.split('\n')) {
        if (!line.trim()) continue;
        const o = JSON.parse(line) as StoredObject;
        // Stored as an export shows it: with the fields Kibana adds.
        this.savedObjects.set(`${o.type}/${o.id}`, { ...o, created_at: '2024-05-01T00:00:00.000Z', updated_at: '2024-05-01T00:00:00.000Z', version: 'WzEsMV0=' });
        const title = (o['attributes'] as { title?: string } | undefined)?.title ?? o.id;
        successResults.push({ type: o.type, id: o.id, meta: { title, icon: o.type === 'dashboard' ? 'dashboardApp' : o.type === 'lens' ? 'lensApp' : 'indexPatternApp' }, managed: false });
      }
      return sendKibana(res, 200, { successCount: successResults.length, success: true, warnings: [], successResults });
    }
    sendKibana(res, 404, { statusCode: 404, error: 'Not Found', message: 'Not Found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

function sendKibana(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function notFound(type: string, reason: string, status = 404) {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

/** Elasticsearch returns settings as nested objects of strings. */
function stringifySettings(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stringifySettings(x)]));
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v;
}

function normalizeTemplate(body: Record<string, unknown>): Record<string, unknown> {
  const t = structuredClone(body);
  const inner = t['template'] as { settings?: unknown } | undefined;
  if (inner?.settings) inner.settings = stringifySettings(inner.settings);
  return t;
}

/** ILM fills in defaults such as delete_searchable_snapshot. */
function normalizeIlm(policy: Record<string, unknown>): Record<string, unknown> {
  const p = structuredClone(policy) as { phases?: Record<string, { min_age?: string; actions?: Record<string, Record<string, unknown>> }> };
  for (const phase of Object.values(p.phases ?? {})) {
    phase.min_age ??= '0ms';
    if (phase.actions?.['delete']) phase.actions['delete'] = { delete_searchable_snapshot: true, ...phase.actions['delete'] };
  }
  return p as Record<string, unknown>;
}

/** Watcher stores throttle periods in milliseconds (put_watch/30_put_watch_with_action_throttle_period.yml). */
function normalizeWatch(body: Record<string, unknown>): Record<string, unknown> {
  const w = structuredClone(body);
  const ms = (v: unknown) => {
    const x = /^(\d+)(ms|s|m|h|d)$/.exec(String(v));
    return x ? Number(x[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[x[2] as 'ms'] : v;
  };
  if (w['throttle_period'] !== undefined) {
    w['throttle_period_in_millis'] = ms(w['throttle_period']);
    delete w['throttle_period'];
  }
  for (const a of Object.values((w['actions'] ?? {}) as Record<string, Record<string, unknown>>)) {
    if (a['throttle_period'] !== undefined) {
      a['throttle_period_in_millis'] = ms(a['throttle_period']);
      delete a['throttle_period'];
    }
  }
  return w;
}

/** The content of the `file` field of a multipart/form-data body. */
export function multipartFile(contentType: string, body: string): string | undefined {
  const b = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!b) return undefined;
  const boundary = `--${b[1] ?? b[2]}`;
  for (const part of body.split(boundary)) {
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    if (!/name="file"/.test(head)) continue;
    return part.slice(sep + 4).replace(/\r\n$/, '');
  }
  return undefined;
}
