import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { PredictionDocument } from '../../normalize/document.ts';
import type { OutEvent } from '../sink.ts';
import { BulkEncoder, classifyItem, encodeBulk, itemReason, parseBulkResponse } from './encode.ts';

const REF = fileURLToPath(new URL('../../../test/fixtures/elastic/es/bulk', import.meta.url));

function referenceValue(file: string): unknown {
  const y = parseYaml(readFileSync(`${REF}/${file}`, 'utf8')) as { value: unknown };
  return typeof y.value === 'string' ? JSON.parse(y.value) : y.value;
}

function ev(id: string, model = 'fraud', extra: Partial<PredictionDocument> = {}): OutEvent {
  const doc: PredictionDocument = {
    '@timestamp': '2024-05-01T10:00:00.000Z',
    event: { id, ingested: '2024-05-01T10:00:01.000Z' },
    model: { name: model, version: '1.4.2' },
    features: { amount: 12.5, country: 'FR' },
    prediction: { score: 0.93, label: 'fraud' },
    missing: [],
    host: { name: 'host-1' },
    log: { file: { path: '/var/log/model/predictions.jsonl' }, offset: 0 },
    ...extra,
  };
  return { id, doc, bytes: 0 };
}

test('a batch encodes to NDJSON create actions into the model data stream, ending with a newline', () => {
  const body = encodeBulk([ev('a1'), ev('b"2', 'Churn Model')], 'driftbeat');
  assert.ok(body.endsWith('\n'));
  const lines = body.slice(0, -1).split('\n');
  assert.equal(lines.length, 4);
  assert.deepEqual(JSON.parse(lines[0]!), { create: { _index: 'driftbeat-predictions-fraud', _id: 'a1' } });
  assert.equal((JSON.parse(lines[1]!) as PredictionDocument).event.id, 'a1');
  // Ids with quotes stay valid JSON; model names are sanitised into the stream name.
  assert.deepEqual(JSON.parse(lines[2]!), { create: { _index: 'driftbeat-predictions-churn_model', _id: 'b"2' } });
  assert.deepEqual(JSON.parse(lines[3]!), ev('b"2', 'Churn Model').doc);
});

test('the encoder follows the configured prefix and reuses its per-model action head', () => {
  const enc = new BulkEncoder('acme');
  const one = enc.encode(ev('x'));
  assert.ok(one.startsWith('{"create":{"_index":"acme-predictions-fraud","_id":"x"}}\n'));
  assert.deepEqual(enc.encodeAll([ev('x'), ev('y')]).join(''), one + enc.encode(ev('y')));
});

test('the encoded body is the same as building the actions with JSON.stringify', () => {
  const events = Array.from({ length: 50 }, (_, i) => ev(`id-${i}`, i % 2 ? 'fraud' : 'churn', { features: { n: i, s: `v\n${i}` } }));
  const expected = events.map((e) => `${JSON.stringify({ create: { _index: `driftbeat-predictions-${e.doc.model.name}`, _id: e.id } })}\n${JSON.stringify(e.doc)}\n`).join('');
  assert.equal(encodeBulk(events, 'driftbeat'), expected);
});

test('reference response without errors: every item counts as delivered', () => {
  const body = referenceValue('spec-BulkResponseExample1.yaml');
  // The example mixes index, delete (404 not_found, no error object), create and update.
  const out = parseBulkResponse(body, 4);
  assert.equal(out.errors, false);
  assert.deepEqual(out.items.map((o) => o.kind), ['created', 'created', 'created', 'created']);
});

test('reference response with errors: failed items are classified by status and error type', () => {
  const out = parseBulkResponse(referenceValue('spec-BulkResponseExample2-errors.yaml'), 3);
  assert.equal(out.errors, true);
  assert.deepEqual(out.items.map((o) => o.kind), ['permanent', 'permanent', 'created']);
  assert.equal(out.items[0]!.errorType, 'document_missing_exception');
  assert.equal(itemReason(out.items[0]!), 'document_missing_exception: [5]: document missing');
});

test('reference response filtered with filter_path (no status): errors still classify', () => {
  const out = parseBulkResponse(referenceValue('spec-BulkResponseExample3-filter-path-errors.yaml'), 2);
  assert.deepEqual(out.items.map((o) => o.kind), ['permanent', 'permanent']);
  assert.equal(out.items[1]!.errorReason, '[6]: document missing');
});

test('the items asserted by the reference REST tests classify as a client must treat them', () => {
  // yamlRestTest-bulk-10_basic.yml: empty _id -> 400 illegal_argument_exception; require_alias -> 404.
  assert.equal(classifyItem({ index: { status: 400, error: { type: 'illegal_argument_exception', reason: 'if _id is specified it must not be empty' } } }).kind, 'permanent');
  assert.equal(classifyItem({ index: { status: 404, error: { type: 'index_not_found_exception', reason: 'no such index [x]' } } }).kind, 'permanent');
  // yamlRestTest-bulk-80_cas-version-conflict.yml: 409 version_conflict_engine_exception -> a duplicate for `create`.
  assert.equal(classifyItem({ create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: '[1]: version conflict' } } }).kind, 'duplicate');
  assert.equal(classifyItem({ create: { status: 201, result: 'created' } }).kind, 'created');
});

test('decision table for item failures', () => {
  const cases: Array<[number, string | undefined, string]> = [
    [429, 'es_rejected_execution_exception', 'retryable'],
    [429, 'circuit_breaking_exception', 'retryable'],
    [500, 'exception', 'retryable'],
    [503, 'unavailable_shards_exception', 'retryable'],
    [403, 'cluster_block_exception', 'retryable'], // read-only index over the flood-stage watermark
    [400, 'mapper_parsing_exception', 'permanent'],
    [400, 'document_parsing_exception', 'permanent'],
    [400, 'illegal_argument_exception', 'permanent'],
    [404, 'index_not_found_exception', 'permanent'],
    [403, 'security_exception', 'fatal'],
    [401, 'security_exception', 'fatal'],
    [409, 'version_conflict_engine_exception', 'duplicate'],
  ];
  for (const [status, type, kind] of cases) {
    assert.equal(classifyItem({ create: { status, error: { type, reason: 'r' } } }).kind, kind, `${status} ${type}`);
  }
});

test('a response with fewer items than actions sent retries the missing ones, never assumes them delivered', () => {
  const out = parseBulkResponse({ errors: false, items: [{ create: { status: 201 } }] }, 3);
  assert.deepEqual(out.items.map((o) => o.kind), ['created', 'retryable', 'retryable']);
  assert.deepEqual(parseBulkResponse('not json', 1).items.map((o) => o.kind), ['retryable']);
});

test('JSON text responses parse like objects', () => {
  const text = '{"errors":true,"items":[{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},{"create":{"status":201}}]}';
  assert.deepEqual(parseBulkResponse(text, 2).items.map((o) => o.kind), ['retryable', 'created']);
});
