import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InputSchema } from '../config/schema.ts';
import { openStore } from '../sinks/embedded/store.ts';
import { buildReference } from './build.ts';
import type { ReferenceProfile } from './profile.ts';
import { EmbeddedReferenceStore } from './store-embedded.ts';
import { csvRows, writeCsv } from '../../test/fixtures/training-csv.ts';
import { workspace } from '../../test/support/workspace.ts';

const dir = workspace('reference-embedded');

const input = InputSchema.parse({ paths: ['x'], model: { name: 'fraud' }, fields: { id: 'request_id', text: ['note'] } });

async function built(version: string, at: string): Promise<ReferenceProfile> {
  const path = join(dir, 'train.csv');
  writeCsv(path, csvRows());
  return buildReference({ input, model: 'fraud', version, dataPath: path, now: () => new Date(at) });
}

test('save, reopen the file, get the same profile back; latest version without --version; list', async () => {
  const file = join(dir, 'a', 'driftbeat.duckdb');
  const v1 = await built('1.0', '2024-06-01T00:00:00.000Z');
  const v2 = await built('2.0', '2024-07-01T00:00:00.000Z');
  let store = await EmbeddedReferenceStore.open(file);
  await store.save(v1);
  await store.save(v2);
  await store.close();
  await store.close(); // safe twice

  store = await EmbeddedReferenceStore.open(file);
  try {
    assert.deepEqual(await store.get('fraud', '1.0'), v1);
    assert.deepEqual(await store.get('fraud'), v2, 'no version: the most recently built');
    assert.equal(await store.get('fraud', '9.9'), undefined);
    assert.equal(await store.get('churn'), undefined);
    assert.deepEqual(await store.list(), [
      { model: 'fraud', version: '1.0', built_at: '2024-06-01T00:00:00.000Z' },
      { model: 'fraud', version: '2.0', built_at: '2024-07-01T00:00:00.000Z' },
    ]);
  } finally {
    await store.close();
  }
});

test('the tables rules join against in SQL; saving a version again replaces it whole', async () => {
  const file = join(dir, 'b.duckdb');
  const db = await openStore(file);
  const store = new EmbeddedReferenceStore(db);
  try {
    const v1 = await built('1.0', '2024-06-01T00:00:00.000Z');
    await store.save(v1);
    const cats = await db.all<{ field: string; value: string; count: number }>(
      "SELECT field, value, count FROM reference_categories WHERE model = 'fraud' AND version = '1.0' AND field = 'features.country' ORDER BY count DESC",
    );
    assert.deepEqual(cats.map((c) => [c.value, c.count]), [['DE', 18], ['FR', 12], ['US', 6]]);
    const fields = await db.all<{ field: string; kind: string; type: string; missing_share: number }>(
      "SELECT field, kind, type, missing_share FROM reference_fields WHERE model = 'fraud' ORDER BY position",
    );
    assert.deepEqual(fields.map((f) => f.field), v1.fields.map((f) => f.field));
    assert.equal(fields.find((f) => f.field === 'features.country')!.missing_share, 0.4);
    const vocab = await db.all<{ n: number; total: number }>("SELECT count(*) AS n, sum(count) AS total FROM reference_vocabulary WHERE field = 'text.note'");
    const note = v1.fields.find((f) => f.field === 'text.note')!;
    assert.deepEqual(vocab[0], { n: note.vocabulary!.length, total: note.token_count });
    const sample = await db.all<{ n: number }>("SELECT count(*) AS n FROM reference_sample WHERE field = 'features.amount'");
    assert.equal(sample[0]!.n, 52);
    // An unseen-category check is one anti-join:
    const unseen = await db.all<{ value: string }>(
      "SELECT v.value FROM (VALUES ('DE'), ('BR')) v(value) WHERE v.value NOT IN (SELECT value FROM reference_categories WHERE model = 'fraud' AND version = '1.0' AND field = 'features.country')",
    );
    assert.deepEqual(unseen, [{ value: 'BR' }]);

    // Rebuilt with fewer fields: the old rows go, nothing is left half-replaced.
    const smaller: ReferenceProfile = { ...v1, built_at: '2024-06-02T00:00:00.000Z', fields: v1.fields.filter((f) => f.field !== 'text.note') };
    await store.save(smaller);
    assert.deepEqual(await store.get('fraud', '1.0'), smaller);
    assert.deepEqual(await db.all("SELECT * FROM reference_vocabulary WHERE model = 'fraud'"), []);
  } finally {
    await db.close();
  }
});
