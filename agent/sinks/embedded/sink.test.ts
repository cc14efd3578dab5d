import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SinkError } from '../../errors.ts';
import { registry } from '../../telemetry/metrics.ts';
import type { DeadLetterEntry } from '../sink.ts';
import { countDocuments, listModels, queryDocuments } from './query.ts';
import { EmbeddedSink } from './sink.ts';
import { openStore } from './store.ts';
import { DOCUMENT_MIGRATIONS } from './schema.ts';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeBatch, makeDoc } from '../../../demo/documents.ts';
import { workspace, type AfterHook } from '../../../test/support/workspace.ts';

function tempDb(t: AfterHook): string {
  return join(workspace('embedded', t), 'store.duckdb');
}

async function metric(name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => v.labels.output === 'embedded')?.value ?? 0;
}

test('a batch is stored once: the same batch again is all duplicates', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  await sink.start();
  const before = { indexed: await metric('driftbeat_documents_indexed_total'), dup: await metric('driftbeat_documents_duplicate_total') };
  const batch = makeBatch(0, 100);
  assert.deepEqual(await sink.send(batch), { indexed: 100, duplicates: 0, deadLettered: 0, retries: 0 });
  assert.deepEqual(await sink.send(batch), { indexed: 0, duplicates: 100, deadLettered: 0, retries: 0 });
  const store = sink.store!;
  assert.equal(await countDocuments(store, { model: 'fraud' }), 100);
  // Long tables hold rows of the first delivery only.
  const [v] = await store.all<{ n: number }>('SELECT count(*) AS n FROM prediction_values');
  assert.equal(v!.n, 100 * 6);
  assert.equal(await metric('driftbeat_documents_indexed_total'), before.indexed + 100);
  assert.equal(await metric('driftbeat_documents_duplicate_total'), before.dup + 100);
});

test('overlapping batches and repeats inside one batch count as duplicates', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  assert.deepEqual(await sink.send(makeBatch(0, 60)), { indexed: 60, duplicates: 0, deadLettered: 0, retries: 0 });
  const overlap = makeBatch(40, 100);
  overlap.events.push(...makeBatch(90, 95).events); // repeated within the batch
  assert.deepEqual(await sink.send(overlap), { indexed: 40, duplicates: 25, deadLettered: 0, retries: 0 });
  const store = sink.store!;
  assert.equal(await countDocuments(store, { model: 'fraud' }), 100);
  // Every stored document has exactly its own long rows: no row of a duplicate slipped in.
  const perDoc = await store.all<{ n: number; c: number }>(
    `SELECT count(*) AS n, count(DISTINCT event_id) AS c FROM prediction_values WHERE name = 'age'`,
  );
  assert.deepEqual(perDoc, [{ n: 100, c: 100 }]);
  const text = await store.all<{ n: number }>('SELECT count(*) AS n FROM prediction_text');
  assert.equal(text[0]!.n, 100);
});

test('batches in flight at once (the pipeline sends up to max_in_flight): overlapping ids are stored once', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  await sink.start();
  // A re-read after a crash sends the same lines again while later batches are already in flight.
  const reports = await Promise.all([sink.send(makeBatch(0, 300)), sink.send(makeBatch(200, 500)), sink.send(makeBatch(0, 500)), sink.send(makeBatch(450, 600))]);
  assert.equal(reports.reduce((a, r) => a + r.indexed, 0), 600);
  assert.equal(reports.reduce((a, r) => a + r.indexed + r.duplicates, 0), 300 + 300 + 500 + 150);
  const [n] = await sink.store!.all<{ n: number; ids: number }>('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM predictions');
  assert.deepEqual(n, { n: 600, ids: 600 });
});

test('the same id under another model is a different document', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  await sink.send(makeBatch(0, 10, 'fraud'));
  const r = await sink.send(makeBatch(0, 10, 'churn'));
  assert.equal(r.indexed, 10);
  const models = await listModels(sink.store!);
  assert.deepEqual(models.map((m) => [m.model, m.documents]), [['churn', 10], ['fraud', 10]]);
});

