/**
 * A fake Elasticsearch for tests: a real HTTP server on 127.0.0.1 (port 0) that speaks enough of
 * the REST API, in the formats of test/fixtures/elastic/es/. What is left of it serves the rules and
 * watches tests that have not moved to the real engine yet; the ship path (bulk, faults, 429 items,
 * 401, the Elasticsearch 8 banner) runs on the real engine behind test/support/fault-proxy.ts.
 *
 *   const es = await startEsServer({ onSearch });
 *   ... es.docs('driftbeat-predictions-fraud'), es.allIds(), es.requests ...
 *   await es.close();
 *
 * What it implements:
 * - `GET /` cluster info, with `x-elastic-product: Elasticsearch` (the 8.x client checks it);
 * - `POST /_bulk` and `/<index>/_bulk`: create/index/update/delete; `create` of an existing `_id`
 *   answers item 409 version_conflict_engine_exception; `errors: true` when any item failed;
 *   dynamic mapping: the first JSON type of a field wins and a later conflicting value answers item
 *   400 document_parsing_exception, as a real cluster does; data streams (from a stored index
 *   template with `data_stream`, or `options.dataStreams`) accept only `create` with `@timestamp`;
 * - documents: `PUT|POST /<index>/_doc/<id>`, `POST /<index>/_doc`, `PUT|POST /<index>/_create/<id>`,
 *   `GET|DELETE /<index>/_doc/<id>`, `POST /<index>/_update/<id>`, all honouring
 *   `if_seq_no`/`if_primary_term` (409 on mismatch) and `op_type=create`;
 * - `_search` / `_msearch` / `_count` with a small query evaluator (match_all, term, terms, ids,
 *   exists, range, bool) plus `size`, `from`, `sort`, `seq_no_primary_term`; aggregations go to a
 *   pluggable hook (`onSearch`), otherwise a 400 says so;
 * - index templates, component templates, ILM policies, data streams and indices: stored and
 *   answered `{"acknowledged":true}`; anything else can be added with `route()`;
 * - `filter_path` on every JSON response.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { wildcard, type NameMatcher } from '../../agent/lib/glob.ts';

// ---------------------------------------------------------------------------------------------
// public types

export interface EsServerOptions {
  /** Version number in `GET /` (default 8.15.0). */
  version?: string;
  clusterName?: string;
  /** Keep request bodies in `requests` (default true; turn off for very large runs). */
  recordBodies?: boolean;
  /** First type of a field wins, later conflicts answer 400 (default true). */
  dynamicMapping?: boolean;
  /** Index name patterns (with `*`) that are data streams, besides those of stored index templates. */
  dataStreams?: string[];
  /** Answers searches (aggregations...). See SearchHook. */
  onSearch?: SearchHook;
}

export interface StoredDoc {
  _index: string;
  _id: string;
  _version: number;
  _seq_no: number;
  _primary_term: number;
  _source: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Raw body (empty when recordBodies is off). */
  body: string;
  /** Status sent back (0 while in flight or when the socket was destroyed). */
  status: number;
}

export interface SearchRequest {
  /** The target as written in the path or msearch header (may hold wildcards and commas). */
  target: string;
  /** Existing indices the target resolved to. */
  indices: string[];
  body: Record<string, unknown>;
  query: Record<string, string>;
  /** Documents matching the query (before size/from). */
  hits: StoredDoc[];
  /** Every document of the resolved indices. */
  all: StoredDoc[];
}

/**
 * Returns undefined to use the default answer, an object with `hits` to replace the whole
 * response, or any other object to merge into the default response (e.g. `{ aggregations }`).
 */
export type SearchHook = (req: SearchRequest) => Record<string, unknown> | undefined;

export interface EsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  json(): unknown;
}

export interface EsReply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (req: EsRequest, params: string[]) => EsReply | undefined | Promise<EsReply | undefined>;

export interface EsServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Documents of an index (or pattern), in write order. */
  docs(index: string): StoredDoc[];
  doc(index: string, id: string): StoredDoc | undefined;
  /** Ids of every document in every index (or those matching `pattern`). */
  allIds(pattern?: string): string[];
  count(pattern?: string): number;
  indices(): string[];
  /** Stored templates, policies...: key such as `/_index_template/name`. */
  resources: Map<string, unknown>;
  onSearch(hook: SearchHook | undefined): void;
  /** Answers `method path` (path a RegExp whose groups become `params`) before the built-ins; undefined falls through. */
  route(method: string, path: RegExp, handler: RouteHandler): void;
  /** Forgets documents, resources and requests. */
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// helpers

type Json = Record<string, unknown>;
type FieldKind = 'long' | 'float' | 'boolean' | 'text' | 'object';

interface IndexState {
  name: string;
  docs: Map<string, StoredDoc>;
  seq: number;
  fields: Map<string, FieldKind>;
  dataStream: boolean;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(`HTTP ${status}`);
  }
}

