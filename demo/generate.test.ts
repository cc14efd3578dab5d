import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputSchema } from '../agent/config/schema.ts';
import { createNormalizeContext, normalizeLine } from '../agent/normalize/normalize.ts';
import { createReferenceInfo, type FeatureType } from '../agent/normalize/reference-info.ts';
import { FEATURE_TYPES, MERCHANT_CATEGORIES, NOTE_WORDS, allDrift, generateLines, writeLines } from './generate.ts';

test('the same seed gives the same lines; another seed other lines', () => {
  assert.deepEqual(generateLines(200, { seed: 7 }), generateLines(200, { seed: 7 }));
  assert.notDeepEqual(generateLines(20, { seed: 7 }), generateLines(20, { seed: 8 }));
});

test('lines are realistic prediction records of a few hundred bytes that normalize cleanly', () => {
  const lines = generateLines(2000, { seed: 3 });
  const avg = lines.reduce((n, l) => n + Buffer.byteLength(l), 0) / lines.length;
  assert.ok(avg > 300 && avg < 420, `average ${avg} bytes`);
  const rec = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(rec), ['timestamp', 'request_id', 'model_version', 'features', 'prediction', 'latency_ms']);
  assert.deepEqual(Object.keys(rec.features).sort(), Object.keys(FEATURE_TYPES).sort());

  const input = InputSchema.parse({
    paths: ['/x'],
    model: { name: 'fraud', version_field: 'model_version' },
    fields: { id: 'request_id', text: ['customer_note'], latency: 'latency_ms' },
  });
  const reference = createReferenceInfo([
    {
      model: 'fraud',
      features: new Map(Object.entries(FEATURE_TYPES) as [string, FeatureType][]),
      vocabularies: new Map([['customer_note', new Set<string>(NOTE_WORDS)]]),
    },
  ]);
  const ctx = createNormalizeContext(input, { hostName: 'h', reference });
  const ids = new Set<string>();
  for (const [k, l] of lines.entries()) {
    const r = normalizeLine(l, { key: 'f', path: '/x', offset: k }, ctx);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    const d = r.event.doc;
    assert.equal(d.features_unparsed, undefined);
    assert.deepEqual(d.missing, [], 'clean data has no NA');
    assert.equal(d.text!.customer_note!.oov_count, 0, 'clean notes use only NOTE_WORDS');
    assert.ok(d.text!.customer_note!.token_count >= 1);
    ids.add(r.event.id);
  }
  assert.equal(ids.size, lines.length, 'request ids are unique');
  const scores = lines.map((l) => JSON.parse(l).prediction.score as number);
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  assert.ok(mean > 0.01 && mean < 0.3, `mean fraud score ${mean}`);
});

test('scheduled drift changes only the lines it covers, in the ways it says', () => {
  const n = 4000;
  const clean = generateLines(n, { seed: 5 });
  const drifted = generateLines(n, { seed: 5, drift: [allDrift(2000)] });
  assert.deepEqual(drifted.slice(0, 2000), clean.slice(0, 2000), 'lines before `from` are untouched');
  const recs = drifted.slice(2000).map((l) => JSON.parse(l));
  const base = clean.slice(2000).map((l) => JSON.parse(l));
  const share = (f: (r: any) => boolean) => recs.filter(f).length / recs.length;
  assert.ok(Math.abs(share((r) => r.features.merchant === 'crypto') - 0.2) < 0.04, 'new category in ~20%');
  assert.ok(!base.some((r) => !(MERCHANT_CATEGORIES as readonly string[]).includes(r.features.merchant)));
  assert.ok(Math.abs(share((r) => r.features.dist_km === null) - 0.3) < 0.04, 'NA spike ~30%');
  assert.ok(Math.abs(share((r) => /refund|chargeback|urgent|bitcoin/i.test(r.features.customer_note)) - 0.4) < 0.05, 'new words ~40%');
  const meanOf = (rs: any[], f: (r: any) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  assert.ok(meanOf(recs, (r) => r.features.amount) - meanOf(base, (r) => r.features.amount) > 40, 'amount shifted by ~1 sd');
  assert.ok(meanOf(recs, (r) => r.prediction.score) > 1.5 * meanOf(base, (r) => r.prediction.score), 'scores shifted up');
  // a bounded window
  const window = generateLines(300, { seed: 5, drift: [{ from: 100, to: 200, naSpike: { feature: 'country', share: 1 } }] });
  const na = window.map((l) => JSON.parse(l).features.country === null);
  assert.deepEqual([na.slice(0, 100).some(Boolean), na.slice(100, 200).every(Boolean), na.slice(200).some(Boolean)], [false, true, false]);
});

test('writeLines and the CLI write the same newline-terminated file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-gen-'));
  try {
    const a = join(dir, 'a.jsonl');
    const bytes = writeLines(a, 25_000, { seed: 9 });
    const text = readFileSync(a, 'utf8');
    assert.equal(Buffer.byteLength(text), bytes);
    assert.ok(text.endsWith('}\n'));
    assert.equal(text.split('\n').length, 25_001);
    assert.equal(text.split('\n')[24_999], generateLines(25_000, { seed: 9 })[24_999]);

    const b = join(dir, 'b.jsonl');
    const script = fileURLToPath(new URL('./generate.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, b, '25000', '--seed', '9'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote 25000 lines/);
    assert.equal(readFileSync(b, 'utf8'), text);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', script, b, 'many'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /LINES: expected a whole number, received "many"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
