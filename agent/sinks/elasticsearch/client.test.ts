import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineConnectionError, EngineResponseError, EngineTimeoutError } from '../../engine/connection.ts';
import { describeRequestError, isAbortError } from './client.ts';
import { decideRequest } from './retry.ts';

test('engine errors reduce to status and type for the retry decision, never more', () => {
  const body = { error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' }, status: 429 };
  assert.deepEqual(describeRequestError(new EngineResponseError(429, body, 'POST', '/_bulk')), {
    status: 429, type: 'es_rejected_execution_exception', detail: 'es_rejected_execution_exception: rejected execution of coordinating operation',
  });
  assert.equal(decideRequest(describeRequestError(new EngineResponseError(401, { error: 'unauthorized' }, 'GET', '/'))).action, 'fatal');
  const refused = describeRequestError(new EngineConnectionError('POST /_bulk: cannot reach http://127.0.0.1:1: ECONNREFUSED', 'ECONNREFUSED', undefined));
  assert.equal(refused.type, 'ConnectionError');
  assert.equal(decideRequest(refused).action, 'retry');
  assert.equal(decideRequest(describeRequestError(new EngineTimeoutError('no answer'))).kind, 'timeout');
  const aborted = new Error('aborted');
  aborted.name = 'AbortError';
  assert.equal(isAbortError(aborted), true);
});
