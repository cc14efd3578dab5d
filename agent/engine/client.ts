/**
 * The engine client the components use: the handful of APIs driftbeat calls, typed with the
 * official Elasticsearch specification types (`estypes`, type-only), over one EngineConnection.
 * Call shapes follow `@elastic/elasticsearch` (`bulk({operations})`, `search({index, query})`,
 * errors with `statusCode` and `body`), so a reader who knows that client knows this one.
 *
 * The engine and its dialect are detected at the first successful `GET /` and kept.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { ElasticsearchOutputConfig } from '../config/schema.ts';
import { DriftbeatError } from '../errors.ts';
import { EngineConnection, EngineResponseError, type ConnectionOptions, type EngineRequest, type EngineRequestOptions, type EngineResponse } from './connection.ts';
import { DIALECTS, detectEngine, type Dialect, type EngineInfo, type EngineKind } from './dialect.ts';

export { EngineResponseError } from './connection.ts';
export type { Dialect, EngineInfo } from './dialect.ts';

type Refresh = boolean | 'wait_for';
type Query = Record<string, string | number | boolean | undefined>;

/** Parameters of `_search` that go in the query string; everything else is the body. */
const SEARCH_QUERY_PARAMS = new Set(['index', 'ignore_unavailable', 'allow_no_indices', 'expand_wildcards', 'routing', 'preference', 'request_cache', 'typed_keys', 'filter_path', 'rest_total_hits_as_int']);

/** `GET /` did not find a supported engine (retrying cannot help). */
export class EngineUnsupportedError extends DriftbeatError {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super('ERR_ENGINE_UNSUPPORTED', message);
    this.kind = kind;
  }
}

export class EngineClient {
  readonly connection: EngineConnection;
  /** What the config says when the engine cannot be asked (`engine: auto` means Elasticsearch then). */
  readonly configured: EngineKind | 'auto';
  private detected: EngineInfo | undefined;

  constructor(config: ElasticsearchOutputConfig, options: ConnectionOptions = {}) {
    this.connection = new EngineConnection(config, options);
    this.configured = config.engine;
  }

  request<T = unknown>(req: EngineRequest, opts?: EngineRequestOptions): Promise<EngineResponse<T>> {
    return this.connection.request<T>(req, opts);
  }

  /** `GET /`, once: which engine, which version. Throws EngineUnsupportedError for anything else. */
  async info(opts: EngineRequestOptions = {}): Promise<EngineInfo> {
    if (this.detected) return this.detected;
    const res = await this.connection.request({ method: 'GET', path: '/' }, opts);
    const d = detectEngine(res.body, res.headers);
    if (!d.ok) throw new EngineUnsupportedError(d.kind, d.problem);
    this.detected = d.info;
    return d.info;
  }

  /** The engine's dialect; before the engine could be asked, the configured one (default Elasticsearch). */
  get knownDialect(): Dialect {
    if (this.detected) return DIALECTS[this.detected.engine];
    return DIALECTS[this.configured === 'auto' ? 'elasticsearch' : this.configured];
  }

  /** Asks the engine (once) and answers its dialect. */
  async dialect(opts?: EngineRequestOptions): Promise<Dialect> {
    return DIALECTS[(await this.info(opts)).engine];
  }

  async bulk(params: { operations?: readonly unknown[] | undefined; refresh?: Refresh; filter_path?: string }, opts?: EngineRequestOptions): Promise<estypes.BulkResponse> {
    let body = '';
    for (const op of params.operations ?? []) body += JSON.stringify(op) + '\n';
    const querystring: Query = { refresh: refreshParam(params.refresh), filter_path: params.filter_path };
    return (await this.request<estypes.BulkResponse>({ method: 'POST', path: '/_bulk', bulkBody: body, querystring }, opts)).body;
  }

  /** `searches` alternate header and body, as in the official client. */
  async msearch(params: { searches: unknown[] }, opts?: EngineRequestOptions): Promise<estypes.MsearchResponse> {
    let body = '';
    for (const s of params.searches) body += JSON.stringify(s) + '\n';
    return (await this.request<estypes.MsearchResponse>({ method: 'POST', path: '/_msearch', bulkBody: body }, opts)).body;
  }

