import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRequest } from './retry.ts';

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
