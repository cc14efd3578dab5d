import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { InputSchema } from '../config/schema.ts';
import { tokenize } from '../normalize/tokenize.ts';
import { buildReference, buildReferenceDetailed, vocabularySql } from './build.ts';
import { MAX_SAMPLE, type FieldProfile, type ReferenceProfile } from './profile.ts';
import { createProgressReporter } from './progress.ts';
import { csvRows, writeCsv } from '../../test/fixtures/training-csv.ts';
import { workspace } from '../../test/support/workspace.ts';

const dir = workspace('reference-build');

/**
 * Expected numbers for csvRows(), computed independently with numpy 2.4.6 on the CSV that
 * writeCsv(csvRows()) writes:
 *
 *   import csv, math, numpy as np
 *   NA = {'', 'NA', 'N/A', 'NaN', 'null', 'None'}
 *   rows = list(csv.DictReader(open('train.csv', newline='')))
 *   for col in ['amount', 'score']:
 *       a = np.array([x for x in (float(r[col]) for r in rows if r[col] not in NA) if math.isfinite(x)])
 *       print(col, len(a), len(rows) - len(a), len(set(a)), a.min(), a.max(), a.mean(), a.std(ddof=0),
 *             np.percentile(a, [1, 5, 25, 50, 75, 95, 99]))   # linear interpolation
 */
const EXPECTED = {
  amount: {
    n: 52, missing: 8, distinct: 52, min: 0.0, max: 25.0, mean: 12.927884615384615, std: 7.151912153279349,
    quantiles: { '1': 0.765, '5': 2.0250000000000004, '25': 6.6875, '50': 12.375, '75': 19.3125, '95': 24.112499999999997, '99': 24.745 },
  },
  score: {
    n: 60, missing: 0, distinct: 50, min: 0.0, max: 0.98, mean: 0.47, std: 0.29045940622859273,
    quantiles: { '1': 0.0, '5': 0.03900000000000001, '25': 0.235, '50': 0.47, '75': 0.725, '95': 0.9209999999999999, '99': 0.9682 },
  },
};

const input = InputSchema.parse({ paths: ['/var/log/x.jsonl'], model: { name: 'fraud' }, fields: { id: 'request_id', text: ['note'] } });

function field(p: ReferenceProfile, name: string): FieldProfile {
  const f = p.fields.find((x) => x.field === name);
  assert.ok(f, `field ${name} in ${p.fields.map((x) => x.field).join(', ')}`);
  return f;
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);
}

function vocabularyOf(texts: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts) for (const tok of tokenize(t)) m.set(tok, (m.get(tok) ?? 0) + 1);
  return m;
}

// ---------------------------------------------------------------------------------------------

test('CSV, flat layout: types, counts, every NA form, categories, numeric summary as numpy, vocabulary as tokenize()', async () => {
  const rows = csvRows();
  const path = join(dir, 'train.csv');
  writeCsv(path, rows);
  const r = await buildReferenceDetailed({ input, model: 'fraud', version: '1.4.2', dataPath: path, now: () => new Date('2024-06-01T00:00:00Z') });
  const p = r.profile;
  assert.equal(r.layout, 'flat');
  assert.deepEqual(p.source, { path, rows: 60, format: 'csv' });
  assert.equal(p.built_at, '2024-06-01T00:00:00.000Z');
  // timestamp and the id field are not features; score and label are the predictions.
  assert.deepEqual(
    p.fields.map((f) => [f.field, f.kind, f.type]),
    [
      ['features.amount', 'feature', 'num'],
      ['features.country', 'feature', 'cat'],
      ['features.is_new', 'feature', 'bool'],
      ['text.note', 'text', 'text'],
      ['prediction.score', 'prediction', 'num'],
      ['prediction.label', 'prediction', 'cat'],
    ],
  );

  for (const name of ['amount', 'score'] as const) {
    const f = field(p, name === 'amount' ? 'features.amount' : 'prediction.score');
    const e = EXPECTED[name];
    assert.equal(f.count, 60);
    assert.equal(f.missing_count, e.missing, `${name} missing`);
    close(f.missing_share, e.missing / 60, `${name} missing_share`);
    assert.equal(f.distinct_count, e.distinct);
    const s = f.numeric!;
    close(s.min, e.min, 'min');
    close(s.max, e.max, 'max');
    close(s.mean, e.mean, 'mean');
    close(s.std, e.std, 'std');
    for (const [q, v] of Object.entries(e.quantiles)) close(s.quantiles[q]!, v, `${name} q${q}`);
    // Fewer values than MAX_SAMPLE: the sample is every value, sorted.
    assert.equal(f.sampled, false);
    assert.equal(f.sample!.length, e.n);
    assert.deepEqual(f.sample, [...f.sample!].sort((a, b) => a - b));
    assert.equal(f.categories, undefined, 'more than 20 distinct numbers: no category counts');
  }

  const country = field(p, 'features.country');
  assert.equal(country.missing_count, 24); // '', 'NA', 'N/A', 'None'
  assert.equal(country.distinct_count, 3);
  assert.deepEqual(country.categories, [{ value: 'DE', count: 18 }, { value: 'FR', count: 12 }, { value: 'US', count: 6 }]);

  const isNew = field(p, 'features.is_new');
  assert.equal(isNew.missing_count, 20);
  assert.deepEqual(isNew.categories, [{ value: 'false', count: 20 }, { value: 'true', count: 20 }]);

  const label = field(p, 'prediction.label');
  assert.deepEqual(label.categories?.map((c) => c.value).sort(), ['fraud', 'ok']);
  assert.equal(label.categories!.reduce((n, c) => n + c.count, 0), 60);

  const note = field(p, 'text.note');
  assert.equal(note.missing_count, 17); // '' and 'NA'
  const texts = rows.map((x) => x.note!).filter((t) => t !== '' && t !== 'NA');
  const want = vocabularyOf(texts);
  assert.deepEqual(new Map(note.vocabulary!.map((v) => [v.token, v.count])), want);
  assert.equal(note.token_count, [...want.values()].reduce((a, b) => a + b, 0));
  assert.ok(note.vocabulary!.some((v) => v.token === 'dont') && note.vocabulary!.some((v) => v.token === 'caf'), 'Evidently tokenizer: punctuation and non-ASCII deleted');
  // Most frequent first.
  for (let i = 1; i < note.vocabulary!.length; i++) assert.ok(note.vocabulary![i - 1]!.count >= note.vocabulary![i]!.count);
});

