import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeiling, backoffDelay, decideRequest } from './retry.ts';

test('decision table for whole-request failures', () => {
  const cases: Array<[Parameters<typeof decideRequest>[0], string, string]> = [
    [{ type: 'ConnectionError' }, 'retry', 'network'],
    [{ type: 'TimeoutError' }, 'retry', 'timeout'],
    [{ type: 'NoLivingConnectionsError' }, 'retry', 'network'],
    [{ status: 500 }, 'retry', 'http_5xx'],
    [{ status: 502 }, 'retry', 'http_5xx'],
    [{ status: 503 }, 'retry', 'http_5xx'],
    [{ status: 504 }, 'retry', 'http_5xx'],
    [{ status: 429 }, 'retry', 'http_429'],
    [{ status: 408 }, 'retry', 'http_408'],
    [{ status: 413 }, 'split', 'http_413'],
    [{ status: 401 }, 'fatal', 'http_401'],
    [{ status: 403 }, 'fatal', 'http_403'],
    [{ status: 400 }, 'fatal', 'http_4xx'],
    [{ status: 404 }, 'fatal', 'http_4xx'],
  ];
  for (const [failure, action, kind] of cases) {
    const d = decideRequest(failure);
    assert.equal(d.action, action, JSON.stringify(failure));
    assert.equal(d.kind, kind, JSON.stringify(failure));
  }
});

test('401 and 403 messages name the output and what to check', () => {
  const d401 = decideRequest({ status: 401, detail: 'security_exception: unable to authenticate user [elastic]' }, { output: 'elasticsearch' });
  assert.match(d401.message, /^output "elasticsearch": .*401.*check output\.elasticsearch\.api_key or username\/password$/);
  const d403 = decideRequest({ status: 403 }, { prefix: 'acme' });
  assert.match(d403.message, /output "elasticsearch".*403.*create_doc.*acme-\*/);
});

test('backoff ceilings double from initial up to max', () => {
  const cfg = { initial: 100, max: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((a) => backoffCeiling(a, cfg)), [100, 200, 400, 800, 1000, 1000]);
  // A loop retrying for days must not overflow.
  assert.equal(backoffCeiling(10_000, cfg), 1000);
  assert.equal(backoffCeiling(10_000, { initial: 1000, max: 60_000 }), 60_000);
});

test('full jitter: delays stay in [0, ceiling) and spread over the whole range', () => {
  const cfg = { initial: 50, max: 400 };
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  for (let attempt = 0; attempt < 8; attempt++) {
    const ceiling = backoffCeiling(attempt, cfg);
    const ds = Array.from({ length: 200 }, () => backoffDelay(attempt, cfg, rnd));
    assert.ok(ds.every((d) => Number.isInteger(d) && d >= 0 && d < ceiling), `attempt ${attempt}`);
    assert.ok(Math.min(...ds) < ceiling * 0.2 && Math.max(...ds) > ceiling * 0.8, `attempt ${attempt} spread`);
  }
  assert.equal(backoffDelay(3, cfg, () => 0), 0);
  assert.equal(backoffDelay(3, cfg, () => 0.999999), 399);
});
