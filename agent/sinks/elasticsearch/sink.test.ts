/**
 * The sink on the real engine (OpenSearch 2.19, test/engine), into what `driftbeat setup` made,
 * with faults injected by the loopback proxy between the sink and the engine
 * (test/support/fault-proxy.ts). Per-item 429/403 inside a 200 answer, a 413 body limit and a 401
 * of a secured cluster are made by the proxy on top of the engine's real answers; the Elasticsearch
 * 8 banner is the one answer no engine here can give, so the proxy answers `GET /` with it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ElasticsearchOutputSchema, type ElasticsearchOutputConfig } from '../../config/schema.ts';
import { SinkError } from '../../errors.ts';
import type { PredictionDocument } from '../../normalize/document.ts';
import * as metrics from '../../telemetry/metrics.ts';
import { testEngine } from '../../../test/support/engine.ts';
import { installTemplates } from '../../../test/support/engine-setup.ts';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from '../../../test/support/fault-proxy.ts';
import type { Batch, DeadLetterEntry, OutEvent } from '../sink.ts';
import { ElasticsearchSink, type ElasticsearchSinkOptions } from './sink.ts';

const engine = await testEngine();
// One prefix for the file, set up once; each test ships its own model, hence its own data stream.
const PREFIX = engine.prefix();
await installTemplates(engine.url, PREFIX);

const proxies: FaultProxy[] = [];
const sinks: ElasticsearchSink[] = [];
after(async () => {
  for (const s of sinks) await s.stop();
  for (const p of proxies) await p.close();
  await engine.drop(PREFIX);
});

async function proxy(options?: FaultProxyOptions): Promise<FaultProxy> {
  const p = await startFaultProxy(engine.url, options);
  proxies.push(p);
  return p;
}

function config(url: string, extra: Record<string, unknown> = {}): ElasticsearchOutputConfig {
  return ElasticsearchOutputSchema.parse({ hosts: [url], index_prefix: PREFIX, backoff: { initial: 2, max: 20 }, timeout: '30s', ...extra });
}

function sink(cfg: ElasticsearchOutputConfig, opts: Partial<ElasticsearchSinkOptions> = {}): { sink: ElasticsearchSink; dead: DeadLetterEntry[] } {
  const dead: DeadLetterEntry[] = [];
  const s = new ElasticsearchSink({ config: cfg, deadLetter: { write: (e) => dead.push(e) }, ...opts });
  sinks.push(s);
  return { sink: s, dead };
}

function ev(model: string, i: number, features: PredictionDocument['features'] = { amount: i * 1.5, country: 'FR' }): OutEvent {
  const id = `${model}-${i}`;
  return {
    id,
    bytes: 300,
    doc: {
      '@timestamp': new Date(Date.UTC(2024, 4, 1, 10, 0, i % 60)).toISOString(),
      event: { id, ingested: '2024-05-01T10:01:00.000Z' },
      model: { name: model, version: '1.4.2' },
      features,
      prediction: { score: (i % 100) / 100 },
      missing: [],
      host: { name: 'host-1' },
      log: { file: { path: '/var/log/model/predictions.jsonl' }, offset: i * 100 },
    },
  };
}

function batch(model: string, from: number, n: number): Batch {
  const events = Array.from({ length: n }, (_, k) => ev(model, from + k));
  return { events, bytes: events.reduce((s, e) => s + e.bytes, 0) };
}

const stream = (model: string) => `${PREFIX}-predictions-${model}`;

async function count(index: string): Promise<number> {
  await engine.refresh(PREFIX);
  const r = await engine.request('GET', `/${index}/_count?ignore_unavailable=true`);
  return r.body.count ?? 0;
}

async function docById(index: string, id: string): Promise<{ _index: string; _version: number; _source: unknown } | undefined> {
  await engine.refresh(PREFIX);
  const r = await engine.request('POST', `/${index}/_search?ignore_unavailable=true`, { query: { ids: { values: [id] } }, version: true });
  return r.body.hits?.hits?.[0];
}

async function counter(c: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await c.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((s, v) => s + v.value, 0);
}

const isBulk = (_m: string, path: string) => path.startsWith('/_bulk');

test('a batch lands in the model data stream setup made, under its event ids', async () => {
  const { sink: s } = sink(config(engine.url), { name: 'es-basic' });
  await s.start();
  const report = await s.send(batch('basic', 0, 250));
  assert.deepEqual(report, { indexed: 250, duplicates: 0, deadLettered: 0, retries: 0 });
  const ds = await engine.request('GET', `/_data_stream/${stream('basic')}`);
  assert.equal(ds.body.data_streams?.[0]?.name, stream('basic'), 'a data stream, from the template setup installed');
  assert.equal(await count(stream('basic')), 250);
  const doc = await docById(stream('basic'), 'basic-7');
  assert.match(doc!._index, new RegExp(`^\\.ds-${stream('basic')}-`));
  assert.deepEqual(doc!._source, ev('basic', 7).doc);
  assert.equal(await counter(metrics.docsIndexed, { output: 'es-basic' }), 250);
});

test('items rejected with 429 inside a 200 answer are resent until every one is in, and only those', async () => {
  const p = await proxy();
  const once = new Set<string>();
  // 40% of the items are rejected the first time they are seen (never forwarded to the engine).
  p.set({ kind: 'items', reject: (item) => {
    const n = Number(item.id!.split('-')[1]);
    if (n % 5 >= 2 || once.has(item.id!)) return undefined;
    once.add(item.id!);
    return { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' };
  } });
  const { sink: s } = sink(config(p.url), { name: 'es-429' });
  const report = await s.send(batch('item429', 0, 500));
  assert.equal(report.indexed, 500);
  assert.equal(report.duplicates, 0, 'a resent item was one the engine had not indexed');
  assert.equal(p.seen['items.rejected'], 200);
  assert.equal(report.retries, 200);
  assert.equal(await count(stream('item429')), 500);
  assert.equal(await counter(metrics.retries, { output: 'es-429' }), 200);
});

test('whole requests failing with 503 and 429 are retried with the same documents', async () => {
  const p = await proxy();
  p.failNext({ kind: 'status', status: 503 }, 2, isBulk);
  p.failNext({ kind: 'status', status: 429 }, 1, isBulk);
  const { sink: s } = sink(config(p.url), { name: 'es-503' });
  const report = await s.send(batch('req503', 0, 20));
  assert.deepEqual(report, { indexed: 20, duplicates: 0, deadLettered: 0, retries: 3 });
  assert.equal(p.seen.status, 3);
  assert.equal(await count(stream('req503')), 20);
  assert.equal(await counter(metrics.outputErrors, { output: 'es-503', kind: 'http_5xx' }), 2);
  assert.equal(await counter(metrics.outputErrors, { output: 'es-503', kind: 'http_429' }), 1);
});

test('a dead node (connections reset), then resets mid-request: everything arrives once it is back', async () => {
  const p = await proxy();
  const { sink: s } = sink(config(p.url, { backoff: { initial: 10, max: 50 } }), { name: 'es-down' });
  await s.send(batch('down', 0, 5)); // a keep-alive connection first: it must be dropped and reopened
  p.set({ kind: 'refuse' });
  let back = false;
  setTimeout(() => p.set({ kind: 'reset' }), 300);
  setTimeout(() => { p.set({ kind: 'pass' }); back = true; }, 600);
  const report = await s.send(batch('down', 5, 30));
  // An outcome, not a duration: the send resolved only once the node answered again.
  assert.ok(back, 'send resolved while the node was still down');
  assert.equal(report.indexed + report.duplicates, 30);
  assert.ok(report.retries > 0);
  assert.ok((p.seen.refuse ?? 0) + (p.seen.reset ?? 0) > 0, JSON.stringify(p.seen));
  assert.equal(await count(stream('down')), 35);
  assert.ok(await counter(metrics.outputErrors, { output: 'es-down', kind: 'network' }) > 0);
});

test('a line sent again is answered 409 by the engine and counts as a delivered duplicate', async () => {
  const { sink: s } = sink(config(engine.url), { name: 'es-dup' });
  await s.send(batch('dup', 0, 10));
  const report = await s.send(batch('dup', 5, 10)); // 5..9 again, 10..14 new
  assert.deepEqual(report, { indexed: 5, duplicates: 5, deadLettered: 0, retries: 0 });
  assert.equal(await count(stream('dup')), 15);
  assert.equal((await docById(stream('dup'), 'dup-5'))?._version, 1, 'the first copy is untouched');
  assert.equal(await counter(metrics.docsDuplicate, { output: 'es-dup' }), 5);
});

test('a mapping rejection is dead-lettered with the engine\'s own reason while the rest is delivered', async () => {
  const { sink: s, dead } = sink(config(engine.url), { name: 'es-400' });
  await s.send(batch('bad', 0, 3)); // features.amount is now a number
  const bad = ev('bad', 3, { amount: 'twelve', country: 'FR' });
  const report = await s.send({ events: [ev('bad', 4), bad, ev('bad', 5)], bytes: 900 });
  assert.deepEqual(report, { indexed: 2, duplicates: 0, deadLettered: 1, retries: 0 });
  assert.equal(dead.length, 1);
  // OpenSearch's words (Elasticsearch 8 says document_parsing_exception).
  assert.match(dead[0]!.reason, /^mapper_parsing_exception: failed to parse field \[features\.amount\] of type \[(double|float|long)\]/);
  assert.equal(dead[0]!.file, '/var/log/model/predictions.jsonl');
  assert.equal(dead[0]!.offset, 300);
  assert.equal(dead[0]!.model, 'bad');
  assert.deepEqual(dead[0]!.doc, bad.doc);
  assert.equal(await docById(stream('bad'), 'bad-3'), undefined);
  // The best-effort copy in the dead-letter index keeps the document as text: it cannot conflict again.
  const copy = (await docById(`${PREFIX}-deadletter`, 'bad-3'))?._source as Record<string, any>;
  assert.equal(copy.error.type, 'mapper_parsing_exception');
  assert.deepEqual(JSON.parse(copy.event.original), bad.doc);
  assert.equal(copy.log.offset, 300);
  assert.ok(await counter(metrics.deadLetters, { reason: 'mapper_parsing_exception' }) >= 1);
});

test('401 from a secured cluster: a permanent SinkError naming the output, without the secret', async () => {
  const p = await proxy({ auth: { username: 'elastic', password: 'right-password' } });
  const { sink: s } = sink(config(p.url, { username: 'elastic', password: 'Wr0ng-Secret-Pass' }), { name: 'elasticsearch' });
  const err = await s.send(batch('auth', 0, 3)).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SinkError, String(err));
  assert.equal(err.permanent, true);
  assert.equal(err.code, 'ERR_SINK_AUTH');
  assert.match(err.message, /output "elasticsearch".*401.*check output\.elasticsearch\.api_key or username\/password/);
  assert.ok(!err.message.includes('Wr0ng-Secret-Pass'));
  assert.ok(!JSON.stringify(err).includes('Wr0ng-Secret-Pass'));
  assert.equal(await count(stream('auth')), 0);
  await assert.rejects(s.start(), (e: unknown) => e instanceof SinkError && e.permanent && e.code === 'ERR_SINK_AUTH' && !e.message.includes('Wr0ng-Secret-Pass'));
  const good = sink(config(p.url, { username: 'elastic', password: 'right-password' })).sink;
  assert.equal((await good.send(batch('auth', 0, 3))).indexed, 3);
});

test('an API key is sent as ApiKey and never appears in an error', async () => {
  const key = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
  const p = await proxy({ auth: { apiKey: key } });
  const good = sink(config(p.url, { api_key: key })).sink;
  assert.equal((await good.send(batch('apikey', 0, 2))).indexed, 2);
  const bad = sink(config(p.url, { api_key: 'bm90LXRoZS1yaWdodC1rZXk=' })).sink;
  const err = await bad.send(batch('apikey', 2, 2)).then(() => undefined, (e: unknown) => e as SinkError);
  assert.ok(err instanceof SinkError && err.permanent);
  assert.ok(!err.message.includes('bm90LXRoZS1yaWdodC1rZXk='));
});

test('per-item security_exception (403) stops the sink instead of dead-lettering everything', async () => {
  const p = await proxy();
  p.set({ kind: 'items', reject: () => ({ status: 403, type: 'security_exception', reason: `action [indices:data/write/bulk[s]] is unauthorized for API key id [x] of user [agent] on indices [${stream('forbidden')}]` }) });
  const { sink: s, dead } = sink(config(p.url));
  await assert.rejects(s.send(batch('forbidden', 0, 3)), (e: unknown) => e instanceof SinkError && e.permanent && /create_doc/.test(e.message));
  assert.equal(dead.length, 0);
});

test('abort during a backoff wait rejects promptly with ERR_SINK_ABORTED', async () => {
  const p = await proxy();
  p.set({ kind: 'status', status: 503 });
  const { sink: s } = sink(config(p.url, { backoff: { initial: '10s', max: '60s' } }));
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('shutdown')), 150);
  const err = await s.send(batch('abort', 0, 3), ac.signal).then(() => undefined, (e: unknown) => e as SinkError);
  assert.ok(err instanceof SinkError, String(err));
  assert.equal(err.code, 'ERR_SINK_ABORTED');
  assert.equal(err.permanent, false);
});

test('abort during a slow request interrupts it; nothing is acknowledged', async () => {
  const p = await proxy();
  p.set({ kind: 'delay', ms: 5000 });
  const { sink: s } = sink(config(p.url));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(s.send(batch('slow', 0, 3), ac.signal), (e: unknown) => e instanceof SinkError && e.code === 'ERR_SINK_ABORTED');
});

test('a request over the body limit (413) is split; a single oversized document is dead-lettered', async () => {
  const p = await proxy();
  p.set({ kind: 'limit', bytes: 8_000 });
  const events = batch('split', 0, 40).events;
  const huge = ev('split', 99, { amount: 1, blob: 'x'.repeat(20_000) });
  const { sink: s, dead } = sink(config(p.url));
  const report = await s.send({ events: [...events, huge], bytes: 0 });
  assert.equal(report.indexed, 40);
  assert.equal(report.deadLettered, 1);
  assert.match(dead[0]!.reason, /request_entity_too_large/);
  assert.equal(await count(stream('split')), 40);
  assert.ok((p.seen.limit ?? 0) >= 3);
});

test('with max_retries set, documents still failing are dead-lettered and send resolves', async () => {
  const p = await proxy();
  p.set({ kind: 'status', status: 503 });
  const { sink: s, dead } = sink(config(p.url, { max_retries: 2 }));
  const report = await s.send(batch('giveup', 0, 4));
  assert.deepEqual(report, { indexed: 0, duplicates: 0, deadLettered: 4, retries: 2 });
  assert.equal(p.seen.status, 3 + 1 /* the dead-letter index attempt */);
  assert.match(dead[0]!.reason, /^gave up after 2 retries: http_5xx/);
});

