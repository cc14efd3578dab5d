// test/fixtures/bad-lines.jsonl: broken lines (invalid JSON, binary garbage, no timestamp, wrong
// types, an array, ...) between good ones, read as the tailer would hand them over: Buffers split
// on \n with their byte offsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputSchema } from '../config/schema.ts';
import { REJECT_CODES, createNormalizeContext, normalizeLine, type NormalizeResult } from './normalize.ts';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/bad-lines.jsonl', import.meta.url));

function splitLines(buf: Buffer): { line: Buffer; offset: number }[] {
  const out: { line: Buffer; offset: number }[] = [];
  let start = 0;
  for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
    out.push({ line: buf.subarray(start, nl), offset: start });
    start = nl + 1;
  }
  return out;
}

test('bad-lines.jsonl: every line is a document or a rejection with its reason, in order', () => {
  const input = InputSchema.parse({
    paths: ['/x/*.jsonl'],
    model: { name: 'fraud' },
    fields: { id: 'request_id' },
  });
  const ctx = createNormalizeContext(input, { hostName: 'h', now: () => new Date(Date.UTC(2024, 5, 1)) });
  const results: NormalizeResult[] = splitLines(readFileSync(FIXTURE)).map(({ line, offset }) =>
    normalizeLine(line, { key: 'fixture', path: FIXTURE, offset }, ctx),
  );
  const summary = results.map((r) => (r.ok ? `ok ${r.event.id}` : r.code));
  assert.deepEqual(summary, [
    'ok r1',
    REJECT_CODES.JSON, // truncated object
    'ok r3',
    REJECT_CODES.JSON, // binary garbage
    REJECT_CODES.TIMESTAMP, // no timestamp field
    'ok r6', // wrong types: kept, see below
    REJECT_CODES.NOT_OBJECT, // an array
    'ok r8', // Python NaN
    REJECT_CODES.TIMESTAMP, // "not a date"
    REJECT_CODES.EMPTY,
    REJECT_CODES.FEATURES, // features is a string
    REJECT_CODES.NOT_OBJECT, // a JSON string
    'ok r13',
  ]);
  const reasons = results.map((r) => (r.ok ? '' : r.reason));
  assert.match(reasons[1]!, /^not valid JSON: /);
  assert.match(reasons[3]!, /^not valid JSON: /);
  assert.equal(reasons[4], 'no usable timestamp: field "timestamp" is absent, expected ISO 8601 or epoch seconds, milliseconds, microseconds or nanoseconds (set fields.timestamp / fields.timestamp_format of the input)');
  assert.match(reasons[6]!, /^not a JSON object: the line is an array/);
  assert.match(reasons[8]!, /field "timestamp" is "not a date"/);
  assert.equal((results[9] as { skip?: boolean }).skip, true, 'a blank line is acknowledged, not dead-lettered');
  assert.match(reasons[10]!, /^field "features" is a string, expected an object of model inputs/);
  assert.match(reasons[11]!, /^not a JSON object: the line is a string/);

  const r6 = results[5]!;
  assert.ok(r6.ok);
  assert.deepEqual(r6.event.doc.features, { country: '7' });
  assert.deepEqual(r6.event.doc.features_unparsed, { amount: 'lots', 'prediction.score': 'high' });
  const r8 = results[7]!;
  assert.ok(r8.ok);
  assert.deepEqual(r8.event.doc.missing, ['amount']);
  // offsets are those of the lines in the file
  const r13 = results[12]!;
  assert.ok(r13.ok);
  assert.equal(readFileSync(FIXTURE).subarray(r13.event.doc.log.offset, r13.event.doc.log.offset + 14).toString(), '{"timestamp":"');
});
