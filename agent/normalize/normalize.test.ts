import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputSchema } from '../config/schema.ts';
import { registry } from '../telemetry/metrics.ts';
import type { PredictionDocument } from './document.ts';
import { MAX_OOV_TOKENS } from './document.ts';
import {
  REJECT_CODES,
  createNormalizeContext,
  eventBytes,
  normalizeLine,
  rejectTooLong,
  type LineMeta,
  type NormalizeContext,
  type Rejection,
} from './normalize.ts';
import { createReferenceInfo, type FeatureType, type ModelReference } from './reference-info.ts';

const NOW = Date.UTC(2024, 5, 1, 8, 0, 0);
const META: LineMeta = { key: '2049-77-abcd', path: '/var/log/model/pred.jsonl', offset: 4096 };

function ctxFor(input: Record<string, unknown> = {}, reference?: ModelReference[]): NormalizeContext {
  const parsed = InputSchema.parse({
    paths: ['/var/log/model/*.jsonl'],
    model: { name: 'fraud', version_field: 'model_version' },
    ...input,
  });
  return createNormalizeContext(parsed, {
    hostName: 'host-a',
    now: () => new Date(NOW),
    ...(reference ? { reference: createReferenceInfo(reference) } : {}),
  });
}

function line(rec: Record<string, unknown>): string {
  return JSON.stringify({ timestamp: '2024-05-01T12:00:00.000Z', ...rec });
}

function ok(l: string | Buffer, ctx: NormalizeContext, meta: LineMeta = META): PredictionDocument {
  const r = normalizeLine(l, meta, ctx);
  if (!r.ok) assert.fail(`expected a document, got rejection ${r.code}: ${r.reason}`);
  assert.equal(r.event.id, r.event.doc.event.id);
  return r.event.doc;
}

function rejected(l: string | Buffer, ctx: NormalizeContext): Rejection {
  const r = normalizeLine(l, META, ctx);
  if (r.ok) assert.fail(`expected a rejection, got ${JSON.stringify(r.event.doc)}`);
  return r;
}

function ref(features: Record<string, FeatureType>, extra: Partial<ModelReference> = {}): ModelReference {
  return { model: 'fraud', features: new Map(Object.entries(features)), ...extra };
}

test('a good line becomes the documented document', () => {
  const ctx = ctxFor({
    fields: { id: 'request_id', latency: 'latency_ms' },
    labels: { env: 'prod', region: 'eu' },
  });
  const doc = ok(
    JSON.stringify({
      timestamp: '2024-05-01T12:00:00.250Z',
      request_id: 'req-42',
      model_version: '1.4.2',
      features: { amount: 12.5, country: 'DE', new_device: false },
      prediction: { score: 0.91, label: 'fraud' },
      latency_ms: 7.25,
    }),
    ctx,
  );
  assert.deepEqual(doc, {
    '@timestamp': '2024-05-01T12:00:00.250Z',
    event: { id: 'req-42', ingested: new Date(NOW).toISOString(), duration: 7_250_000 },
    model: { name: 'fraud', version: '1.4.2' },
    features: { amount: 12.5, country: 'DE', new_device: false },
    prediction: { score: 0.91, label: 'fraud' },
    missing: [],
    host: { name: 'host-a' },
    log: { file: { path: META.path }, offset: META.offset },
    labels: { env: 'prod', region: 'eu' },
  });
});

test('model name and version come from record fields, constants as fallback; numbers become strings', () => {
  const ctx = ctxFor({ model: { name_field: 'model', version: 'v0' } });
  const a = ok(line({ model: 'churn', features: {} }), ctx);
  assert.deepEqual(a.model, { name: 'churn', version: 'v0' });
  const b = ok(line({ model: 'churn', features: {} }), ctxFor({ model: { name_field: 'model', version_field: 'v' } }));
  assert.deepEqual(b.model, { name: 'churn' }, 'no version when the field is absent');
  const c = ok(line({ model: 'churn', v: 3 }), ctxFor({ model: { name_field: 'model', version_field: 'v' } }));
  assert.equal(c.model.version, '3');
  const nested = ok(line({ meta: { model: 'x' } }), ctxFor({ model: { name_field: 'meta.model' } }));
  assert.equal(nested.model.name, 'x', 'a dotted field name reaches into nested objects');
});