test('JSON lines, logs layout: nested features unnested, scalar-or-string values, other models left out', async () => {
  const path = join(dir, 'logs.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const features: Record<string, unknown> = {
      // Mixed numbers, numeric strings and NA strings: DuckDB reads JSON; the profile says num.
      amount: i % 8 === 1 ? 'NA' : i % 8 === 2 ? null : i % 8 === 3 ? `${i}.5` : i,
      geo: { city: i % 4 === 0 ? 'Berlin' : i % 4 === 1 ? 'Paris' : i % 4 === 2 ? '' : 'Rome' },
      customer_note: i % 5 === 0 ? 'Where is my ORDER?' : 'thanks, all good',
    };
    if (i % 10 === 9) delete features.amount; // absent key: NA too
    const prediction = { score: i / 40, label: i % 2 ? 'fraud' : 'ok' };
    lines.push(JSON.stringify({ timestamp: 1714521600 + i, model_name: 'fraud', features, prediction }));
  }
  // Another model in the same file: not part of fraud's reference.
  for (let i = 0; i < 7; i++) lines.push(JSON.stringify({ timestamp: 1714521600, model_name: 'churn', features: { amount: 1000, geo: { city: 'Oslo' } }, prediction: { score: 1, label: 'x' } }));
  writeFileSync(path, lines.join('\n') + '\n');
  const logsInput = InputSchema.parse({ paths: ['x'], model: { name_field: 'model_name' }, fields: { text: ['customer_note'] } });

  const r = await buildReferenceDetailed({ input: logsInput, model: 'fraud', version: '2', dataPath: path });
  const p = r.profile;
  assert.equal(r.layout, 'logs');
  assert.equal(p.source.rows, 40);
  assert.deepEqual(p.fields.map((f) => `${f.field}:${f.type}`), [
    'features.amount:num',
    'features.geo.city:cat',
    'text.customer_note:text',
    'prediction.score:num',
    'prediction.label:cat',
  ]);
  const amount = field(p, 'features.amount');
  let missing = 0;
  const values: number[] = [];
  for (let i = 0; i < 40; i++) {
    if (i % 10 === 9 || i % 8 === 1 || i % 8 === 2) missing++;
    else values.push(i % 8 === 3 ? i + 0.5 : i);
  }
  assert.equal(amount.missing_count, missing);
  assert.deepEqual(amount.sample, values.sort((a, b) => a - b));
  close(amount.numeric!.mean, values.reduce((a, b) => a + b, 0) / values.length, 'mean');
  const city = field(p, 'features.geo.city');
  assert.equal(city.missing_count, 10);
  assert.deepEqual(city.categories, [{ value: 'Berlin', count: 10 }, { value: 'Paris', count: 10 }, { value: 'Rome', count: 10 }]);
  assert.ok(!city.categories!.some((c) => c.value === 'Oslo'));
  const note = field(p, 'text.customer_note');
  assert.deepEqual(new Map(note.vocabulary!.map((v) => [v.token, v.count])), new Map([['thanks', 32], ['all', 32], ['good', 32], ['where', 8], ['is', 8], ['my', 8], ['order', 8]]));
  assert.equal(field(p, 'prediction.label').distinct_count, 2);
});

