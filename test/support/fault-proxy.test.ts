/**
 * The fault proxy the outage tests rely on: it forwards to the real engine untouched, and injects
 * each fault as a client sees it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testEngine } from '../support/engine.ts';
import { startFaultProxy } from './fault-proxy.ts';

const engine = await testEngine();

test('the fault proxy forwards to the real engine and injects status, reset, refuse and hang faults', async (t) => {
  const p = engine.prefix(t);
  const proxy = await startFaultProxy(engine.url);
  t.after(() => proxy.close());

  const info = await (await fetch(`${proxy.url}/`)).json() as any;
  assert.equal(info.version.distribution, 'opensearch');

  const bulk = `{"create":{"_index":"${p}-x","_id":"a"}}\n{"v":1}\n`;
  const post = (path: string) => fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: bulk, signal: AbortSignal.timeout(2_000) });

  proxy.failNext({ kind: 'status', status: 429 }, 1, (_m, path) => path.startsWith('/_bulk'));
  assert.equal((await fetch(`${proxy.url}/`)).status, 200, 'a fault limited to _bulk lets GET / through');
  const rejected = await post('/_bulk');
  assert.equal(rejected.status, 429);
  assert.equal(((await rejected.json()) as any).error.type, 'es_rejected_execution_exception');
  const created = await (await post("/_bulk")).json() as any;
  assert.equal(created.items[0].create.status, 201, 'after the one fault the proxy passes again');

  proxy.set({ kind: 'status', status: 503 });
  assert.equal((await post('/_bulk')).status, 503);
  proxy.set({ kind: 'reset' });
  await assert.rejects(post('/_bulk'));
  proxy.set({ kind: 'refuse' });
  await assert.rejects(fetch(`${proxy.url}/`, { signal: AbortSignal.timeout(2_000) }));
  proxy.set({ kind: 'hang' });
  await assert.rejects(fetch(`${proxy.url}/`, { signal: AbortSignal.timeout(300) }), /timeout|abort/i);
  proxy.set({ kind: 'pass' });
  const again = await (await post("/_bulk")).json() as any;
  assert.equal(again.items[0].create.status, 409, 'the engine kept the document created through the proxy');
  assert.ok(proxy.seen.status === 2 && proxy.seen.reset === 1 && proxy.seen.hang === 1, JSON.stringify(proxy.seen));
});

test('per-item rejections: the engine never sees the rejected items, and answers the others in place; limit answers 413; auth answers 401', async (t) => {
  const p = engine.prefix(t);
  const proxy = await startFaultProxy(engine.url, { auth: { username: 'driftbeat', password: 'right' } });
  t.after(() => proxy.close());
  const basic = `Basic ${Buffer.from('driftbeat:right').toString('base64')}`;
  const post = (body: string, authorization = basic) => fetch(`${proxy.url}/_bulk?filter_path=errors,items.*.status,items.*.error.type`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', authorization }, body });
  const bulk = ['a', 'b', 'c', 'd'].map((id) => `{"create":{"_index":"${p}-x","_id":"${id}"}}\n{"v":"${id}"}\n`).join('');

  const denied = await post(bulk, `Basic ${Buffer.from('driftbeat:wrong').toString('base64')}`);
  assert.equal(denied.status, 401);
  assert.equal(((await denied.json()) as any).error.type, 'security_exception');

  proxy.failNext({ kind: 'items', reject: (item) => (item.id === 'b' || item.id === 'd' ? { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution' } : undefined) });
  const first = (await (await post(bulk)).json()) as any;
  assert.equal(first.errors, true);
  assert.deepEqual(first.items.map((i: any) => i.create.status), [201, 429, 201, 429]);
  // The rejected ones were never indexed: sent again, they are created; the others are duplicates.
  const second = (await (await post(bulk)).json()) as any;
  assert.deepEqual(second.items.map((i: any) => i.create.status), [409, 201, 409, 201]);
  assert.equal(proxy.seen['items.rejected'], 2);

  proxy.set({ kind: 'limit', bytes: 100 });
  assert.equal((await post(bulk)).status, 413);
  const small = (await (await post(`{"create":{"_index":"${p}-x","_id":"e"}}\n{"v":1}\n`)).json()) as any;
  assert.equal(small.items[0].create.status, 201);
});
