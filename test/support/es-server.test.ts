/**
 * The fake Elasticsearch is held to the real one: the Elasticsearch REST tests saved in
 * test/fixtures/elastic/es/ (bulk, CAS, msearch) run against it with their own assertions.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { startEsServer, type EsServer } from './es-server.ts';

const REF = fileURLToPath(new URL('../fixtures/elastic/es', import.meta.url));
const servers: EsServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});
async function server(opts: Parameters<typeof startEsServer>[0] = {}): Promise<EsServer> {
  const s = await startEsServer(opts);
  servers.push(s);
  return s;
}

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

async function call(es: EsServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(es.url + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

// ---------------------------------------------------------------------------------------------
// a small runner for Elasticsearch's YAML REST tests (only the APIs the fake implements)

class Unsupported extends Error {}

function ndjson(body: unknown): string {
  if (typeof body === 'string') return body.endsWith('\n') ? body : body + '\n';
  return (body as unknown[]).map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
}

function qs(params: Record<string, unknown>, skip: string[]): string {
  const q = Object.entries(params).filter(([k]) => !skip.includes(k)).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return q.length ? `?${q.join('&')}` : '';
}

function substitute(v: unknown, vars: Record<string, unknown>): unknown {
  if (typeof v === 'string' && v.startsWith('$') && v.slice(1) in vars) return vars[v.slice(1)];
  if (Array.isArray(v)) return v.map((e) => substitute(e, vars));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, substitute(e, vars)]));
  return v;
}

async function doStep(es: EsServer, api: string, p: Record<string, any>): Promise<Reply> {
  switch (api) {
    case 'bulk':
      return call(es, 'POST', `${p.index ? `/${p.index}` : ''}/_bulk${qs(p, ['body', 'index'])}`, ndjson(p.body), { 'content-type': 'application/x-ndjson' });
    case 'index':
      return call(es, 'PUT', `/${p.index}/_doc/${p.id}${qs(p, ['body', 'index', 'id'])}`, p.body);
    case 'count':
      return call(es, 'GET', `/${p.index}/_count`);
    case 'msearch':
      return call(es, 'POST', `${p.index ? `/${p.index}` : ''}/_msearch${qs(p, ['body', 'index'])}`, ndjson(p.body), { 'content-type': 'application/x-ndjson' });
    case 'indices.refresh':
      return call(es, 'POST', '/_refresh');
    case 'cluster.put_settings':
      return { status: 200, headers: new Headers(), body: { acknowledged: true } };
    default:
      throw new Unsupported(api);
  }
}

function at(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const part of path.split('.')) cur = cur?.[/^\d+$/.test(part) ? Number(part) : part];
  return cur;
}

function expectMatch(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'string' && expected.length > 1 && expected.startsWith('/') && expected.trim().endsWith('/')) {
    assert.match(String(actual), new RegExp(expected.trim().slice(1, -1).trim(), 'x' in RegExp.prototype ? '' : ''), where);
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

/** Runs every test of a REST test file that uses only supported APIs; returns the names run. */
async function runRestTests(file: string): Promise<string[]> {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, Array<Record<string, any>>>);
  const setup = docs.find((d) => 'setup' in d)?.setup ?? [];
  const ran: string[] = [];
  for (const doc of docs) {
    for (const [name, steps] of Object.entries(doc)) {
      if (name === 'setup' || name === 'teardown') continue;
      const es = await server();
      const vars: Record<string, unknown> = {};
      let last: Reply | undefined;
      try {
        for (const step of [...setup, ...steps]) {
          const [kind, arg] = Object.entries(step)[0]!;
          const where = `${file.split('/').pop()} "${name}" ${JSON.stringify(step)}`;
          if (kind === 'do') {
            const { catch: expectError, headers: _h, allowed_warnings: _w, ...rest } = arg;
            const [api, params] = Object.entries(rest)[0]! as [string, Record<string, any>];
            last = await doStep(es, api, substitute(params ?? {}, vars) as Record<string, any>);
            if (expectError) {
              assert.ok(last.status >= 400, `${where}: expected an error, got ${last.status}`);
              if (expectError === 'missing') assert.equal(last.status, 404, where);
              else if (String(expectError).startsWith('/')) expectMatch(JSON.stringify(last.body), expectError, where);
            } else {
              assert.ok(last.status < 400, `${where}: ${last.status} ${JSON.stringify(last.body)}`);
            }
          } else if (kind === 'match') {
            for (const [path, want] of Object.entries(arg)) expectMatch(at(last!.body, path), substitute(want, vars), where);
          } else if (kind === 'length') {
            for (const [path, want] of Object.entries(arg)) assert.equal((at(last!.body, path) as unknown[]).length, want, where);
          } else if (kind === 'is_true') {
            assert.ok(at(last!.body, arg), where);
          } else if (kind === 'set') {
            for (const [path, v] of Object.entries(arg)) vars[v as string] = at(last!.body, path);
          }
          // requires / skip: the fake plays the newest version
        }
        ran.push(name);
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
      }
    }
  }
  return ran;
}

