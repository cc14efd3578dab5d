import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyResponse, parseBulkResponse } from './encode.ts';

// One bulk answer as Elasticsearch writes it (filter_path applied): created, duplicate, mapping
// error, thread pool full, security refusal, and an item missing at the end.
const answer = {
  errors: true,
  items: [
    { create: { status: 201 } },
    { create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: 'document already exists' } } },
    { create: { status: 400, error: { type: 'document_parsing_exception', reason: 'failed to parse field [features.amount]' } } },
    { create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution' } } },
    { create: { status: 403, error: { type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized' } } },
  ],
};

test('classifyResponse: each item of an answer lands in the count or list its outcome says, by its index in the send', () => {
  const chunk = [10, 11, 12, 13, 14, 15]; // a resend: items 10..15 of the batch
  const plan = classifyResponse(chunk, parseBulkResponse(answer, chunk.length));
  assert.equal(plan.indexed, 1);
  assert.equal(plan.duplicates, 1);
  assert.deepEqual(plan.failed.map((f) => [f.item, f.outcome.kind, f.outcome.errorType]), [
    [12, 'permanent', 'document_parsing_exception'],
    [13, 'retryable', 'es_rejected_execution_exception'],
    [15, 'retryable', 'missing_item'],
  ]);
  assert.equal(plan.fatal?.errorType, 'security_exception');
});

test('classifyResponse: an answer without errors is all indexed, nothing failed', () => {
  const items = Array.from({ length: 3 }, () => ({ create: { status: 201 } }));
  const plan = classifyResponse([0, 1, 2], parseBulkResponse({ errors: false, items }, 3));
  assert.deepEqual(plan, { indexed: 3, duplicates: 0, failed: [], fatal: undefined });
});

test('classifyResponse: a body that is not a bulk answer retries every item (none assumed delivered)', () => {
  const plan = classifyResponse([4, 5], parseBulkResponse('<html>bad gateway</html>', 2));
  assert.equal(plan.indexed, 0);
  assert.deepEqual(plan.failed.map((f) => [f.item, f.outcome.kind]), [[4, 'retryable'], [5, 'retryable']]);
});