test('a hung node: the request timeout fires and the documents are sent again, once', async () => {
  const p = await proxy();
  p.failNext({ kind: 'hang' }, 1, isBulk);
  const { sink: s } = sink(config(p.url, { timeout: 300 }));
  const report = await s.send(batch('hung', 0, 3));
  assert.equal(report.indexed + report.duplicates, 3);
  assert.ok(report.retries >= 1);
  assert.equal(await count(stream('hung')), 3);
});

test('a slow node answering after the timeout: the documents it indexed answer 409 on the resend, none twice', async () => {
  const p = await proxy();
  // Forwarded late: the engine indexes them after the client gave up. The gaps are wide because
  // the timeout is the socket's idle timeout (it restarts while the body is being written).
  p.failNext({ kind: 'delay', ms: 2_500 }, 1, isBulk);
  const { sink: s } = sink(config(p.url, { timeout: 500, backoff: { initial: 3_500, max: 3_500 } }), { random: () => 0.99 });
  const report = await s.send(batch('late', 0, 5));
  assert.equal(report.indexed + report.duplicates, 5);
  assert.equal(report.duplicates, 5, `the resend was answered 409: ${JSON.stringify(report)}`);
  assert.ok(report.retries >= 1, JSON.stringify({ report, seen: p.seen }));
  assert.equal(await count(stream('late')), 5);
});

