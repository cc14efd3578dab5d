import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testEngine } from '../../test/support/engine.ts';
import { ElasticsearchOutputSchema, InputSchema } from '../config/schema.ts';
import { EngineClient } from '../engine/client.ts';
import { buildReference } from './build.ts';
import { referenceDocId, type ReferenceProfile } from './profile.ts';
import { ElasticsearchReferenceStore } from './store-elasticsearch.ts';
import { csvRows, writeCsv } from '../../test/fixtures/training-csv.ts';
import { workspace } from '../../test/support/workspace.ts';

const dir = workspace('reference-es');

const engine = await testEngine();
const clientFor = () => new EngineClient(ElasticsearchOutputSchema.parse({ hosts: [engine.url] }));
const doc = async (index: string, id: string) => {
  const r = await engine.request('GET', `/${index}/_doc/${encodeURIComponent(id)}`);
  return r.status === 200 ? (r.body as { _source: Record<string, unknown> })._source : undefined;
};

const input = InputSchema.parse({ paths: ['x'], model: { name: 'fraud' }, fields: { id: 'request_id', text: ['note'] } });

async function built(version: string, at: string): Promise<ReferenceProfile> {
  const path = join(dir, 'train.csv');
  writeCsv(path, csvRows());
  return buildReference({ input, model: 'fraud', version, dataPath: path, now: () => new Date(at) });
}

test('one document per field in <prefix>-reference with terms-lookup arrays, visible at once; get and list read them back', async (t) => {
  const prefix = engine.prefix(t);
  const client = clientFor();
  try {
    const store = new ElasticsearchReferenceStore(client, { indexPrefix: prefix });
    assert.equal(await store.get('fraud'), undefined, 'no index yet: no profile');
    assert.deepEqual(await store.list(), []);

    const v1 = await built('1.0', '2024-06-01T00:00:00.000Z');
    const v2 = await built('2.0', '2024-07-01T00:00:00.000Z');
    await store.save(v1);
    await store.save(v2);

    // Searchable right after save (refresh=wait_for): a rule run after `reference build` sees it.
    const count = await engine.request('GET', `/${prefix}-reference/_count`);
    assert.equal(count.body.count, v1.fields.length * 2);
    const src = (await doc(`${prefix}-reference`, referenceDocId('fraud', '1.0', 'features.country')))!;
    assert.equal(referenceDocId('fraud', '1.0', 'features.country'), 'fraud@1.0:features.country');
    assert.deepEqual(src.category_values, ['DE', 'FR', 'US']);
    assert.equal(src.missing_share, 0.4);
    assert.equal(src.kind, 'feature');
    assert.equal(src.type, 'cat');
    assert.equal(src.distinct_count, 3);
    const note = (await doc(`${prefix}-reference`, 'fraud@1.0:text.note'))!;
    assert.ok((note.vocabulary_tokens as string[]).includes('declined'));
    const amount = (await doc(`${prefix}-reference`, 'fraud@1.0:features.amount')) as { numeric: { mean: number } };
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
    assert.equal(await doc(`${prefix}-reference`, 'fraud@1.0:text.note'), undefined);
    assert.deepEqual(await store.get('fraud', '1.0'), smaller);
  } finally {
    await client.close();
  }
});

test('a document the engine refuses is an error naming the document, the engine\'s reason and the index', async (t) => {
  const prefix = engine.prefix(t);
  // An index made by hand with a stricter mapping than ours: shares of missing values must be integers.
  await engine.request('PUT', `/${prefix}-reference`, { mappings: { properties: { missing_share: { type: 'integer', coerce: false } } } });
  const client = clientFor();
  try {
    const store = new ElasticsearchReferenceStore(client, { indexPrefix: prefix });
    await assert.rejects(store.save(await built('1.0', '2024-06-01T00:00:00.000Z')), (e: Error & { code?: string }) =>
      e.code === 'ERR_REFERENCE_STORE' && /"fraud@1\.0:features\.\w+"/.test(e.message) && /mapper_parsing_exception|document_parsing_exception/.test(e.message) && e.message.includes(`${prefix}-reference`));
  } finally {
    await client.close();
  }
});