test('every NA form is left out of features and named in missing', () => {
  const ctx = ctxFor();
  const doc = ok(
    line({
      features: { a: null, b: '', c: 'NA', d: 'N/A', e: 'NaN', f: 'null', g: 'None', keep: 'ok', n: 1 },
    }),
    ctx,
  );
  assert.deepEqual(doc.features, { keep: 'ok', n: 1 });
  assert.deepEqual(doc.missing, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
});

test("Python's bare NaN, Infinity and -Infinity are NA, not an invalid line", () => {
  const ctx = ctxFor();
  const raw = '{"timestamp": 1714564800, "features": {"x": NaN, "y": Infinity, "z": -Infinity, "s": "NaN in a string, Infinity too", "w": 2.5}, "prediction": NaN}';
  const doc = ok(raw, ctx);
  assert.deepEqual(doc.features, { s: 'NaN in a string, Infinity too', w: 2.5 });
  assert.deepEqual(doc.missing, ['x', 'y', 'z', 'prediction.value']);
});

test('na_values replace the default NA strings; "" stays NA', () => {
  const ctx = ctxFor({ na_values: ['?', 'missing'] });
  const doc = ok(line({ features: { a: '?', b: 'missing', c: 'NA', d: '' } }), ctx);
  assert.deepEqual(doc.features, { c: 'NA' });
  assert.deepEqual(doc.missing, ['a', 'b', 'd']);
});

test('nan and inf strings of a numeric feature are NA; numeric strings are parsed', () => {
  const ctx = ctxFor();
  ok(line({ features: { x: 1 } }), ctx); // first value seen: x is numeric
  const doc = ok(line({ features: { x: 'inf' } }), ctx);
  assert.deepEqual(doc.missing, ['x']);
  assert.deepEqual(ok(line({ features: { x: '-Infinity' } }), ctx).missing, ['x']);
  assert.deepEqual(ok(line({ features: { x: '-12.5e1' } }), ctx).features, { x: -125 });
});

test('a feature of the reference that is absent from the record is missing; without a reference it is not', () => {
  const line1 = line({ features: { a: 1 }, prediction: { label: 'x' } });
  const plain = ok(line1, ctxFor());
  assert.deepEqual(plain.missing, []);
  const withRef = ok(
    line1,
    ctxFor({}, [ref({ a: 'num', b: 'num', note: 'text' }, { predictions: new Map([['score', 'num'], ['label', 'cat']]) })]),
  );
  assert.deepEqual(withRef.features, { a: 1 });
  assert.deepEqual(withRef.missing, ['b', 'note', 'prediction.score']);
});

test('the reference of the record version is used, else the model-wide one', () => {
  const ctx = ctxFor({}, [
    { model: 'fraud', version: '2', features: new Map([['only_v2', 'num' as const]]) },
    { model: 'fraud', features: new Map([['everywhere', 'num' as const]]) },
  ]);
  assert.deepEqual(ok(line({ model_version: '2', features: {} }), ctx).missing, ['only_v2']);
  assert.deepEqual(ok(line({ model_version: '1', features: {} }), ctx).missing, ['everywhere']);
  assert.deepEqual(ok(line({ features: {} }), ctx).missing, ['everywhere']);
});

test('nested feature objects are flattened with dots', () => {
  const doc = ok(line({ features: { user: { age: 31, geo: { country: 'FR', city: null } }, flag: true } }), ctxFor());
  assert.deepEqual(doc.features, { 'user.age': 31, 'user.geo.country': 'FR', flag: true });
  assert.deepEqual(doc.missing, ['user.geo.city']);
});

test('predictions: an object is flattened, a scalar is prediction.value, NA ones are prediction.<name> in missing', () => {
  const ctx = ctxFor();
  assert.deepEqual(ok(line({ prediction: 0.42 }), ctx).prediction, { value: 0.42 });
  const doc = ok(line({ prediction: { score: null, class: { top: 'cat', p: 0.7 } } }), ctxFor());
  assert.deepEqual(doc.prediction, { 'class.top': 'cat', 'class.p': 0.7 });
  assert.deepEqual(doc.missing, ['prediction.score']);
  assert.deepEqual(ok(line({ prediction: 'N/A' }), ctxFor()).missing, ['prediction.value']);
  assert.deepEqual(ok(line({ y: 'spam' }), ctxFor({ fields: { predictions: 'y' } })).prediction, { value: 'spam' });
});

test('a value of the wrong type is kept as a string in features_unparsed and counted', async () => {
  const ctx = ctxFor();
  ok(line({ features: { amount: 10, country: 'DE', vip: true } }), ctx); // first-seen types: num, cat, bool
  const before = await metricValue('driftbeat_values_unparsed_total', { model: 'fraud' });
  const doc = ok(
    line({ features: { amount: 'ten', country: 49, vip: 'yes', tags: ['a', 'b'] }, prediction: { score: 0.5 } }),
    ctx,
  );
  assert.deepEqual(doc.features, { country: '49' }, 'a number for a categorical feature is its string');
  assert.deepEqual(doc.features_unparsed, { amount: 'ten', vip: 'yes', tags: '["a","b"]' });
  assert.deepEqual(doc.missing, [], 'a wrong type is not NA');
  assert.equal(ctx.stats.unparsed, 3);
  assert.equal((await metricValue('driftbeat_values_unparsed_total', { model: 'fraud' })) - before, 3);
  // numeric strings and boolean words are coerced, not rejected
  const good = ok(line({ features: { amount: '12.5', vip: 'False' } }), ctx);
  assert.deepEqual(good.features, { amount: 12.5, vip: false });
  // predictions too
  const p = ok(line({ prediction: { score: 'high' } }), ctx);
  assert.deepEqual(p.features_unparsed, { 'prediction.score': 'high' });
});

test('types come from the reference when one is set at runtime, not from the first value', () => {
  const ctx = ctxFor();
  ok(line({ features: { zip: '75001' } }), ctx); // first seen as a string: categorical
  assert.deepEqual(ok(line({ features: { zip: 'abc' } }), ctx).features, { zip: 'abc' });
  ctx.setReference(createReferenceInfo([ref({ zip: 'num' })]));
  const doc = ok(line({ features: { zip: 'abc' } }), ctx);
  assert.deepEqual(doc.features_unparsed, { zip: 'abc' });
  assert.deepEqual(ok(line({ features: { zip: '75001' } }), ctx).features, { zip: 75001 });
  ctx.setReference(undefined);
  assert.deepEqual(ok(line({ features: { zip: 'abc' } }), ctx).features, { zip: 'abc' });
});

test('feature names beyond max_features per model go to features_overflow', async () => {
  const ctx = ctxFor({ max_features: 3 });
  const before = await metricValue('driftbeat_features_overflow_total', { model: 'fraud' });
  const a = ok(line({ features: { a: 1, b: 2, c: 3, d: 4, e: 'x' } }), ctx);
  assert.deepEqual(a.features, { a: 1, b: 2, c: 3 });
  assert.deepEqual(a.features_overflow, { d: 4, e: 'x' });
  // names admitted earlier stay admitted; new ones keep overflowing
  const b = ok(line({ features: { c: 5, f: 6 } }), ctx);
  assert.deepEqual(b.features, { c: 5 });
  assert.deepEqual(b.features_overflow, { f: 6 });
  assert.equal(ctx.stats.overflow, 3);
  assert.equal((await metricValue('driftbeat_features_overflow_total', { model: 'fraud' })) - before, 3);
  // the cap is per model
  const other = ok(line({ model: 'm2', features: { x: 1, y: 2, z: 3 } }), ctxFor({ max_features: 3, model: { name_field: 'model' } }));
  assert.equal(other.features_overflow, undefined);
  // reference names are always indexed
  const withRef = ctxFor({ max_features: 1 }, [ref({ r1: 'num', r2: 'num' })]);
  const d = ok(line({ features: { r1: 1, r2: 2, extra: 3 } }), withRef);
  assert.deepEqual(d.features, { r1: 1, r2: 2 });
  assert.deepEqual(d.features_overflow, { extra: 3 });
  // configured text fields too; predictions have their own cap of the same size
  const t = ok(line({ features: { a: 1, note: 'hi there' }, prediction: { p1: 0.1, p2: 0.9 } }), ctxFor({ max_features: 1, fields: { text: ['note'] } }));
  assert.deepEqual(t.features, { a: 1 });
  assert.equal(t.text?.note?.token_count, 2);
  assert.deepEqual(t.prediction, { p1: 0.1 });
  assert.deepEqual(t.features_overflow, { 'prediction.p2': 0.9 });
});

test('text fields leave features for text.<name> with token and OOV counts', () => {
  const ctx = ctxFor({ fields: { text: ['note', 'meta.comment'] } });
  const doc = ok(line({ features: { note: "Don't ring the bell!", meta: { comment: 'Fine.' }, n: 1 } }), ctx);
  assert.deepEqual(doc.features, { n: 1 });
  assert.deepEqual(doc.text, {
    note: { content: "Don't ring the bell!", token_count: 4 },
    'meta.comment': { content: 'Fine.', token_count: 1 },
  });
  assert.deepEqual(ok(line({ features: { note: 'NA' } }), ctx).missing, ['note']);

  const vocab = new Set(['ring', 'the', 'bell']);
  const withRef = ctxFor({ fields: { text: ['note'] } }, [ref({ note: 'text' }, { vocabularies: new Map([['note', vocab]]) })]);
  const t = ok(line({ features: { note: "Don't ring the bell, dont! Refund" } }), withRef).text!.note!;
  assert.deepEqual(t, { content: "Don't ring the bell, dont! Refund", token_count: 6, oov_count: 3, oov_tokens: ['dont', 'refund'] });
  const many = Array.from({ length: 40 }, (_, i) => `new${i}`).join(' ');
  const capped = ok(line({ features: { note: many } }), withRef).text!.note!;
  assert.equal(capped.oov_count, 40);
  assert.equal(capped.oov_tokens!.length, MAX_OOV_TOKENS);
});

test('a field of type text in the reference is tokenized even when fields.text does not list it', () => {
  const ctx = ctxFor({}, [ref({ comment: 'text' }, { vocabularies: new Map([['comment', new Set(['hello'])]]) })]);
  const doc = ok(line({ features: { comment: 'Hello world' } }), ctx);
  assert.deepEqual(doc.features, {});
  assert.deepEqual(doc.text, { comment: { content: 'Hello world', token_count: 2, oov_count: 1, oov_tokens: ['world'] } });
});

test('event.id: the id field as a string, else file key + offset, the same every time', () => {
  const ctx = ctxFor({ fields: { id: 'request_id' } });
  assert.equal(ok(line({ request_id: 12345 }), ctx).event.id, '12345');
  const noId = line({ features: { a: 1 } });
  const a = ok(noId, ctx, { ...META, offset: 1_000_000 });
  const b = ok(noId, ctxFor(), { ...META, offset: 1_000_000 });
  assert.equal(a.event.id, `${META.key}-${(1_000_000).toString(36)}`);
  assert.equal(a.event.id, b.event.id, 'same file + offset -> same id, also in a new context (restart)');
  assert.notEqual(ok(noId, ctx, { ...META, offset: 1_000_001 }).event.id, a.event.id);
  assert.notEqual(ok(noId, ctx, { ...META, key: 'other-file' }).event.id, a.event.id);
});

test('timestamps: epoch s, epoch ms, ISO with offset are normalized to UTC ISO; a bad one is rejected', () => {
  const ctx = ctxFor();
  const iso = '2024-05-01T12:00:00.000Z';
  assert.equal(ok(line({ timestamp: 1714564800 }), ctx)['@timestamp'], iso);
  assert.equal(ok(line({ timestamp: 1714564800000 }), ctx)['@timestamp'], iso);
  assert.equal(ok(line({ timestamp: '1714564800.5' }), ctx)['@timestamp'], '2024-05-01T12:00:00.500Z');
  assert.equal(ok(line({ timestamp: '2024-05-01T14:00:00+02:00' }), ctx)['@timestamp'], iso);
  assert.equal(rejected(line({ timestamp: '2024-02-30T00:00:00.000Z' }), ctx).code, REJECT_CODES.TIMESTAMP);
  const bad = rejected(line({ timestamp: 'yesterday' }), ctx);
  assert.equal(bad.code, REJECT_CODES.TIMESTAMP);
  assert.match(bad.reason, /no usable timestamp: field "timestamp" is "yesterday"/);
  const missing = rejected(JSON.stringify({ features: {} }), ctx);
  assert.match(missing.reason, /field "timestamp" is absent/);
  const custom = ctxFor({ fields: { timestamp: 'ts', timestamp_format: 'epoch_ms' } });
  assert.equal(ok(JSON.stringify({ ts: 1714564800000 }), custom)['@timestamp'], iso);
});

test('timestamps: micro- and nanoseconds are recognised; implausible times and unit mismatches are rejected with the reason', () => {
  const ctx = ctxFor(); // the clock says 2024-06-01T08:00Z
  const iso = '2024-05-01T12:00:00.000Z';
  assert.equal(ok(line({ timestamp: 1714564800000000 }), ctx)['@timestamp'], iso);
  assert.equal(ok(line({ timestamp: '1714564800000000000' }), ctx)['@timestamp'], iso);
  // issue 12: epoch seconds under epoch_ms silently became 1970-01-20
  const seconds = rejected(JSON.stringify({ ts: 1714564800 }), ctxFor({ fields: { timestamp: 'ts', timestamp_format: 'epoch_ms' } }));
  assert.equal(seconds.code, REJECT_CODES.TIMESTAMP_FORMAT);
  assert.equal(seconds.reason, 'timestamp format mismatch: field "ts" is 1714564800, which by its magnitude is epoch seconds, not epoch_ms (fields.timestamp_format of the input; auto reads the unit from the magnitude)');
  const zero = rejected(line({ timestamp: 0 }), ctx);
  assert.equal(zero.code, REJECT_CODES.TIMESTAMP_RANGE);
  assert.equal(zero.reason, 'timestamp out of range: field "timestamp" is 0 (read as epoch seconds) = 1970-01-01T00:00:00.000Z, outside 2000-01-01T00:00:00.000Z .. now + 24 h (fields.timestamp_range of the input)');
  assert.match(rejected(line({ timestamp: '2024-06-03T00:00:00.000Z' }), ctx).reason, /^timestamp out of range: field "timestamp" is "2024-06-03T00:00:00.000Z" = 2024-06-03T00:00:00.000Z, outside/);
  assert.equal(rejected(line({ timestamp: '2024-06-03T02:00:00+02:00' }), ctx).code, REJECT_CODES.TIMESTAMP_RANGE);
  assert.equal(rejected(line({ timestamp: '1999-12-31T23:59:59.999Z' }), ctx).code, REJECT_CODES.TIMESTAMP_RANGE);
  assert.equal(ok(line({ timestamp: '2024-06-02T07:59:59.000Z' }), ctx)['@timestamp'], '2024-06-02T07:59:59.000Z', 'less than a day ahead');
  // the range is the input's to set, for older backfills or clocks running ahead
  const wide = ctxFor({ fields: { timestamp_range: { min: '1990-01-01', max_ahead: '30d' } } });
  assert.equal(ok(line({ timestamp: '1995-03-01T00:00:00.000Z' }), wide)['@timestamp'], '1995-03-01T00:00:00.000Z');
  assert.equal(ok(line({ timestamp: '2024-06-20T00:00:00.000Z' }), wide)['@timestamp'], '2024-06-20T00:00:00.000Z');
});

test('rejections: invalid JSON, not an object, no model name, features not an object, too long, blank', () => {
  const ctx = ctxFor();
  const json = rejected('{"timestamp": 1714564800, "features": {', ctx);
  assert.equal(json.code, REJECT_CODES.JSON);
  assert.match(json.reason, /^not valid JSON/);
  assert.equal(rejected('[1,2]', ctx).code, REJECT_CODES.NOT_OBJECT);
  assert.match(rejected('"hello"', ctx).reason, /not a JSON object: the line is a string/);
  const noModel = rejected(line({ features: {} }), ctxFor({ model: { name_field: 'model' } }));
  assert.equal(noModel.code, REJECT_CODES.MODEL);
  assert.match(noModel.reason, /no model name: field "model" is absent/);
  assert.equal(rejected(line({ features: [1, 2] }), ctx).code, REJECT_CODES.FEATURES);
  const long = rejected(line({ features: { s: 'x'.repeat(2000) } }), ctxFor({ max_line_bytes: 1024 }));
  assert.equal(long.code, REJECT_CODES.LINE_TOO_LONG);
  assert.match(long.reason, /max_line_bytes \(1024\)/);
  assert.deepEqual(rejectTooLong(5000, 1024).code, REJECT_CODES.LINE_TOO_LONG);
  const blank = rejected('   \r', ctx);
  assert.equal(blank.skip, true);
  assert.equal(blank.code, REJECT_CODES.EMPTY);
});

test('Buffer input, a byte-order mark and CRLF endings are accepted', () => {
  const ctx = ctxFor();
  const doc = ok(Buffer.from('\uFEFF' + line({ features: { city: 'Zürich' } }) + '\r'), ctx);
  assert.deepEqual(doc.features, { city: 'Zürich' });
});

test('binary garbage and random bytes never throw', () => {
  const ctx = ctxFor({ fields: { text: ['t'] } }, [ref({ a: 'num', t: 'text' })]);
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const good = Buffer.from(line({ features: { a: 1, t: 'some text', b: { c: [1] } }, prediction: { s: 1 } }));
  for (let k = 0; k < 3000; k++) {
    let buf: Buffer;
    if (k % 2 === 0) {
      buf = Buffer.alloc(1 + Math.floor(rand() * 200));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256);
    } else {
      // a valid line with a few bytes flipped: reaches deeper than plain noise
      buf = Buffer.from(good);
      for (let j = 0; j < 3; j++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
    }
    const r = normalizeLine(buf, META, ctx);
    assert.equal(typeof r.ok, 'boolean');
    if (!r.ok) assert.notEqual(r.code, REJECT_CODES.INTERNAL, r.reason);
  }
});

test('a __proto__ key is kept as data and pollutes nothing', () => {
  const raw = '{"timestamp":1714564800,"features":{"__proto__":5,"x":{"__proto__":"v"},"y":{"__proto__":{"polluted":1}}}}';
  const doc = ok(raw, ctxFor());
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(doc.features), Object.prototype);
  assert.deepEqual(Object.keys(doc.features).sort(), ['__proto__', 'x.__proto__', 'y.__proto__.polluted']);
  assert.equal(JSON.stringify(doc.features), '{"__proto__":5,"x.__proto__":"v","y.__proto__.polluted":1}');
});

test('deeply nested objects are kept as JSON text, not recursed into without bound', () => {
  let deep: unknown = 1;
  for (let k = 0; k < 50; k++) deep = { d: deep };
  const doc = ok(line({ features: { deep } }), ctxFor());
  const keys = Object.keys(doc.features_unparsed ?? {});
  assert.equal(keys.length, 1);
  assert.ok(keys[0]!.startsWith('deep.d.d.'));
});

test('eventBytes approximates the encoded size', () => {
  const ctx = ctxFor();
  const l = line({ features: { a: 1, b: 'text' } });
  const r = normalizeLine(l, META, ctx);
  assert.ok(r.ok);
  const actual = JSON.stringify(r.event.doc).length;
  const estimate = eventBytes(r.event);
  assert.ok(estimate >= actual * 0.8 && estimate <= actual * 1.6, `estimate ${estimate} vs ${actual}`);
});

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  const v = values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}
