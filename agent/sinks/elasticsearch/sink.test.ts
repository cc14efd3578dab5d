import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ElasticsearchOutputSchema, type ElasticsearchOutputConfig } from '../../config/schema.ts';
import { SinkError } from '../../errors.ts';
import type { PredictionDocument } from '../../normalize/document.ts';
import * as metrics from '../../telemetry/metrics.ts';
import { startEsServer, type EsServer } from '../../../test/support/es-server.ts';
import type { Batch, DeadLetterEntry, OutEvent } from '../sink.ts';
import { ElasticsearchSink, type ElasticsearchSinkOptions } from './sink.ts';

const servers: EsServer[] = [];
const sinks: ElasticsearchSink[] = [];
after(async () => {
  for (const s of sinks) await s.stop();
  for (const s of servers) await s.close();
});

async function server(opts: Parameters<typeof startEsServer>[0] = {}): Promise<EsServer> {
  const s = await startEsServer(opts);
  servers.push(s);
  return s;
}

function config(url: string, extra: Record<string, unknown> = {}): ElasticsearchOutputConfig {
  return ElasticsearchOutputSchema.parse({ hosts: [url], backoff: { initial: 2, max: 20 }, timeout: '5s', ...extra });
}

function sink(cfg: ElasticsearchOutputConfig, opts: Partial<ElasticsearchSinkOptions> = {}): { sink: ElasticsearchSink; dead: DeadLetterEntry[] } {
  const dead: DeadLetterEntry[] = [];
  const s = new ElasticsearchSink({ config: cfg, deadLetter: { write: (e) => dead.push(e) }, ...opts });
  sinks.push(s);
  return { sink: s, dead };
}

