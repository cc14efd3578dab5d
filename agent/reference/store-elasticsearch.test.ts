import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEsServer } from '../../test/support/es-server.ts';
import { ElasticsearchOutputSchema, InputSchema } from '../config/schema.ts';
import { createElasticsearchClient } from '../sinks/elasticsearch/client.ts';
import { buildReference } from './build.ts';
import { referenceDocId, type ReferenceProfile } from './profile.ts';
import { ElasticsearchReferenceStore } from './store-elasticsearch.ts';
import { csvRows, writeCsv } from './testdata.ts';

const dir = mkdtempSync(join(tmpdir(), 'driftbeat-reference-es-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const input = InputSchema.parse({ paths: ['x'], model: { name: 'fraud' }, fields: { id: 'request_id', text: ['note'] } });

async function built(version: string, at: string): Promise<ReferenceProfile> {
  const path = join(dir, 'train.csv');
  writeCsv(path, csvRows());
  return buildReference({ input, model: 'fraud', version, dataPath: path, now: () => new Date(at) });
}

test('one document per field in <prefix>-reference, terms-lookup arrays, refresh=wait_for; get and list read them back', async () => {
  const es = await startEsServer();
  const client = createElasticsearchClient(ElasticsearchOutputSchema.parse({ hosts: [es.url] }));
  try {
    const store = new ElasticsearchReferenceStore(client, { indexPrefix: 'acme' });
    assert.equal(await store.get('fraud'), undefined, 'no index yet: no profile');
    assert.deepEqual(await store.list(), []);

    const v1 = await built('1.0', '2024-06-01T00:00:00.000Z');
    const v2 = await built('2.0', '2024-07-01T00:00:00.000Z');
    await store.save(v1);
    await store.save(v2);

    const bulk = es.requests.filter((r) => r.path === '/_bulk');
    assert.equal(bulk.length, 2);
    assert.equal(bulk[0]!.query.refresh, 'wait_for');
    const docs = es.docs('acme-reference');
    assert.equal(docs.length, v1.fields.length * 2);
    const country = es.doc('acme-reference', referenceDocId('fraud', '1.0', 'features.country'))!;
    assert.equal(country._id, 'fraud@1.0:features.country');
    const src = country._source;
    assert.deepEqual(src.category_values, ['DE', 'FR', 'US']);
    assert.equal(src.missing_share, 0.4);
    assert.equal(src.kind, 'feature');
    assert.equal(src.type, 'cat');
    assert.equal(src.distinct_count, 3);
    const note = es.doc('acme-reference', 'fraud@1.0:text.note')!._source;
    assert.ok((note.vocabulary_tokens as string[]).includes('declined'));
    const amount = es.doc('acme-reference', 'fraud@1.0:features.amount')!._source as { numeric: { mean: number } };
    assert.ok(Math.abs(amount.numeric.mean - 12.927884615384615) < 1e-9);

    assert.deepEqual(await store.get('fraud', '1.0'), v1);
    assert.deepEqual(await store.get('fraud'), v2, 'no version: the most recently built');
    assert.equal(await store.get('fraud', '3.0'), undefined);
    assert.deepEqual(await store.list(), [
      { model: 'fraud', version: '1.0', built_at: '2024-06-01T00:00:00.000Z' },
      { model: 'fraud', version: '2.0', built_at: '2024-07-01T00:00:00.000Z' },
    ]);

    // A rebuild with fewer fields deletes the documents of the fields that are gone.
    const smaller: ReferenceProfile = { ...v1, fields: v1.fields.filter((f) => f.field !== 'text.note') };
    await store.save(smaller);
    assert.equal(es.doc('acme-reference', 'fraud@1.0:text.note'), undefined);
    assert.deepEqual(await store.get('fraud', '1.0'), smaller);
  } finally {
    await client.close();
    await es.close();
  }
});

test('a refused document is an error naming the field and the index', async () => {
  const es = await startEsServer();
  const client = createElasticsearchClient(ElasticsearchOutputSchema.parse({ hosts: [es.url] }));
  try {
    es.faults.itemError((item) => (item.id === 'fraud@1.0:features.country' ? { status: 400, type: 'document_parsing_exception', reason: 'failed to parse' } : undefined));
    const store = new ElasticsearchReferenceStore(client);
    await assert.rejects(store.save(await built('1.0', '2024-06-01T00:00:00.000Z')), (e: Error & { code?: string }) =>
      e.code === 'ERR_REFERENCE_STORE' && /fraud@1\.0:features\.country/.test(e.message) && /document_parsing_exception/.test(e.message) && /driftbeat-reference/.test(e.message));
  } finally {
    await client.close();
    await es.close();
  }
});