  async search<T = unknown>(params: estypes.SearchRequest, opts?: EngineRequestOptions): Promise<estypes.SearchResponse<T>> {
    const querystring: Query = {};
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) {
      if (k === 'index') continue;
      if (SEARCH_QUERY_PARAMS.has(k)) querystring[k] = Array.isArray(v) ? v.join(',') : (v as string | number | boolean);
      else body[k] = v;
    }
    const index = params.index === undefined ? '' : `/${indexPath(params.index)}`;
    return (await this.request<estypes.SearchResponse<T>>({ method: 'POST', path: `${index}/_search`, querystring, body }, opts)).body;
  }

  async index(params: { index: string; id?: string; document: unknown; refresh?: Refresh; if_seq_no?: number; if_primary_term?: number; op_type?: 'index' | 'create' }, opts?: EngineRequestOptions): Promise<estypes.WriteResponseBase> {
    const path = params.id === undefined ? `/${enc(params.index)}/_doc` : `/${enc(params.index)}/_doc/${enc(params.id)}`;
    const querystring: Query = { refresh: refreshParam(params.refresh), if_seq_no: params.if_seq_no, if_primary_term: params.if_primary_term, op_type: params.op_type };
    return (await this.request<estypes.WriteResponseBase>({ method: params.id === undefined ? 'POST' : 'PUT', path, querystring, body: params.document }, opts)).body;
  }

  async create(params: { index: string; id: string; document: unknown; refresh?: Refresh }, opts?: EngineRequestOptions): Promise<estypes.WriteResponseBase> {
    const querystring: Query = { refresh: refreshParam(params.refresh) };
    return (await this.request<estypes.WriteResponseBase>({ method: 'PUT', path: `/${enc(params.index)}/_create/${enc(params.id)}`, querystring, body: params.document }, opts)).body;
  }

  /** A document by id; a 404 (document or index missing) throws EngineResponseError, as the official client does. */
  async get<T = unknown>(params: { index: string; id: string }, opts?: EngineRequestOptions): Promise<estypes.GetGetResult<T>> {
    return (await this.request<estypes.GetGetResult<T>>({ method: 'GET', path: `/${enc(params.index)}/_doc/${enc(params.id)}` }, opts)).body;
  }

  readonly indices = {
    exists: async (params: { index: string }, opts?: EngineRequestOptions): Promise<boolean> =>
      (await this.request({ method: 'HEAD', path: `/${indexPath(params.index)}` }, { ...opts, ignore: [404] })).statusCode === 200,
    create: async (params: { index: string; mappings?: estypes.MappingTypeMapping; settings?: estypes.IndicesIndexSettings }, opts?: EngineRequestOptions): Promise<void> => {
      const body: Record<string, unknown> = {};
      if (params.mappings) body['mappings'] = params.mappings;
      if (params.settings) body['settings'] = params.settings;
      await this.request({ method: 'PUT', path: `/${enc(params.index)}`, body }, opts);
    },
    existsIndexTemplate: async (params: { name: string }, opts?: EngineRequestOptions): Promise<boolean> =>
      (await this.request({ method: 'HEAD', path: `/_index_template/${enc(params.name)}` }, { ...opts, ignore: [404] })).statusCode === 200,
    refresh: async (params: { index: string }, opts?: EngineRequestOptions): Promise<void> => {
      await this.request({ method: 'POST', path: `/${indexPath(params.index)}/_refresh`, querystring: { ignore_unavailable: true } }, opts);
    },
  };

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** True when `err` is the engine answering `status`. */
export function isStatus(err: unknown, status: number): err is EngineResponseError {
  return err instanceof EngineResponseError && err.statusCode === status;
}

function refreshParam(r: Refresh | undefined): string | undefined {
  return r === undefined ? undefined : String(r);
}

/** Path segment encoding; `@`, `*` and `,` stay readable (legal in a path, meaningful to the engine). */
const enc = (s: string) => encodeURIComponent(s).replace(/%40/g, '@').replace(/%2A/g, '*');
const indexPath = (i: string | string[]) => (Array.isArray(i) ? i : [i]).map(enc).join(',');