test('after a restart (close and reopen the file) stored ids are still duplicates', async (t) => {
  const path = tempDb(t);
  const first = new EmbeddedSink({ path });
  await first.send(makeBatch(0, 50));
  await first.stop();
  await first.stop(); // safe twice

  const second = new EmbeddedSink({ path });
  t.after(() => second.stop());
  assert.deepEqual(await second.send(makeBatch(25, 75)), { indexed: 25, duplicates: 25, deadLettered: 0, retries: 0 });
  assert.equal(await countDocuments(second.store!, { model: 'fraud' }), 75);
});

test('long tables: numbers in num, strings and booleans in str, missing names, text stats', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  const doc = makeDoc(0, {
    features: { age: 42, income: 1e12, country: 'de', vip: true, 'geo.city': 'Köln', zip: '01234' },
    prediction: { value: 0.875 },
    missing: ['height', 'prediction.label'],
    text: {
      comment: { content: 'a b c', token_count: 3, oov_count: 2, oov_tokens: ['b', 'c'] },
      title: { content: 'x', token_count: 1 },
    },
  });
  await sink.send({ events: [{ id: doc.event.id, doc, bytes: 1 }], bytes: 1 });
  const store = sink.store!;
  const values = await store.all('SELECT kind, name, num, str FROM prediction_values ORDER BY kind, name');
  assert.deepEqual(values, [
    { kind: 'feature', name: 'age', num: 42, str: null },
    { kind: 'feature', name: 'country', num: null, str: 'de' },
    { kind: 'feature', name: 'geo.city', num: null, str: 'Köln' },
    { kind: 'feature', name: 'income', num: 1e12, str: null },
    { kind: 'feature', name: 'vip', num: null, str: 'true' },
    { kind: 'feature', name: 'zip', num: null, str: '01234' },
    { kind: 'prediction', name: 'value', num: 0.875, str: null },
  ]);
  const missing = await store.all('SELECT kind, name FROM prediction_missing ORDER BY name');
  assert.deepEqual(missing, [
    { kind: 'feature', name: 'height' },
    { kind: 'prediction', name: 'prediction.label' },
  ]);
  const text = await store.all('SELECT name, token_count, oov_count, oov_tokens FROM prediction_text ORDER BY name');
  assert.deepEqual(text, [
    { name: 'comment', token_count: 3, oov_count: 2, oov_tokens: ['b', 'c'] },
    { name: 'title', token_count: 1, oov_count: null, oov_tokens: null },
  ]);
  // Every long row carries the document's model, version and time for filter-only queries.
  const keys = await store.all(`SELECT DISTINCT model_name, event_id, ts, model_version FROM prediction_values`);
  assert.deepEqual(keys, [{ model_name: 'fraud', event_id: 'ev-0', ts: '2024-05-01T12:00:00.000Z', model_version: '1.4.2' }]);
  const row = await store.all(`SELECT labels['region'] AS region, host, file_path, file_offset, duration_ns, ingested FROM predictions`);
  assert.deepEqual(row, [
    { region: 'eu', host: 'host-a', file_path: '/var/log/model/predictions.jsonl', file_offset: 0, duration_ns: 1_500_000, ingested: '2024-05-01T13:00:00.000Z' },
  ]);
});

test('list-valued features are one long row per element; class probabilities are prediction values', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  const doc = makeDoc(0, {
    features: { tags: ['vip', 'new'], scores: [0.5, 0.5, 2], age: 3 },
    prediction: { 'proba.neg': 0.25, 'proba.pos': 0.75, value: 'pos' },
    missing: [],
  });
  await sink.send({ events: [{ id: doc.event.id, doc, bytes: 1 }], bytes: 1 });
  const values = await sink.store!.all('SELECT kind, name, num, str FROM prediction_values ORDER BY kind, name, num, str');
  assert.deepEqual(values, [
    { kind: 'feature', name: 'age', num: 3, str: null },
    { kind: 'feature', name: 'scores', num: 0.5, str: null },
    { kind: 'feature', name: 'scores', num: 0.5, str: null },
    { kind: 'feature', name: 'scores', num: 2, str: null },
    { kind: 'feature', name: 'tags', num: null, str: 'new' },
    { kind: 'feature', name: 'tags', num: null, str: 'vip' },
    { kind: 'prediction', name: 'proba.neg', num: 0.25, str: null },
    { kind: 'prediction', name: 'proba.pos', num: 0.75, str: null },
    { kind: 'prediction', name: 'value', num: null, str: 'pos' },
  ]);
});