test('Elasticsearch REST tests for _bulk pass against the fake (create, errors, empty _id)', async () => {
  const ran = await runRestTests(`${REF}/bulk/yamlRestTest-bulk-10_basic.yml`);
  for (const name of ['Array of objects', 'Empty _id', 'Empty _id with op_type create', 'empty action']) assert.ok(ran.includes(name), `${name} ran: ${ran}`);
});

test('Elasticsearch REST test for compare-and-swap (if_seq_no) passes against the fake', async () => {
  const ran = await runRestTests(`${REF}/bulk/yamlRestTest-bulk-80_cas-version-conflict.yml`);
  assert.deepEqual(ran, ['Compare And Swap Sequence Numbers']);
});

test('Elasticsearch REST tests for _msearch pass against the fake', async () => {
  const ran = await runRestTests(`${REF}/search/yamlRestTest-msearch-10_basic.yml`);
  for (const name of ['Basic multi-search', 'Least impact smoke test', 'Search with new response format']) assert.ok(ran.includes(name), `${name} ran: ${ran}`);
});

// ---------------------------------------------------------------------------------------------

test('GET / answers cluster info with the product header the 8.x client checks', async () => {
  const es = await server({ version: '8.14.3', clusterName: 'c1' });
  const r = await call(es, 'GET', '/');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-elastic-product'), 'Elasticsearch');
  assert.equal(r.body.version.number, '8.14.3');
  assert.equal(r.body.cluster_name, 'c1');
  assert.equal(r.body.tagline, 'You Know, for Search');
});

test('bulk create: a second create of an _id answers 409 version_conflict_engine_exception and errors: true', async () => {
  const es = await server();
  const body = '{"create":{"_index":"logs-a","_id":"1"}}\n{"f":1}\n{"create":{"_index":"logs-a","_id":"2"}}\n{"f":2}\n';
  const first = await call(es, 'POST', '/_bulk', body);
  assert.equal(first.body.errors, false);
  assert.deepEqual(first.body.items.map((i: any) => i.create.status), [201, 201]);
  const again = await call(es, 'POST', '/_bulk', '{"create":{"_index":"logs-a","_id":"1"}}\n{"f":9}\n{"create":{"_index":"logs-a","_id":"3"}}\n{"f":3}\n');
  assert.equal(again.body.errors, true);
  assert.equal(again.body.items[0].create.status, 409);
  assert.equal(again.body.items[0].create.error.type, 'version_conflict_engine_exception');
  assert.match(again.body.items[0].create.error.reason, /document already exists/);
  assert.equal(again.body.items[1].create.result, 'created');
  assert.deepEqual(es.docs('logs-a').map((d) => [d._id, d._source.f]), [['1', 1], ['2', 2], ['3', 3]]);
  assert.deepEqual(es.allIds().sort(), ['1', '2', '3']);
});

test('dynamic mapping: a value of another type than the first answers 400 document_parsing_exception', async () => {
  const es = await server();
  await call(es, 'PUT', '/ix/_doc/1', { a: { n: 1 }, s: 'x', b: true });
  const r = await call(es, 'POST', '/_bulk',
    '{"index":{"_index":"ix","_id":"2"}}\n{"a":{"n":"abc"}}\n' +
    '{"index":{"_index":"ix","_id":"3"}}\n{"a":{"n":"42"},"s":7}\n' + // numeric strings and numbers-as-text are coerced
    '{"index":{"_index":"ix","_id":"4"}}\n{"a":5}\n' +
    '{"index":{"_index":"ix","_id":"5"}}\n{"a.n":2.5}\n');
  assert.deepEqual(r.body.items.map((i: any) => i.index.status), [400, 201, 400, 201]);
  assert.equal(r.body.items[0].index.error.type, 'document_parsing_exception');
  assert.match(r.body.items[0].index.error.reason, /failed to parse field \[a\.n\] of type \[long\] in document with id '2'/);
  assert.match(r.body.items[2].index.error.reason, /object mapping for \[a\]/);
});