export function esError(status: number, type: string, reason: string | null, extra: Json = {}): Json {
  return { error: { root_cause: [{ type, reason, ...extra }], type, reason, ...extra }, status };
}


/** Index patterns and targets: Elasticsearch's simple match (`*` only). */
const indexPattern = (p: string): NameMatcher => wildcard(p, { question: false });

/** Reads `a.b.c` from nested objects and from flat dotted keys alike (as Elasticsearch does). */
export function getField(obj: unknown, path: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  const o = obj as Json;
  if (path in o) return o[path];
  for (let i = path.indexOf('.'); i !== -1; i = path.indexOf('.', i + 1)) {
    const head = path.slice(0, i);
    if (head in o) {
      const v = getField(o[head], path.slice(i + 1));
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

function values(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.flat(Infinity) : [v];
}

function eq(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a) === String(b);
  return false;
}

function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const na = Number(a);
  const nb = Number(b);
  if (typeof a !== 'string' || typeof b !== 'string') {
    if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  }
  // ISO dates and keywords compare as strings; a date against epoch ms compares as time.
  const da = typeof a === 'string' && typeof b === 'number' ? Date.parse(a) : undefined;
  if (da !== undefined && !Number.isNaN(da)) return da - (b as number);
  const db = typeof b === 'string' && typeof a === 'number' ? Date.parse(b) : undefined;
  if (db !== undefined && !Number.isNaN(db)) return (a as number) - db;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** The query evaluator: enough for leases, state lookups and tests; anything else is a 400. */
export function matches(doc: StoredDoc, query: unknown): boolean {
  if (query === undefined || query === null) return true;
  const q = query as Json;
  const [kind] = Object.keys(q);
  const arg = q[kind!] as Json;
  switch (kind) {
    case 'match_all':
      return true;
    case 'match_none':
      return false;
    case 'ids':
      return ((arg.values as string[]) ?? []).includes(doc._id);
    case 'term':
    case 'match':
    case 'match_phrase': {
      const [field] = Object.keys(arg);
      const spec = arg[field!];
      const want = spec !== null && typeof spec === 'object' ? ((spec as Json).value ?? (spec as Json).query) : spec;
      if (field === '_id') return eq(doc._id, want);
      return values(getField(doc._source, field!)).some((v) => eq(v, want));
    }
    case 'terms': {
      const [field] = Object.keys(arg).filter((k) => k !== 'boost');
      const want = arg[field!] as unknown[];
      if (field === '_id') return want.some((w) => eq(doc._id, w));
      return values(getField(doc._source, field!)).some((v) => want.some((w) => eq(v, w)));
    }
    case 'exists':
      return values(getField(doc._source, arg.field as string)).length > 0;
    case 'range': {
      const [field] = Object.keys(arg);
      const r = arg[field!] as Json;
      return values(getField(doc._source, field!)).some((v) =>
        (r.gte === undefined || cmp(v, r.gte) >= 0) && (r.gt === undefined || cmp(v, r.gt) > 0) &&
        (r.lte === undefined || cmp(v, r.lte) <= 0) && (r.lt === undefined || cmp(v, r.lt) < 0));
    }
    case 'bool': {
      const list = (x: unknown): unknown[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
      const must = [...list(arg.must), ...list(arg.filter)];
      const should = list(arg.should);
      if (!must.every((m) => matches(doc, m))) return false;
      if (list(arg.must_not).some((m) => matches(doc, m))) return false;
      const min = arg.minimum_should_match !== undefined ? Number(arg.minimum_should_match) : must.length > 0 ? 0 : 1;
      return should.length === 0 || should.filter((s) => matches(doc, s)).length >= Math.min(min, should.length);
    }
    case 'constant_score':
      return matches(doc, arg.filter);
    default:
      throw new HttpError(400, esError(400, 'parsing_exception', `es-server: query [${kind}] is not implemented; answer it with onSearch()`));
  }
}

/** Applies `filter_path` (comma list; `*` matches one key; arrays are transparent). */
export function filterPath(value: unknown, spec: string): unknown {
  const patterns = spec.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split('.'));
  return filterValue(value, patterns) ?? {};
}

function filterValue(value: unknown, patterns: string[][]): unknown {
  if (patterns.some((p) => p.length === 0 || (p.length === 1 && p[0] === '**'))) return value;
  if (Array.isArray(value)) {
    const out = value.map((v) => filterValue(v, patterns)).filter((v) => v !== undefined);
    return out.length > 0 ? out : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const out: Json = {};
    let any = false;
    for (const [k, v] of Object.entries(value as Json)) {
      const next: string[][] = [];
      for (const p of patterns) {
        if (p[0] === '*' || p[0] === k) next.push(p.slice(1));
        if (p[0] === '**') next.push(p, p.slice(1));
      }
      if (next.length === 0) continue;
      const f = filterValue(v, next);
      if (f !== undefined) {
        out[k] = f;
        any = true;
      }
    }
    return any ? out : undefined;
  }
  return undefined;
}

const SHARDS = { total: 2, successful: 1, failed: 0 };

// ---------------------------------------------------------------------------------------------
// the server

export async function startEsServer(options: EsServerOptions = {}): Promise<EsServer> {
  const version = options.version ?? '8.15.0';
  const clusterName = options.clusterName ?? 'driftbeat-test';
  const clusterUuid = randomUUID().replace(/-/g, '').slice(0, 22);
  const recordBodies = options.recordBodies ?? true;
  const dynamicMapping = options.dynamicMapping ?? true;
  const primaryTerm = 1;

  const indices = new Map<string, IndexState>();
  const resources = new Map<string, unknown>();
  const requests: RecordedRequest[] = [];
  const routes: Array<{ method: string; path: RegExp; handler: RouteHandler }> = [];
  let searchHook = options.onSearch;

  // ---- storage

  function dataStreamPatterns(): NameMatcher[] {
    const out = (options.dataStreams ?? []).map(indexPattern);
    for (const [key, v] of resources) {
      if (!key.startsWith('/_index_template/')) continue;
      const t = v as { index_patterns?: string | string[]; data_stream?: unknown };
      if (t.data_stream === undefined) continue;
      for (const p of values(t.index_patterns)) out.push(indexPattern(String(p)));
    }
    return out;
  }

  function getIndex(name: string, create: boolean): IndexState | undefined {
    let ix = indices.get(name);
    if (!ix && create) {
      ix = { name, docs: new Map(), seq: 0, fields: new Map(), dataStream: dataStreamPatterns().some((r) => r.test(name)) };
      indices.set(name, ix);
    }
    return ix;
  }

  /** Resolves a target (commas, wildcards, `_all`, `-exclusions`) to existing indices. */
  function resolve(target: string | undefined, strict: boolean): IndexState[] {
    if (!target || target === '_all' || target === '*') return [...indices.values()];
    const out = new Set<IndexState>();
    for (const part of target.split(',')) {
      if (part.startsWith('-')) {
        const re = indexPattern(part.slice(1));
        for (const ix of out) if (re.test(ix.name)) out.delete(ix);
      } else if (part.includes('*')) {
        const re = indexPattern(part);
        for (const ix of indices.values()) if (re.test(ix.name)) out.add(ix);
      } else {
        const ix = indices.get(part);
        if (ix) out.add(ix);
        else if (strict) throw new HttpError(404, esError(404, 'index_not_found_exception', `no such index [${part}]`, { 'resource.type': 'index_or_alias', 'resource.id': part, index_uuid: '_na_', index: part }));
      }
    }
    return [...out];
  }

  /** Dynamic mapping: first JSON type of a field wins; returns an error reason on conflict. */
  function checkMapping(ix: IndexState, id: string, source: unknown): string | undefined {
    if (!dynamicMapping) return undefined;
    const pending: Array<[string, FieldKind]> = [];
    const err = walk(source, '', (path, kind, value) => {
      const known = ix.fields.get(path) ?? pending.find((p) => p[0] === path)?.[1];
      if (known === undefined) {
        pending.push([path, kind]);
        return undefined;
      }
      if (known === kind) return undefined;
      if (known === 'object') return `object mapping for [${path}] tried to parse field [${path.slice(path.lastIndexOf('.') + 1)}] as object, but found a concrete value`;
      const preview = kind === 'object' ? '{...}' : String(value);
      const bad = `[1:1] failed to parse field [${path}] of type [${known}] in document with id '${id}'. Preview of field's value: '${preview}'`;
      if (kind === 'object') return bad;
      if (known === 'text') return undefined; // numbers and booleans are coerced to strings
      if (known === 'long' || known === 'float') {
        return (kind === 'long' || kind === 'float' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))) ? undefined : bad;
      }
      if (known === 'boolean') return value === 'true' || value === 'false' ? undefined : bad;
      return undefined;
    });
    if (err) return err;
    for (const [p, k] of pending) ix.fields.set(p, k);
    return undefined;
  }

  function walk(v: unknown, path: string, visit: (path: string, kind: FieldKind, value: unknown) => string | undefined): string | undefined {
    if (v === null || v === undefined) return undefined;
    if (Array.isArray(v)) {
      for (const e of v) {
        const r = walk(e, path, visit);
        if (r) return r;
      }
      return undefined;
    }
    if (typeof v === 'object') {
      if (path) {
        const r = visit(path, 'object', v);
        if (r) return r;
      }
      for (const [k, e] of Object.entries(v as Json)) {
        // A dotted key is an object path: {"a.b": 1} maps like {"a": {"b": 1}}.
        const parts = k.split('.');
        let p = path;
        for (let i = 0; i < parts.length - 1; i++) {
          p = p ? `${p}.${parts[i]}` : parts[i]!;
          const r = visit(p, 'object', {});
          if (r) return r;
        }
        const full = p ? `${p}.${parts[parts.length - 1]}` : parts[parts.length - 1]!;
        const r = walk(e, full, visit);
        if (r) return r;
      }
      return undefined;
    }
    const kind: FieldKind = typeof v === 'number' ? (Number.isInteger(v) ? 'long' : 'float') : typeof v === 'boolean' ? 'boolean' : 'text';
    // A float after a long (and the reverse) is fine: both are numbers.
    return visit(path, kind, v);
  }

  interface WriteOpts {
    op: 'create' | 'index';
    ifSeqNo?: number;
    ifPrimaryTerm?: number;
  }

  /** One write; returns the item/response body (status inside) as a real cluster does. */
  function write(index: string, id: string | undefined, source: unknown, o: WriteOpts): Json {
    const docId = id ?? randomUUID().replace(/-/g, '').slice(0, 20);
    if (id === '') return { _index: index, _id: id, status: 400, error: { type: 'illegal_argument_exception', reason: 'if _id is specified it must not be empty' } };
    const ix = getIndex(index, true)!;
    const existing = ix.docs.get(docId);
    const errItem = (status: number, type: string, reason: string): Json => ({
      _index: index, _id: docId, status, error: { type, reason, index_uuid: 'aAsFqTI0Tc2W0LCWgPNrOA', shard: '0', index },
    });
    if (ix.dataStream && o.op !== 'create') {
      return errItem(400, 'illegal_argument_exception', `only write ops with an op_type of create are allowed in data streams`);
    }
    if (source === null || typeof source !== 'object' || Array.isArray(source)) {
      return errItem(400, 'document_parsing_exception', '[1:1] failed to parse: source is not an object');
    }
    if (ix.dataStream && getField(source, '@timestamp') === undefined) {
      return errItem(400, 'document_parsing_exception', '[1:1] failed to parse: data stream timestamp field [@timestamp] is missing');
    }
    if (o.ifSeqNo !== undefined || o.ifPrimaryTerm !== undefined) {
      if (!existing) {
        return errItem(409, 'version_conflict_engine_exception', `[${docId}]: version conflict, required seqNo [${o.ifSeqNo}], primary term [${o.ifPrimaryTerm}] but no document was found`);
      }
      if (existing._seq_no !== o.ifSeqNo || existing._primary_term !== o.ifPrimaryTerm) {
        return errItem(409, 'version_conflict_engine_exception', `[${docId}]: version conflict, required seqNo [${o.ifSeqNo}], primary term [${o.ifPrimaryTerm}]. current document has seqNo [${existing._seq_no}] and primary term [${existing._primary_term}]`);
      }
    }
    if (existing && o.op === 'create') {
      return errItem(409, 'version_conflict_engine_exception', `[${docId}]: version conflict, document already exists (current version [${existing._version}])`);
    }
    const mappingError = checkMapping(ix, docId, source);
    if (mappingError) {
      const type = mappingError.startsWith('object mapping') ? 'document_parsing_exception' : 'document_parsing_exception';
      return errItem(400, type, mappingError);
    }
    const doc: StoredDoc = {
      _index: index,
      _id: docId,
      _version: existing ? existing._version + 1 : 1,
      _seq_no: ix.seq++,
      _primary_term: primaryTerm,
      _source: source as Json,
    };
    if (existing) ix.docs.delete(docId); // keep write order
    ix.docs.set(docId, doc);
    return {
      _index: index, _id: docId, _version: doc._version, result: existing ? 'updated' : 'created', _shards: SHARDS,
      _seq_no: doc._seq_no, _primary_term: doc._primary_term, status: existing ? 200 : 201,
    };
  }

  function remove(index: string, id: string, ifSeqNo?: number, ifPrimaryTerm?: number): Json {
    const ix = getIndex(index, false);
    const existing = ix?.docs.get(id);
    if (ifSeqNo !== undefined && (!existing || existing._seq_no !== ifSeqNo || existing._primary_term !== ifPrimaryTerm)) {
      return { _index: index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, required seqNo [${ifSeqNo}], primary term [${ifPrimaryTerm}]`, index } };
    }
    if (!ix || !existing) return { _index: index, _id: id, _version: 1, result: 'not_found', _shards: SHARDS, _seq_no: ix?.seq ?? 0, _primary_term: primaryTerm, status: 404 };
    ix.docs.delete(id);
    return { _index: index, _id: id, _version: existing._version + 1, result: 'deleted', _shards: SHARDS, _seq_no: ix.seq++, _primary_term: primaryTerm, status: 200 };
  }

  function update(index: string, id: string, body: Json, o: { ifSeqNo?: number; ifPrimaryTerm?: number }): Json {
    const ix = getIndex(index, false);
    const existing = ix?.docs.get(id);
    let source: Json;
    if (existing) {
      source = body.doc ? deepMerge(structuredClone(existing._source), body.doc as Json) : existing._source;
    } else if (body.doc_as_upsert && body.doc) {
      source = body.doc as Json;
    } else if (body.upsert) {
      source = body.upsert as Json;
    } else {
      return { _index: index, _id: id, status: 404, error: { type: 'document_missing_exception', reason: `[${id}]: document missing`, index_uuid: 'aAsFqTI0Tc2W0LCWgPNrOA', shard: '0', index } };
    }
    const w: WriteOpts = { op: 'index' };
    if (o.ifSeqNo !== undefined) w.ifSeqNo = o.ifSeqNo;
    if (o.ifPrimaryTerm !== undefined) w.ifPrimaryTerm = o.ifPrimaryTerm;
    const r = write(index, id, source, w);
    if (r.result === 'updated' || r.result === 'created') delete r._shards;
    return r;
  }

  function deepMerge(target: Json, patch: Json): Json {
    for (const [k, v] of Object.entries(patch)) {
      const t = target[k];
      if (v && typeof v === 'object' && !Array.isArray(v) && t && typeof t === 'object' && !Array.isArray(t)) deepMerge(t as Json, v as Json);
      else target[k] = v;
    }
    return target;
  }

  // ---- bulk

  function bulk(body: string, defaultIndex: string | undefined): Json {
    const started = Date.now();
    const lines = body.split('\n');
    const items: Json[] = [];
    let errors = false;
    let i = 0;
    while (i < lines.length) {
      const line = lines[i++]!;
      if (line.trim() === '') continue;
      let action: Json;
      try {
        action = JSON.parse(line) as Json;
      } catch {
        throw new HttpError(400, esError(400, 'x_content_parse_exception', `[1:1] Malformed action/metadata line [${i}], expected START_OBJECT`));
      }
      const op = Object.keys(action)[0];
      if (!op) throw new HttpError(400, esError(400, 'illegal_argument_exception', `Malformed action/metadata line [${i}], expected FIELD_NAME but found [END_OBJECT]`));
      if (!op || !['create', 'index', 'update', 'delete'].includes(op)) {
        throw new HttpError(400, esError(400, 'illegal_argument_exception', `Malformed action/metadata line [${i}], expected field [create], [delete], [index] or [update] but found [${op}]`));
      }
      const meta = (action[op] ?? {}) as Json;
      const index = (meta._index as string | undefined) ?? defaultIndex;
      const id = meta._id as string | undefined;
      let source: unknown;
      let sourceError: string | undefined;
      if (op !== 'delete') {
        const src = lines[i++] ?? '';
        try {
          source = JSON.parse(src);
        } catch (e) {
          sourceError = `[1:1] failed to parse: ${(e as Error).message}`;
        }
      }
      let item: Json;
      if (!index) {
        item = { _id: id, status: 400, error: { type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' } };
      } else if (sourceError) {
        item = { _index: index, _id: id, status: 400, error: { type: 'document_parsing_exception', reason: sourceError } };
      } else {
        if (op === 'delete') {
          item = remove(index, id ?? '', num(meta.if_seq_no), num(meta.if_primary_term));
        } else if (op === 'update') {
          item = update(index, id ?? '', source as Json, { ...opt('ifSeqNo', num(meta.if_seq_no)), ...opt('ifPrimaryTerm', num(meta.if_primary_term)) });
        } else {
          const w: WriteOpts = { op: op === 'create' || meta.op_type === 'create' ? 'create' : 'index' };
          const s = num(meta.if_seq_no);
          const t = num(meta.if_primary_term);
          if (s !== undefined) w.ifSeqNo = s;
          if (t !== undefined) w.ifPrimaryTerm = t;
          item = write(index, id, source, w);
        }
      }
      if (item.error) errors = true;
      // `index` with op_type create is reported as a `create` item, as Elasticsearch does.
      items.push({ [op === 'index' && meta.op_type === 'create' ? 'create' : op]: item });
    }
    return { errors, took: Date.now() - started, items };
  }

  // ---- search

  function validateSearch(body: Json, query: Record<string, string>): void {
    const track = body.track_total_hits;
    if (query.rest_total_hits_as_int === 'true' && track !== undefined && track !== true) {
      throw new HttpError(400, esError(400, 'action_request_validation_exception', `Validation Failed: 1: [rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got ${track};`));
    }
  }

  function search(target: string | undefined, body: Json, query: Record<string, string>, strict: boolean): Json {
    const started = Date.now();
    validateSearch(body, query);
    const ixs = resolve(target, strict && !(query.ignore_unavailable === 'true'));
    const all: StoredDoc[] = [];
    for (const ix of ixs) for (const d of ix.docs.values()) all.push(d);
    const q = body.query;
    const hits = q === undefined ? all : all.filter((d) => matches(d, q));
    const size = Number(query.size ?? body.size ?? 10);
    const from = Number(query.from ?? body.from ?? 0);
    const sort = normalizeSort(body.sort);
    const ordered = sort.length > 0 ? [...hits].sort((a, b) => {
      for (const s of sort) {
        const va = s.field === '_id' ? a._id : values(getField(a._source, s.field))[0];
        const vb = s.field === '_id' ? b._id : values(getField(b._source, s.field))[0];
        const c = va === undefined ? 1 : vb === undefined ? -1 : cmp(va, vb);
        if (c !== 0) return s.desc ? -c : c;
      }
      return 0;
    }) : hits;
    const withSeq = body.seq_no_primary_term === true;
    const noSource = body._source === false;
    const page = ordered.slice(from, from + size).map((d) => {
      const h: Json = { _index: d._index, _id: d._id, _score: sort.length > 0 ? null : 1.0 };
      if (withSeq) {
        h._seq_no = d._seq_no;
        h._primary_term = d._primary_term;
      }
      if (!noSource) h._source = d._source;
      if (sort.length > 0) h.sort = sort.map((s) => (s.field === '_id' ? d._id : values(getField(d._source, s.field))[0] ?? null));
      return h;
    });
    const track = body.track_total_hits;
    const total = query.rest_total_hits_as_int === 'true'
      ? hits.length
      : typeof track === 'number' && hits.length > track
        ? { value: track, relation: 'gte' }
        : { value: hits.length, relation: 'eq' };
    const response: Json = {
      took: Date.now() - started,
      timed_out: false,
      _shards: { total: ixs.length, successful: ixs.length, skipped: 0, failed: 0 },
      hits: { total, max_score: page.length > 0 && sort.length === 0 ? 1.0 : null, hits: page },
    };
    if (track === false) delete (response.hits as Json).total;
    const hooked = searchHook?.({ target: target ?? '_all', indices: ixs.map((x) => x.name), body, query, hits, all });
    if (hooked && 'hits' in hooked) return hooked;
    if (hooked) return { ...response, ...hooked };
    if (body.aggs !== undefined || body.aggregations !== undefined) {
      throw new HttpError(400, esError(400, 'illegal_argument_exception', 'es-server: aggregations are not implemented; answer them with onSearch()'));
    }
    return response;
  }

  function normalizeSort(sort: unknown): Array<{ field: string; desc: boolean }> {
    const out: Array<{ field: string; desc: boolean }> = [];
    for (const s of values(sort)) {
      if (typeof s === 'string') out.push({ field: s, desc: false });
      else if (s && typeof s === 'object') {
        const [field] = Object.keys(s);
        const spec = (s as Json)[field!];
        const order = typeof spec === 'string' ? spec : (spec as Json | undefined)?.order;
        out.push({ field: field!, desc: order === 'desc' });
      }
    }
    return out.filter((s) => s.field !== '_score');
  }

  function msearch(body: string, defaultIndex: string | undefined, query: Record<string, string>): Json {
    const started = Date.now();
    const lines = body.split('\n').filter((l) => l.trim() !== '');
    const responses: Json[] = [];
    // Request-level validation fails the whole _msearch, as Elasticsearch does.
    for (let i = 1; i < lines.length; i += 2) validateSearch(JSON.parse(lines[i]!) as Json, query);
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const header = JSON.parse(lines[i]!) as Json;
      const sbody = JSON.parse(lines[i + 1]!) as Json;
      const target = header.index === undefined ? defaultIndex : values(header.index).join(',');
      try {
        // Header options apply to their search, as in Elasticsearch (ignore_unavailable: a missing index is no documents).
        const q = header.ignore_unavailable === true ? { ...query, ignore_unavailable: 'true' } : query;
        responses.push({ ...search(target, sbody, q, true), status: 200 });
      } catch (err) {
        if (err instanceof HttpError) responses.push(err.body as Json);
        else throw err;
      }
    }
    return { took: Date.now() - started, responses };
  }

  // ---- routing

  const clusterInfo = () => ({
    name: 'es-server-1',
    cluster_name: clusterName,
    cluster_uuid: clusterUuid,
    version: {
      number: version,
      build_flavor: 'default',
      build_type: 'docker',
      build_hash: '0000000000000000000000000000000000000000',
      build_date: '2024-08-05T10:05:34.233336849Z',
      build_snapshot: false,
      lucene_version: '9.11.1',
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  });

  function builtin(method: string, path: string, query: Record<string, string>, body: string): EsReply {
    const json = (): Json => {
      if (body.trim() === '') return {};
      try {
        return JSON.parse(body) as Json;
      } catch {
        throw new HttpError(400, esError(400, 'parsing_exception', 'request body is not valid JSON'));
      }
    };
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    const ok = (b: unknown, status = 200): EsReply => ({ status, body: b });
    const fromItem = (item: Json): EsReply => {
      const { status, ...rest } = item;
      return { status: status as number, body: rest.error ? esError(status as number, (rest.error as Json).type as string, (rest.error as Json).reason as string, { index_uuid: 'aAsFqTI0Tc2W0LCWgPNrOA', shard: '0', index: rest._index }) : rest };
    };

    if (seg.length === 0 && (method === 'GET' || method === 'HEAD')) return ok(clusterInfo());
    if ((method === 'POST' || method === 'PUT') && (seg[0] === '_bulk' || seg[1] === '_bulk') && seg.length <= 2) {
      return ok(bulk(body, seg[1] === '_bulk' ? seg[0] : undefined));
    }
    if ((method === 'GET' || method === 'POST') && (seg[0] === '_msearch' || seg[1] === '_msearch')) {
      return ok(msearch(body, seg[1] === '_msearch' ? seg[0] : undefined, query));
    }
    if ((method === 'GET' || method === 'POST') && (seg[0] === '_search' || seg[1] === '_search')) {
      const target = seg[1] === '_search' ? seg[0] : undefined;
      return ok(search(target, json(), query, true));
    }
    if ((method === 'GET' || method === 'POST') && (seg[0] === '_count' || seg[1] === '_count')) {
      const target = seg[1] === '_count' ? seg[0] : undefined;
      const b = json();
      const r = search(target, { query: b.query }, { ...query, size: '0' }, true) as { hits: { total: { value: number } } };
      return ok({ count: r.hits.total.value, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } });
    }
    if ((method === 'POST' || method === 'GET') && (seg[0] === '_refresh' || seg[1] === '_refresh')) {
      return ok({ _shards: { total: 1, successful: 1, failed: 0 } });
    }
    // templates, policies, pipelines
    const resourceKinds: Record<string, string> = { _index_template: 'index_templates', _component_template: 'component_templates' };
    if ((seg[0] === '_index_template' || seg[0] === '_component_template') && seg[1]) {
      const key = `/${seg[0]}/${seg[1]}`;
      if (method === 'PUT' || method === 'POST') {
        resources.set(key, json());
        if (seg[0] === '_index_template') for (const ix of indices.values()) ix.dataStream ||= dataStreamPatterns().some((r) => r.test(ix.name));
        return ok({ acknowledged: true });
      }
      const stored = resources.get(key);
      if (method === 'HEAD') return { status: stored ? 200 : 404 };
      if (method === 'DELETE') {
        if (!stored) throw new HttpError(404, esError(404, 'resource_not_found_exception', `${seg[0].slice(1)} [${seg[1]}] missing`));
        resources.delete(key);
        return ok({ acknowledged: true });
      }
      if (!stored) throw new HttpError(404, esError(404, 'resource_not_found_exception', `${seg[0].slice(1).replace('_', ' ')} [${seg[1]}] missing`));
      const kind = resourceKinds[seg[0]]!;
      return ok({ [kind]: [{ name: seg[1], [kind.slice(0, -1)]: stored }] });
    }
    if (seg[0] === '_ilm' && seg[1] === 'policy' && seg[2]) {
      const key = `/_ilm/policy/${seg[2]}`;
      if (method === 'PUT') {
        const prev = resources.get(key) as { version: number } | undefined;
        resources.set(key, { version: (prev?.version ?? 0) + 1, modified_date: new Date().toISOString(), ...json() });
        return ok({ acknowledged: true });
      }
      const stored = resources.get(key);
      if (!stored) throw new HttpError(404, esError(404, 'resource_not_found_exception', `Lifecycle policy not found: ${seg[2]}`));
      if (method === 'DELETE') {
        resources.delete(key);
        return ok({ acknowledged: true });
      }
      return ok({ [seg[2]]: stored });
    }
    if (seg[0] === '_data_stream' && seg[1]) {
      if (method === 'PUT') {
        if (indices.has(seg[1])) throw new HttpError(400, esError(400, 'resource_already_exists_exception', `data_stream [${seg[1]}] already exists`));
        getIndex(seg[1], true)!.dataStream = true;
        return ok({ acknowledged: true });
      }
      if (method === 'GET') {
        const ixs = resolve(seg[1], true).filter((x) => x.dataStream);
        return ok({ data_streams: ixs.map((x) => ({ name: x.name, timestamp_field: { name: '@timestamp' }, indices: [{ index_name: `.ds-${x.name}-000001` }], generation: 1, status: 'GREEN' })) });
      }
    }
    // single documents
    if (seg.length >= 2 && seg.length <= 3 && (seg[1] === '_doc' || seg[1] === '_create' || seg[1] === '_update')) {
      const [index, kind, id] = seg as [string, string, string | undefined];
      const ifSeq = num(query.if_seq_no);
      const ifTerm = num(query.if_primary_term);
      if (kind === '_doc' && (method === 'GET' || method === 'HEAD') && id !== undefined) {
        const d = indices.get(index)?.docs.get(id);
        if (method === 'HEAD') return { status: d ? 200 : 404 };
        if (!d) return { status: 404, body: { _index: index, _id: id, found: false } };
        return ok({ _index: index, _id: id, _version: d._version, _seq_no: d._seq_no, _primary_term: d._primary_term, found: true, _source: d._source });
      }
      if (kind === '_doc' && method === 'DELETE' && id !== undefined) return fromItem(remove(index, id, ifSeq, ifTerm));
      if (kind === '_update' && method === 'POST' && id !== undefined) return fromItem(update(index, id, json(), { ...opt('ifSeqNo', ifSeq), ...opt('ifPrimaryTerm', ifTerm) }));
      if ((method === 'PUT' || method === 'POST') && (kind === '_doc' || kind === '_create')) {
        if (kind === '_create' && id === undefined) throw new HttpError(400, esError(400, 'action_request_validation_exception', 'Validation Failed: 1: an id must be provided if version type or value are set;'));
        if (method === 'PUT' && id === undefined) throw new HttpError(405, { error: 'Incorrect HTTP method for uri [' + path + '] and method [PUT], allowed: [POST]', status: 405 });
        const w: WriteOpts = { op: kind === '_create' || query.op_type === 'create' ? 'create' : 'index' };
        if (ifSeq !== undefined) w.ifSeqNo = ifSeq;
        if (ifTerm !== undefined) w.ifPrimaryTerm = ifTerm;
        return fromItem(write(index, id, json(), w));
      }
    }
    // whole indices
    if (seg.length === 1 && !seg[0]!.startsWith('_')) {
      const name = seg[0]!;
      if (method === 'HEAD') return { status: resolve(name, false).length > 0 ? 200 : 404 };
      if (method === 'PUT') {
        if (indices.has(name)) throw new HttpError(400, esError(400, 'resource_already_exists_exception', `index [${name}/aAsFqTI0Tc2W0LCWgPNrOA] already exists`, { index_uuid: 'aAsFqTI0Tc2W0LCWgPNrOA', index: name }));
        getIndex(name, true);
        return ok({ acknowledged: true, shards_acknowledged: true, index: name });
      }
      if (method === 'DELETE') {
        for (const ix of resolve(name, true)) indices.delete(ix.name);
        return ok({ acknowledged: true });
      }
      if (method === 'GET') {
        const out: Json = {};
        for (const ix of resolve(name, true)) out[ix.name] = { aliases: {}, mappings: {}, settings: {} };
        return ok(out);
      }
    }
    throw new HttpError(400, { error: `no handler found for uri [${path}] and method [${method}]`, status: 400 });
  }

  // ---- HTTP

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) send(req, res, 500, esError(500, 'exception', `es-server: ${(err as Error).message}`), {});
    });
  });

  function send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, query: Record<string, string>, headers: Record<string, string> = {}) {
    if (res.destroyed) return;
    const compat = String(req.headers.accept ?? '').includes('vnd.elasticsearch');
    const out: Record<string, string> = {
      'x-elastic-product': 'Elasticsearch',
      ...headers,
    };
    if (body === undefined || req.method === 'HEAD') {
      res.writeHead(status, { ...out, 'content-length': '0' });
      res.end();
      return;
    }
    const filtered = query.filter_path && status < 300 ? filterPath(body, query.filter_path) : body;
    const text = JSON.stringify(filtered);
    res.writeHead(status, {
      ...out,
      'content-type': compat ? 'application/vnd.elasticsearch+json;compatible-with=8' : 'application/json',
      'content-length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const method = req.method ?? 'GET';
    const body = raw.toString('utf8');
    const rec: RecordedRequest = { method, path, query, headers: { ...req.headers }, body: recordBodies ? body : '', status: 0 };
    requests.push(rec);
    const reply = (status: number, b: unknown, headers?: Record<string, string>) => {
      rec.status = status;
      send(req, res, status, b, query, headers);
    };

    const esReq: EsRequest = { method, path, query, headers: req.headers, body, json: () => (body ? JSON.parse(body) : undefined) };
    try {
      for (const r of routes) {
        if (r.method !== method) continue;
        const m = r.path.exec(path);
        if (!m) continue;
        const out = await r.handler(esReq, m.slice(1));
        if (out) {
          reply(out.status ?? 200, out.body, out.headers);
          return;
        }
      }
      const out = builtin(method, path, query, body);
      reply(out.status ?? 200, out.body, out.headers);
    } catch (err) {
      if (err instanceof HttpError) reply(err.status, err.body);
      else reply(500, esError(500, 'exception', `es-server: ${(err as Error).message}`));
    }
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;

  const docsOf = (pattern: string): StoredDoc[] => {
    const out: StoredDoc[] = [];
    for (const ix of resolve(pattern, false)) for (const d of ix.docs.values()) out.push(d);
    return out;
  };

  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    resources,
    docs: docsOf,
    doc: (index, id) => indices.get(index)?.docs.get(id),
    allIds: (pattern = '*') => docsOf(pattern).map((d) => d._id),
    count: (pattern = '*') => docsOf(pattern).length,
    indices: () => [...indices.keys()],
    onSearch(hook) {
      searchHook = hook;
    },
    route(method, path, handler) {
      routes.push({ method: method.toUpperCase(), path, handler });
    },
    reset() {
      indices.clear();
      resources.clear();
      requests.length = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}