test('timestamps round-trip, offsets become UTC, windows are closed-open', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  const stamps = ['2024-05-01T10:00:00.000Z', '2024-05-01T12:30:00.123456+02:00', '2024-05-01T11:00:00Z', '2024-05-01T12:00:00.5Z'];
  const events = stamps.map((ts, i) => {
    const doc = makeDoc(i, { '@timestamp': ts });
    return { id: doc.event.id, doc, bytes: 1 };
  });
  await sink.send({ events, bytes: 4 });
  const store = sink.store!;
  const rows = await store.all<{ event_id: string; ts: string }>('SELECT event_id, ts FROM predictions ORDER BY ts');
  assert.deepEqual(rows, [
    { event_id: 'ev-0', ts: '2024-05-01T10:00:00.000Z' },
    { event_id: 'ev-2', ts: '2024-05-01T11:00:00.000Z' },
    { event_id: 'ev-3', ts: '2024-05-01T12:00:00.500Z' },
    { event_id: 'ev-1', ts: '2024-05-01T10:30:00.123456Z' },
  ].sort((a, b) => a.ts.localeCompare(b.ts)));
  // The document itself is returned exactly as sent, offset included.
  const docs = await queryDocuments(store, { model: 'fraud', from: '2024-05-01T10:00:00Z', to: new Date('2024-05-01T11:00:00Z') });
  assert.deepEqual(docs.map((d) => d['@timestamp']), ['2024-05-01T10:00:00.000Z', '2024-05-01T12:30:00.123456+02:00']);
  assert.deepEqual(docs[0], events[0]!.doc);
  assert.equal(await countDocuments(store, { model: 'fraud', from: '2024-05-01T11:00:00Z' }), 2);
  const last = await queryDocuments(store, { model: 'fraud', order: 'desc', limit: 1 });
  assert.equal(last[0]!.event.id, 'ev-3');
  const hours = await store.all(`SELECT date_trunc('hour', ts) AS h, count(*) AS n FROM predictions GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(hours, [
    { h: '2024-05-01T10:00:00.000Z', n: 2 },
    { h: '2024-05-01T11:00:00.000Z', n: 1 },
    { h: '2024-05-01T12:00:00.000Z', n: 1 },
  ]);
});

test('documents without a usable timestamp go to the dead letter, the rest are stored', async (t) => {
  const entries: DeadLetterEntry[] = [];
  const sink = new EmbeddedSink({ path: tempDb(t), deadLetter: { write: (e) => entries.push(e) } });
  t.after(() => sink.stop());
  const bad = makeDoc(1, { '@timestamp': 'yesterday-ish' });
  const good = makeDoc(2);
  const r = await sink.send({ events: [{ id: bad.event.id, doc: bad, bytes: 1 }, { id: good.event.id, doc: good, bytes: 1 }], bytes: 2 });
  assert.deepEqual(r, { indexed: 1, duplicates: 0, deadLettered: 1, retries: 0 });
  assert.equal(entries.length, 1);
  assert.match(entries[0]!.reason, /ev-1: @timestamp "yesterday-ish" is not a valid time/);
  assert.equal(entries[0]!.file, '/var/log/model/predictions.jsonl');
  assert.equal(entries[0]!.offset, 200);
});

test('a document DuckDB cannot store is dead-lettered alone with the reason; the rest of the batch is stored', async (t) => {
  const entries: DeadLetterEntry[] = [];
  const sink = new EmbeddedSink({ path: tempDb(t), deadLetter: { write: (e) => entries.push(e) } });
  t.after(() => sink.stop());
  const batch = makeBatch(0, 40);
  // issue 11: epoch microseconds read as milliseconds -> the year 58889, which DuckDB refuses
  batch.events[7]!.doc['@timestamp'] = new Date(1796193000000000).toISOString();
  // a latency no BIGINT holds
  batch.events[30]!.doc.event.duration = 1e30;
  const r = await sink.send(batch);
  assert.deepEqual(r, { indexed: 38, duplicates: 0, deadLettered: 2, retries: 0 });
  assert.equal(await countDocuments(sink.store!, { model: 'fraud' }), 38);
  assert.deepEqual(entries.map((e) => e.offset), [7 * 200, 30 * 200]);
  assert.match(entries[0]!.reason, /^output "embedded" could not store document ev-7: .*Conversion Error/);
  assert.match(entries[1]!.reason, /^output "embedded" could not store document ev-30: /);
  assert.equal(entries[0]!.model, 'fraud');
  const [v] = await sink.store!.all<{ n: number }>('SELECT count(DISTINCT event_id) AS n FROM prediction_values');
  assert.equal(v!.n, 38, 'no long-table row of a dead-lettered document');
  // the sink goes on: the next batch is stored as usual
  assert.equal((await sink.send(makeBatch(40, 50))).indexed, 10);
});

test('a file of schema version 1 (PRIMARY KEY) is migrated: its documents kept, still duplicates when sent again', async (t) => {
  const path = tempDb(t);
  const v1 = await DuckDBInstance.create(path);
  const con = await v1.connect();
  await con.run(DOCUMENT_MIGRATIONS[0]!);
  await con.run(`CREATE TABLE schema_version (component VARCHAR PRIMARY KEY, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL);
                 INSERT INTO schema_version VALUES ('documents', 1, now())`);
  const old = makeDoc(3);
  await con.run(`INSERT INTO predictions VALUES ('fraud', 'ev-3', '${old['@timestamp']}', '1.4.2', NULL, 'host-a', NULL, 600, NULL, NULL, '${JSON.stringify(old)}')`);
  con.closeSync();
  v1.closeSync();

  const sink = new EmbeddedSink({ path });
  t.after(() => sink.stop());
  await sink.start();
  const [v] = await sink.store!.all<{ version: number }>(`SELECT version FROM schema_version WHERE component = 'documents'`);
  assert.equal(v!.version, 2);
  assert.deepEqual(await sink.send(makeBatch(0, 5)), { indexed: 4, duplicates: 1, deadLettered: 0, retries: 0 });
  assert.equal(await countDocuments(sink.store!, { model: 'fraud' }), 5);
  // the same id at another time is another record (a re-read line has its own timestamp)
  const later = makeDoc(3, { '@timestamp': '2024-05-02T00:00:00.000Z' });
  assert.equal((await sink.send({ events: [{ id: later.event.id, doc: later, bytes: 1 }], bytes: 1 })).indexed, 1);
});

test('a store shared with the sink sees each batch once send() resolves, and stays open after stop()', async (t) => {
  const store = await openStore(tempDb(t));
  t.after(() => store.close());
  const sink = new EmbeddedSink({ store });
  await sink.send(makeBatch(0, 10));
  assert.equal(await countDocuments(store, { model: 'fraud' }), 10);
  await sink.stop();
  assert.equal(await countDocuments(store, { model: 'fraud' }), 10);
  await assert.rejects(sink.send(makeBatch(10, 11)), (e: unknown) => e instanceof SinkError && e.permanent);
});

test('a permanent failure rejects with a SinkError and stores nothing of the batch', async (t) => {
  const store = await openStore(tempDb(t));
  t.after(() => store.close());
  const sink = new EmbeddedSink({ store });
  await sink.start();
  // Simulates a broken file: the long table the sink writes into is gone.
  await store.run('DROP TABLE prediction_text');
  await assert.rejects(sink.send(makeBatch(0, 5)), (e: unknown) => {
    assert.ok(e instanceof SinkError);
    assert.equal(e.permanent, true);
    assert.match(e.message, /prediction_text/);
    return true;
  });
  assert.equal(await countDocuments(store, { model: 'fraud' }), 0, 'the transaction rolled back');
});

test('50k documents in batches of 5000 are all stored', async (t) => {
  const sink = new EmbeddedSink({ path: tempDb(t) });
  t.after(() => sink.stop());
  let indexed = 0;
  for (let i = 0; i < 50_000; i += 5000) indexed += (await sink.send(makeBatch(i, i + 5000))).indexed;
  assert.equal(indexed, 50_000);
  const store = sink.store!;
  assert.equal(await countDocuments(store, { model: 'fraud' }), 50_000);
  const [m] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM prediction_missing WHERE name = 'income'`);
  assert.equal(m!.n, 12_500);
});