function ev(i: number, features: PredictionDocument['features'] = { amount: i * 1.5, country: 'FR' }, model = 'fraud'): OutEvent {
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

function batch(from: number, n: number, f?: (i: number) => OutEvent): Batch {
  const events = Array.from({ length: n }, (_, k) => (f ?? ev)(from + k));
  return { events, bytes: events.reduce((s, e) => s + e.bytes, 0) };
}

async function counter(c: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await c.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((s, v) => s + v.value, 0);
}

test('a batch lands in the model data stream under its event ids, as bulk create', async () => {
  const es = await server();
  const { sink: s } = sink(config(es.url), { name: 'es-basic' });
  await s.start();
  const report = await s.send(batch(0, 250));
  assert.deepEqual(report, { indexed: 250, duplicates: 0, deadLettered: 0, retries: 0 });
  assert.deepEqual(es.indices(), ['driftbeat-predictions-fraud']);
  assert.equal(es.count(), 250);
  assert.deepEqual(es.doc('driftbeat-predictions-fraud', 'fraud-7')?._source, ev(7).doc);
  const bulk = es.requests.find((r) => r.path === '/_bulk')!;
  assert.match(String(bulk.headers['content-type']), /ndjson/);
  assert.deepEqual(JSON.parse(bulk.body.split('\n')[0]!), { create: { _index: 'driftbeat-predictions-fraud', _id: 'fraud-0' } });
  assert.equal(await counter(metrics.docsIndexed, { output: 'es-basic' }), 250);
});

test('items rejected with 429 are resent until every one is in, and only those are resent', async () => {
  const es = await server({ seed: 42 });
  es.faults.rejectItems(0.4);
  const { sink: s } = sink(config(es.url), { name: 'es-429' });
  const report = await s.send(batch(0, 500));
  assert.equal(report.indexed, 500);
  assert.equal(es.count(), 500);
  assert.ok(es.stats.rejected > 150, `rejected ${es.stats.rejected}`);
  // Every item sent beyond the first 500 was a rejected one: nothing indexed twice.
  assert.equal(es.stats.itemsReceived, 500 + es.stats.rejected);
  assert.equal(es.stats.conflicts, 0);
  assert.equal(report.retries, es.stats.rejected);
  assert.equal(await counter(metrics.retries, { output: 'es-429' }), es.stats.rejected);
});

test('whole requests failing with 503 and 429 are retried with the same documents', async () => {
  const es = await server();
  es.faults.failNext(2, { status: 503 });
  es.faults.failNext(1, { status: 429 });
  const { sink: s } = sink(config(es.url), { name: 'es-503' });
  const report = await s.send(batch(0, 20));
  assert.equal(report.indexed, 20);
  assert.equal(report.retries, 3);
  assert.equal(es.requests.filter((r) => r.path === '/_bulk').length, 4);
  assert.equal(es.count(), 20);
  assert.equal(await counter(metrics.outputErrors, { output: 'es-503', kind: 'http_5xx' }), 2);
  assert.equal(await counter(metrics.outputErrors, { output: 'es-503', kind: 'http_429' }), 1);
});

test('a cluster that is down for a while gets everything once it is back', async () => {
  const es = await server();
  const { sink: s } = sink(config(es.url, { backoff: { initial: 10, max: 50 } }), { name: 'es-down' });
  await s.send(batch(0, 5)); // open a keep-alive connection first: it must be dropped and reopened
  es.faults.down(400);
  const t0 = Date.now();
  const report = await s.send(batch(5, 30));
  assert.ok(Date.now() - t0 >= 300, `resolved after ${Date.now() - t0} ms, while the cluster was down`);
  assert.equal(report.indexed, 30);
  assert.ok(report.retries > 0);
  assert.equal(es.count(), 35);
  assert.ok(await counter(metrics.outputErrors, { output: 'es-down', kind: 'network' }) > 0);
});

test('a document sent again answers 409 and counts as a delivered duplicate', async () => {
  const es = await server();
  const { sink: s } = sink(config(es.url), { name: 'es-dup' });
  await s.send(batch(0, 10));
  const report = await s.send(batch(5, 10)); // 5..9 again, 10..14 new
  assert.deepEqual(report, { indexed: 5, duplicates: 5, deadLettered: 0, retries: 0 });
  assert.equal(es.count(), 15);
  assert.equal(es.doc('driftbeat-predictions-fraud', 'fraud-5')?._version, 1);
  assert.equal(await counter(metrics.docsDuplicate, { output: 'es-dup' }), 5);
});

test('a mapping conflict (400) dead-letters that document while the rest is delivered', async () => {
  const es = await server();
  const { sink: s, dead } = sink(config(es.url), { name: 'es-400' });
  await s.send(batch(0, 3)); // features.amount is now a number
  const bad = ev(3, { amount: 'twelve', country: 'FR' });
  const report = await s.send({ events: [ev(4), bad, ev(5)], bytes: 900 });
  assert.deepEqual(report, { indexed: 2, duplicates: 0, deadLettered: 1, retries: 0 });
  assert.equal(dead.length, 1);
  assert.match(dead[0]!.reason, /^document_parsing_exception: .*failed to parse field \[features\.amount\]/);
  assert.equal(dead[0]!.file, '/var/log/model/predictions.jsonl');
  assert.equal(dead[0]!.offset, 300);
  assert.equal(dead[0]!.model, 'fraud');
  assert.deepEqual(dead[0]!.doc, bad.doc);
  assert.equal(es.doc('driftbeat-predictions-fraud', 'fraud-3'), undefined);
  // Best effort copy in the dead-letter index, the document kept as text so it cannot conflict again.
  const copy = es.doc('driftbeat-deadletter', 'fraud-3')?._source as Record<string, any>;
  assert.equal(copy.error.type, 'document_parsing_exception');
  assert.deepEqual(JSON.parse(copy.event.original), bad.doc);
  assert.equal(copy.log.offset, 300);
  assert.equal(await counter(metrics.deadLetters, { reason: 'document_parsing_exception' }) >= 1, true);
});

test('401: send rejects with a permanent SinkError naming the output, without the secret', async () => {
  const es = await server({ auth: { username: 'elastic', password: 'right-password' } });
  const { sink: s } = sink(config(es.url, { username: 'elastic', password: 'Wr0ng-Secret-Pass' }), { name: 'elasticsearch' });
  const err = await s.send(batch(0, 3)).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SinkError, String(err));
  assert.equal(err.permanent, true);
  assert.equal(err.code, 'ERR_SINK_AUTH');
  assert.match(err.message, /output "elasticsearch".*401.*check output\.elasticsearch\.api_key or username\/password/);
  assert.ok(!err.message.includes('Wr0ng-Secret-Pass'));
  assert.ok(!JSON.stringify(err).includes('Wr0ng-Secret-Pass'));
  assert.equal(es.count(), 0);
  // start() fails fast the same way.
  await assert.rejects(s.start(), (e: unknown) => e instanceof SinkError && e.permanent && e.code === 'ERR_SINK_AUTH' && !e.message.includes('Wr0ng-Secret-Pass'));
});