test('Parquet with NaN/±Inf/NULL: a seeded, bounded, repeatable reference sample above MAX_SAMPLE; per-value counts of low-cardinality numbers', async () => {
  const path = join(dir, 'train.parquet');
  const n = 25_000;
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`COPY (
    SELECT i AS id,
      CASE WHEN i % 100 = 1 THEN 'NaN'::DOUBLE WHEN i % 100 = 2 THEN 'inf'::DOUBLE WHEN i % 100 = 3 THEN '-inf'::DOUBLE WHEN i % 100 = 4 THEN NULL ELSE (i % 5000)::DOUBLE END AS x,
      (i % 7)::INTEGER AS n_items,
      i % 2 = 0 AS flag,
      (i % 1000)::DOUBLE / 1000 AS score
    FROM range(${n}) r(i)) TO '${path}' (FORMAT parquet)`);
  c.closeSync();
  inst.closeSync();
  const flat = InputSchema.parse({ paths: ['x'], model: { name: 'm' }, fields: { id: 'id' } });
  const lines: string[] = [];
  const progress = createProgressReporter({ stream: { write: (s: string) => (lines.push(s), true) }, bar: false });
  const p = await buildReference({ input: flat, model: 'm', version: '1', dataPath: path, progress });
  assert.ok(lines.includes(`reference: reading ${path}\n`) && lines.includes('reference: reference samples\n'), lines.join(''));

  const x = field(p, 'features.x');
  assert.equal(x.missing_count, 4 * (n / 100));
  assert.equal(x.distinct_count, 5000 - 4 * 50); // residues r of 5000 with r % 100 in 1..4 are always NA
  assert.equal(x.sampled, true);
  assert.equal(x.sample!.length, MAX_SAMPLE);
  assert.ok(x.sample!.every((v) => Number.isInteger(v) && v >= x.numeric!.min && v <= x.numeric!.max));
  assert.ok(x.sample!.every((v) => v % 100 < 1 || v % 100 > 4), 'no NA row in the sample');
  const again = await buildReference({ input: flat, model: 'm', version: '1', dataPath: path });
  assert.deepEqual(field(again, 'features.x').sample, x.sample, 'same file, same seed: same sample');
  const other = await buildReference({ input: flat, model: 'm', version: '1', dataPath: path, seed: 7 });
  assert.notDeepEqual(field(other, 'features.x').sample, x.sample, 'another seed: another sample');

  const items = field(p, 'features.n_items');
  assert.equal(items.type, 'num');
  assert.equal(items.categories!.length, 7);
  assert.deepEqual(items.categories![0], { value: '0', count: Math.ceil(n / 7) });
  assert.equal(items.categories!.reduce((a, b) => a + b.count, 0), n);
  assert.deepEqual(field(p, 'features.flag').categories, [{ value: 'false', count: n / 2 }, { value: 'true', count: n / 2 }]);
  // `score` is a prediction by default in a flat file.
  assert.equal(field(p, 'prediction.score').kind, 'prediction');
  assert.ok(!p.fields.some((f) => f.field === 'features.id'));
});

test('the SQL tokenizer equals tokenize() on tricky text', async () => {
  const texts = [
    "Don't stop!!  Me now", 'tab\tjoins\nnewline', 'UPPER lower MiXeD 123 4a5', 'café naïve façade', '   ', 'a  b   c',
    'emoji 🎉 party', 'dash-separated_words and.dots', '"quoted" (paren) [br]', ' leading and trailing ', '', 'x',
  ];
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run('CREATE TABLE t (c VARCHAR)');
  for (const t of texts) await c.run('INSERT INTO t VALUES ($1)', [t]);
  const rows = (await c.runAndReadAll(vocabularySql('c', 't', 1000))).getRowObjectsJS();
  c.closeSync();
  inst.closeSync();
  const got = new Map(rows.map((r) => [String(r['token']), Number(r['n'])]));
  assert.deepEqual(got, vocabularyOf(texts));
  assert.equal(Number(rows[0]!['total']), texts.reduce((n, t) => n + tokenize(t).length, 0));
});

test('errors name the file and what to do', async () => {
  await assert.rejects(buildReference({ input, model: 'fraud', version: '1', dataPath: join(dir, 'nope.csv') }), (e: Error & { code?: string }) => e.code === 'ERR_REFERENCE_DATA' && /nope\.csv.*does not exist/.test(e.message));
  const odd = join(dir, 'train.xlsx');
  writeFileSync(odd, 'x');
  await assert.rejects(buildReference({ input, model: 'fraud', version: '1', dataPath: odd }), /--format csv\|jsonl\|parquet/);
  const path = join(dir, 'small.csv');
  writeCsv(path, csvRows().slice(0, 5));
  await assert.rejects(
    buildReference({ input, model: 'fraud', version: '1', dataPath: path, predictionColumns: ['proba'] }),
    (e: Error & { code?: string }) => e.code === 'ERR_REFERENCE_PREDICTIONS' && /"proba"/.test(e.message),
  );
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"features": 3}\n');
  await assert.rejects(buildReference({ input, model: 'fraud', version: '1', dataPath: bad }), /column "features".*expected an object/);
});
