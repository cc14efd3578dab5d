import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InputSchema } from '../config/schema.ts';
import type { PredictionDocument } from '../normalize/document.ts';
import { createNormalizeContext, normalizeLine } from '../normalize/normalize.ts';
import { lookupReference } from '../normalize/reference-info.ts';
import { buildReference } from './build.ts';
import { loadReferenceInfo } from './load-info.ts';
import { EmbeddedReferenceStore } from './store-embedded.ts';
import { csvRows, writeCsv } from '../../test/fixtures/training-csv.ts';
import { workspace } from '../../test/support/workspace.ts';

const dir = workspace('reference-info');

test('the agent loads stored vocabularies and types: OOV counted at ingest, a version without a profile uses the latest', async () => {
  const input = InputSchema.parse({ paths: ['x'], model: { name: 'fraud', version_field: 'v' }, fields: { id: 'request_id', text: ['note'] } });
  const data = join(dir, 'train.csv');
  writeCsv(data, csvRows());
  const store = await EmbeddedReferenceStore.open(join(dir, 'db.duckdb'));
  try {
    await store.save(await buildReference({ input, model: 'fraud', version: '1.0', dataPath: data, now: () => new Date('2024-06-01T00:00:00Z') }));
    await store.save(await buildReference({ input, model: 'other', version: '1.0', dataPath: data }));
    assert.equal(await loadReferenceInfo(store, ['churn']), undefined, 'no profile for the model: no reference');

    const info = (await loadReferenceInfo(store, ['fraud']))!;
    assert.equal(lookupReference(info, 'other', '1.0'), undefined, 'only the models asked for');
    const exact = lookupReference(info, 'fraud', '1.0')!;
    assert.equal(exact.version, '1.0');
    assert.deepEqual([...exact.features], [['amount', 'num'], ['country', 'cat'], ['is_new', 'bool'], ['note', 'text']]);
    assert.deepEqual([...exact.predictions!], [['score', 'num'], ['label', 'cat']]);
    assert.ok(exact.vocabularies!.get('note')!.has('declined'));
    assert.equal(lookupReference(info, 'fraud', '7.7')?.version, undefined, 'a new version falls back to the model-wide (latest) profile');
    assert.ok(lookupReference(info, 'fraud', '7.7')!.vocabularies!.get('note')!.has('declined'));

    const ctx = createNormalizeContext(input, { hostName: 'h', reference: info });
    const line = JSON.stringify({ timestamp: '2024-06-02T00:00:00Z', request_id: 'a', v: '1.0', features: { amount: 3, note: 'Card declined: chargeback fraud!' }, prediction: { score: 0.4 } });
    const res = normalizeLine(line, { key: 'k', path: '/x.jsonl', offset: 0 }, ctx);
    assert.ok(res.ok, JSON.stringify(res));
    const doc = res.event.doc as PredictionDocument;
    assert.equal(doc.text!.note!.token_count, 4);
    assert.equal(doc.text!.note!.oov_count, 2);
    assert.deepEqual(doc.text!.note!.oov_tokens, ['chargeback', 'fraud']);
    // Listed in the reference and absent from the record: NA.
    assert.ok(doc.missing.includes('country'));
  } finally {
    await store.close();
  }
});
