import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBatch, timestampText } from './encode.ts';
import { classifyStoreError } from './retry.ts';
import { EmbeddedStoreError } from './store.ts';
import { makeBatch, makeDoc } from '../../../demo/documents.ts';

test('encodeBatch keeps the first of repeated ids and counts the rest', async () => {
  const batch = makeBatch(0, 3);
  batch.events.push(batch.events[1]!, batch.events[1]!);
  const out = await encodeBatch(batch.events);
  assert.deepEqual(out.rows.map((r) => r.event_id), ['ev-0', 'ev-1', 'ev-2']);
  assert.equal(out.duplicatesInBatch, 2);
  assert.deepEqual(out.rejected, []);
});

test('encodeBatch takes the columns and the JSON parts out of the document', async () => {
  const doc = makeDoc(3);
  const [row] = (await encodeBatch([{ id: doc.event.id, doc, bytes: 1 }])).rows;
  assert.deepEqual(row, {
    model_name: 'fraud',
    event_id: 'ev-3',
    ts: '2024-05-01T12:00:03.000Z',
    model_version: '1.4.2',
    ingested: '2024-05-01T13:00:00.000Z',
    host: 'host-a',
    file_path: '/var/log/model/predictions.jsonl',
    file_offset: 600,
    duration_ns: 1_500_003,
    labels: '{"region":"us"}',
    features: JSON.stringify(doc.features),
    prediction: JSON.stringify(doc.prediction),
    missing: '[]',
    text: JSON.stringify(doc.text),
    doc: JSON.stringify(doc),
  });
});

test('encodeBatch rejects documents without model, id or usable timestamp', async () => {
  const noModel = makeDoc(1, { model: { name: '' } });
  const badTs = makeDoc(2, { '@timestamp': 'not a time' });
  const out = await encodeBatch([
    { id: 'x', doc: noModel, bytes: 1 },
    { id: '', doc: makeDoc(3), bytes: 1 },
    { id: 'y', doc: badTs, bytes: 1 },
  ]);
  assert.equal(out.rows.length, 0);
  assert.deepEqual(out.rejected.map((r) => r.reason), [
    'document has no model.name',
    'document has no event id',
    'document y: @timestamp "not a time" is not a valid time',
  ]);
});

test('timestampText passes ISO text through and renders other parseable times as ISO', () => {
  assert.equal(timestampText('2024-05-01T12:00:00.123456+02:00'), '2024-05-01T12:00:00.123456+02:00');
  assert.equal(timestampText('2024-05-01'), '2024-05-01');
  assert.equal(timestampText('Wed, 01 May 2024 12:00:00 GMT'), '2024-05-01T12:00:00.000Z');
  assert.equal(timestampText(1_714_564_800_000), '2024-05-01T12:00:00.000Z');
  assert.equal(timestampText('2024-13-01T00:00:00Z'), undefined);
  assert.equal(timestampText(''), undefined);
  assert.equal(timestampText(Number.NaN), undefined);
});

test('DuckDB failures: conflicts and memory pressure are retried; disk full, corruption and SQL errors are not', () => {
  const wrapped = (msg: string) => new EmbeddedStoreError('ERR_EMBEDDED_SQL', '/x.duckdb', 'embedded store', { cause: new Error(msg) });
  assert.equal(classifyStoreError(wrapped('TransactionContext Error: Catalog write-write conflict on create')), 'transient');
  assert.equal(classifyStoreError(wrapped('Out of Memory Error: failed to allocate data of size 1.0 MiB')), 'transient');
  assert.equal(classifyStoreError(wrapped('IO Error: Could not write file "x.wal": No space left on device')), 'permanent');
  assert.equal(classifyStoreError(wrapped('FATAL Error: database has been invalidated because of a previous fatal error')), 'permanent');
  assert.equal(classifyStoreError(wrapped('IO Error: file is corrupt')), 'permanent');
  assert.equal(classifyStoreError(wrapped('Catalog Error: Table with name prediction_text does not exist!')), 'permanent');
});

test('encodeBatch yielding at every check gives what it gives in one go', async () => {
  const batch = makeBatch(0, 3000);
  // Repeats and a document without a model among them, after the first yield.
  batch.events.push(batch.events[10]!, batch.events[2999]!, { ...batch.events[5]!, id: 'x', doc: { ...batch.events[5]!.doc, model: { name: '', version: '1' } } });
  let turned = false;
  setImmediate(() => (turned = true));
  const yielded = await encodeBatch(batch.events, 0);
  assert.ok(turned, 'the event loop had a turn while the batch was encoded');
  assert.deepEqual(yielded, await encodeBatch(batch.events, Infinity));
  assert.equal(yielded.rows.length, 3000);
  assert.equal(yielded.duplicatesInBatch, 2);
  assert.equal(yielded.rejected.length, 1);
});
