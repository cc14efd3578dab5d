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