const ES8_BANNER = { name: 'es01', cluster_name: 'prod-logs', cluster_uuid: 'x', version: { number: '8.15.0', build_flavor: 'default', build_type: 'docker', lucene_version: '9.11.1', minimum_wire_compatibility_version: '7.17.0', minimum_index_compatibility_version: '7.0.0' }, tagline: 'You Know, for Search' };
const isRoot = (_m: string, path: string) => path === '/';

test('start() reports the engine and version, and does not hang when the engine is down or slow', async () => {
  const { sink: s } = sink(config(engine.url));
  const info = (await engine.request('GET', '/')).body;
  assert.deepEqual(await s.checkConnection(), { ok: true, fatal: false, engine: 'OpenSearch', version: engine.version, clusterName: info.cluster_name });
  await s.start();

  // The Elasticsearch 8 banner and product header (no Elasticsearch runs here).
  const p = await proxy();
  p.failNext({ kind: 'status', status: 200, body: ES8_BANNER, headers: { 'x-elastic-product': 'Elasticsearch' } }, 1, isRoot);
  assert.deepEqual(await sink(config(p.url)).sink.checkConnection(), { ok: true, fatal: false, engine: 'Elasticsearch', version: '8.15.0', clusterName: 'prod-logs' });

  const gone = await startFaultProxy(engine.url);
  const url = gone.url;
  await gone.close();
  const { sink: s2 } = sink(config(url));
  await s2.start(); // logs and returns: send() retries later
  const c = await s2.checkConnection(1000);
  assert.equal(c.ok, false);
  assert.equal(c.fatal, false);
  assert.match(c.problem!, /output "elasticsearch": cannot reach the cluster/);

  const slow = await proxy();
  slow.set({ kind: 'hang' });
  const { sink: s3 } = sink(config(slow.url), { startTimeoutMs: 200 });
  await s3.start();
  assert.equal((await s3.checkConnection(200)).ok, false);
});

