/**
 * The test engine itself: a real OpenSearch answering on loopback, as every engine-backed test
 * assumes (test/support/engine.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testEngine } from './support/engine.ts';

const engine = await testEngine();

test('the test engine is a real OpenSearch 2.19 on 127.0.0.1 with Painless', async (t) => {
  engine.prefix(t);
  const info = await engine.request('GET', '/');
  assert.equal(info.body.version.distribution, 'opensearch');
  assert.match(info.body.version.number, /^2\.19\./);
  assert.match(engine.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await engine.request('POST', '/_scripts/painless/_execute', { script: { source: 'params.a * 2', params: { a: 21 } } });
  assert.equal(r.body.result, '42');
});

test('a second bulk create of the same _id answers 409 version_conflict_engine_exception', async (t) => {
  const p = engine.prefix(t);
  const body = `{"create":{"_index":"${p}-x","_id":"a"}}\n{"v":1}\n`;
  const first = await engine.request('POST', '/_bulk', body);
  assert.equal(first.body.items[0].create.status, 201);
  const second = await engine.request('POST', '/_bulk', body);
  assert.equal(second.body.errors, true);
  assert.equal(second.body.items[0].create.status, 409);
  assert.equal(second.body.items[0].create.error.type, 'version_conflict_engine_exception');
});