test('data streams (from an index template) accept only create with @timestamp', async () => {
  const es = await server();
  await call(es, 'PUT', '/_index_template/preds', { index_patterns: ['driftbeat-predictions-*'], data_stream: {}, priority: 200 });
  const r = await call(es, 'POST', '/_bulk',
    '{"index":{"_index":"driftbeat-predictions-a","_id":"1"}}\n{"@timestamp":"2024-01-01T00:00:00Z"}\n' +
    '{"create":{"_index":"driftbeat-predictions-a","_id":"2"}}\n{"x":1}\n' +
    '{"create":{"_index":"driftbeat-predictions-a","_id":"3"}}\n{"@timestamp":"2024-01-01T00:00:00Z"}\n');
  assert.deepEqual(r.body.items.map((i: any) => i.index?.status ?? i.create.status), [400, 400, 201]);
  assert.match(r.body.items[0].index.error.reason, /op_type of create/);
  assert.match(r.body.items[1].create.error.reason, /timestamp field \[@timestamp\] is missing/);
  const t = await call(es, 'GET', '/_index_template/preds');
  assert.deepEqual(t.body.index_templates[0].index_template.index_patterns, ['driftbeat-predictions-*']);
});

test('documents: _create, get with _seq_no/_primary_term, conditional writes for a lease', async () => {
  const es = await server();
  const c1 = await call(es, 'PUT', '/driftbeat-state/_create/lease', { owner: 'a' });
  assert.equal(c1.status, 201);
  assert.equal(c1.body.result, 'created');
  assert.equal((await call(es, 'PUT', '/driftbeat-state/_create/lease', { owner: 'b' })).status, 409);
  const got = await call(es, 'GET', '/driftbeat-state/_doc/lease');
  assert.equal(got.body.found, true);
  assert.deepEqual(got.body._source, { owner: 'a' });
  const { _seq_no, _primary_term } = got.body;
  const ok = await call(es, 'PUT', `/driftbeat-state/_doc/lease?if_seq_no=${_seq_no}&if_primary_term=${_primary_term}`, { owner: 'b' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.result, 'updated');
  const stale = await call(es, 'PUT', `/driftbeat-state/_doc/lease?if_seq_no=${_seq_no}&if_primary_term=${_primary_term}`, { owner: 'c' });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.error.type, 'version_conflict_engine_exception');
  assert.equal(stale.body.status, 409);
  assert.equal(es.doc('driftbeat-state', 'lease')?._source.owner, 'b');
  const upd = await call(es, 'POST', '/driftbeat-state/_update/lease', { doc: { until: 5 } });
  assert.equal(upd.status, 200);
  assert.deepEqual(es.doc('driftbeat-state', 'lease')?._source, { owner: 'b', until: 5 });
  assert.equal((await call(es, 'DELETE', '/driftbeat-state/_doc/lease')).body.result, 'deleted');
  const missing = await call(es, 'GET', '/driftbeat-state/_doc/lease');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.found, false);
});

test('search: query evaluator, sort, size, seq_no_primary_term, missing index, and a hook for aggregations', async () => {
  const es = await server();
  for (let i = 0; i < 30; i++) await call(es, 'PUT', `/alerts/_doc/a${i}`, { rule: i % 3 === 0 ? 'r1' : 'r2', n: i, state: { value: i % 2 ? 'firing' : 'ok' } });
  const r = await call(es, 'POST', '/alerts/_search', {
    query: { bool: { filter: [{ term: { rule: 'r1' } }, { range: { n: { gte: 6 } } }], must_not: [{ term: { 'state.value': 'ok' } }] } },
    sort: [{ n: { order: 'desc' } }], size: 2, seq_no_primary_term: true,
  });
  assert.equal(r.body.hits.total.value, 4); // 9, 15, 21, 27
  assert.deepEqual(r.body.hits.hits.map((h: any) => h._id), ['a27', 'a21']);
  assert.equal(typeof r.body.hits.hits[0]._seq_no, 'number');
  assert.equal(r.body._shards.failed, 0);
  const none = await call(es, 'POST', '/nope/_search', { query: { match_all: {} } });
  assert.equal(none.status, 404);
  assert.equal(none.body.error.root_cause[0].type, 'index_not_found_exception');
  assert.equal((await call(es, 'POST', '/nope-*/_search', {})).body.hits.total.value, 0);
  assert.equal((await call(es, 'POST', '/alerts/_search', { aggs: { x: { terms: { field: 'rule' } } } })).status, 400);
  es.onSearch((req) => ({ aggregations: { n: { value: req.hits.length } } }));
  const agg = await call(es, 'POST', '/alerts/_search', { size: 0, query: { term: { rule: 'r2' } }, aggs: { n: { value_count: { field: 'n' } } } });
  assert.deepEqual(agg.body.aggregations, { n: { value: 20 } });
  assert.deepEqual(agg.body.hits.hits, []);
});

test('filter_path trims responses as Elasticsearch does', async () => {
  const es = await server();
  const r = await call(es, 'POST', '/_bulk?filter_path=errors,items.*.status,items.*.error.type', '{"create":{"_index":"x","_id":"1"}}\n{"a":1}\n{"create":{"_index":"x","_id":"1"}}\n{"a":1}\n');
  assert.deepEqual(r.body, { errors: true, items: [{ create: { status: 201 } }, { create: { status: 409, error: { type: 'version_conflict_engine_exception' } } }] });
});