test('an API key is sent as ApiKey and never appears in an error', async () => {
  const es = await server({ auth: { apiKey: 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' } });
  const good = sink(config(es.url, { api_key: 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' })).sink;
  assert.equal((await good.send(batch(0, 2))).indexed, 2);
  const bad = sink(config(es.url, { api_key: 'bm90LXRoZS1yaWdodC1rZXk=' })).sink;
  const err = await bad.send(batch(2, 2)).then(() => undefined, (e: unknown) => e as SinkError);
  assert.ok(err instanceof SinkError && err.permanent);
  assert.ok(!err.message.includes('bm90LXRoZS1yaWdodC1rZXk='));
});

test('per-item security_exception (403) stops the sink instead of dead-lettering everything', async () => {
  const es = await server();
  es.faults.itemError(() => ({ status: 403, type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized for API key id [x] of user [agent] on indices [driftbeat-predictions-fraud]' }));
  const { sink: s, dead } = sink(config(es.url));
  await assert.rejects(s.send(batch(0, 3)), (e: unknown) => e instanceof SinkError && e.permanent && /create_doc/.test(e.message));
  assert.equal(dead.length, 0);
});

test('abort during a backoff wait rejects promptly with ERR_SINK_ABORTED', async () => {
  const es = await server();
  es.faults.failNext(1000, { status: 503 });
  const { sink: s } = sink(config(es.url, { backoff: { initial: '10s', max: '60s' } }));
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(new Error('shutdown')), 150);
  const err = await s.send(batch(0, 3), ac.signal).then(() => undefined, (e: unknown) => e as SinkError);
  assert.ok(err instanceof SinkError, String(err));
  assert.equal(err.code, 'ERR_SINK_ABORTED');
  assert.equal(err.permanent, false);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
});

test('abort during a slow request interrupts it', async () => {
  const es = await server();
  es.faults.slow(5000);
  const { sink: s } = sink(config(es.url));
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(s.send(batch(0, 3), ac.signal), (e: unknown) => e instanceof SinkError && e.code === 'ERR_SINK_ABORTED');
  assert.ok(Date.now() - t0 < 2000);
  es.faults.clear();
});

test('a request over http.max_content_length (413) is split; a single oversized document is dead-lettered', async () => {
  const es = await server();
  const events = batch(0, 40).events;
  const huge = ev(99, { amount: 1, blob: 'x'.repeat(20_000) });
  es.faults.maxContentLength(8_000);
  const { sink: s, dead } = sink(config(es.url));
  const report = await s.send({ events: [...events, huge], bytes: 0 });
  assert.equal(report.indexed, 40);
  assert.equal(report.deadLettered, 1);
  assert.match(dead[0]!.reason, /request_entity_too_large/);
  assert.equal(es.count('driftbeat-predictions-*'), 40);
  assert.ok(es.requests.filter((r) => r.status === 413).length >= 3);
});

test('with max_retries set, documents still failing are dead-lettered and send resolves', async () => {
  const es = await server();
  es.faults.failNext(100, { status: 503, path: '/_bulk' });
  const { sink: s, dead } = sink(config(es.url, { max_retries: 2 }));
  const report = await s.send(batch(0, 4));
  assert.deepEqual(report, { indexed: 0, duplicates: 0, deadLettered: 4, retries: 2 });
  assert.equal(es.requests.filter((r) => r.path === '/_bulk').length, 3 + 1 /* dead-letter index attempt */);
  assert.match(dead[0]!.reason, /^gave up after 2 retries: http_5xx/);
});

test('timeouts are retried', async () => {
  const es = await server();
  es.faults.slow(1000, 1);
  const { sink: s } = sink(config(es.url, { timeout: 200 }));
  const report = await s.send(batch(0, 3));
  assert.equal(report.indexed, 3);
  assert.ok(report.retries >= 1);
});

test('start() reports the version and does not hang when Elasticsearch is down', async () => {
  const es = await server({ version: '8.15.0', clusterName: 'prod-logs' });
  const { sink: s } = sink(config(es.url));
  assert.deepEqual(await s.checkConnection(), { ok: true, fatal: false, engine: 'Elasticsearch', version: '8.15.0', clusterName: 'prod-logs' });
  await s.start();

  const gone = await server();
  const url = gone.url;
  await gone.close();
  const { sink: s2 } = sink(config(url));
  const t0 = Date.now();
  await s2.start(); // logs and returns: send() retries later
  assert.ok(Date.now() - t0 < 5000);
  const c = await s2.checkConnection(1000);
  assert.equal(c.ok, false);
  assert.equal(c.fatal, false);
  assert.match(c.problem!, /output "elasticsearch": cannot reach the cluster/);

  const slow = await server();
  slow.faults.slow(3000);
  const { sink: s3 } = sink(config(slow.url), { startTimeoutMs: 200 });
  const t1 = Date.now();
  await s3.start();
  assert.ok(Date.now() - t1 < 2000);
  slow.faults.clear();
});

test('start() refuses Elasticsearch 7 and servers that are not Elasticsearch', async () => {
  const old = await server({ version: '7.17.9' });
  await assert.rejects(sink(config(old.url)).sink.start(), (e: unknown) => e instanceof SinkError && e.permanent && /7\.17\.9 is not supported/.test(e.message));
  const other = await server();
  other.route('GET', /^\/$/, () => ({ status: 200, body: { hello: 'world' }, headers: { 'x-elastic-product': 'OpenSearch' } }));
  await assert.rejects(sink(config(other.url)).sink.start(), (e: unknown) => e instanceof SinkError && e.permanent && /neither Elasticsearch 8\+ .* nor OpenSearch 2\.x/.test(e.message));
});

test('stop() is safe without start and twice; empty batches send nothing', async () => {
  const es = await server();
  const { sink: s } = sink(config(es.url));
  assert.deepEqual(await s.send({ events: [], bytes: 0 }), { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 });
  await s.stop();
  await s.stop();
  assert.equal(es.requests.length, 0);
});

test('documents of several models go to their own data streams in one request', async () => {
  const es = await server();
  const { sink: s } = sink(config(es.url, { index_prefix: 'acme' }));
  const events = [ev(1, undefined, 'fraud'), ev(2, undefined, 'Churn'), ev(3, undefined, 'fraud')];
  await s.send({ events, bytes: 0 });
  assert.deepEqual(es.indices().sort(), ['acme-predictions-churn', 'acme-predictions-fraud']);
  assert.equal(es.requests.filter((r) => r.path === '/_bulk').length, 1);
});