test('start() refuses Elasticsearch 7 and servers that are neither engine', async () => {
  const p = await proxy();
  p.failNext({ kind: 'status', status: 200, body: { ...ES8_BANNER, version: { ...ES8_BANNER.version, number: '7.17.9' } } }, 1, isRoot);
  await assert.rejects(sink(config(p.url)).sink.start(), (e: unknown) => e instanceof SinkError && e.permanent && /7\.17\.9 is not supported/.test(e.message));
  p.failNext({ kind: 'status', status: 200, body: { hello: 'world' }, headers: { 'x-elastic-product': 'OpenSearch' } }, 1, isRoot);
  await assert.rejects(sink(config(p.url)).sink.start(), (e: unknown) => e instanceof SinkError && e.permanent && /neither Elasticsearch 8\+ .* nor OpenSearch 2\.x/.test(e.message));
});

test('stop() is safe without start and twice; empty batches send nothing', async () => {
  const p = await proxy();
  const { sink: s } = sink(config(p.url));
  assert.deepEqual(await s.send({ events: [], bytes: 0 }), { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 });
  await s.stop();
  await s.stop();
  assert.deepEqual(p.seen, {});
});

test('documents of several models go to their own data streams in one request', async () => {
  const p = await proxy();
  const { sink: s } = sink(config(p.url));
  const events = [ev('multia', 1), ev('Multib', 2), ev('multia', 3)];
  await s.send({ events, bytes: 0 });
  assert.equal(p.seen.pass, 1, 'one request');
  assert.equal(await count(stream('multia')), 2);
  assert.equal(await count(stream('multib')), 1);
});
