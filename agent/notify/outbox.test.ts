import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { NotifierSchema } from '../config/schema.ts';
import { createLogger } from '../telemetry/logger.ts';
import { alertsFailed, alertsSent } from '../telemetry/metrics.ts';
import { createNotifier } from './notifiers.ts';
import type { Notifier } from './notifier.ts';
import { deliveryDelay, Outbox } from './outbox.ts';
import { messages } from '../../test/support/alert-results.ts';
import { startRecorder } from '../../test/support/http-recorder.ts';
import { workspace } from '../../test/support/workspace.ts';

const root = workspace('outbox');
let n = 0;
const freshDir = () => join(root, `o${n++}`);
const FAST = { max_attempts: 5, initial_backoff: '10ms', max_backoff: '40ms' };

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as Record<string, unknown>); cb(); } }) as never });
  return { logger, lines };
}

function slack(name: string, url: string, retry = FAST): [string, Notifier] {
  return [name, createNotifier(name, NotifierSchema.parse({ type: 'slack', webhook_url: url, retry }), { logger: captureLogger().logger })];
}
const fastRetry = () => ({ maxAttempts: 5, initialBackoff: 10, maxBackoff: 40 });

async function metric(counter: typeof alertsSent | typeof alertsFailed, labels: Record<string, string>): Promise<number> {
  const m = await counter.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((a, v) => a + v.value, 0);
}

test('backoff doubles up to the cap; Retry-After wins when longer', () => {
  const p = { maxAttempts: 10, initialBackoff: 1000, maxBackoff: 8000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => deliveryDelay(p, a, undefined, () => 1)), [1000, 2000, 4000, 8000, 8000]);
  assert.equal(deliveryDelay(p, 1, 30_000, () => 1), 30_000);
  assert.equal(deliveryDelay(p, 4, 10, () => 1), 8000);
  assert.ok(deliveryDelay(p, 1, undefined, () => 0) >= 800);
});

test('500 three times then 200: exactly one message arrives', async () => {
  const srv = await startRecorder([{ status: 500 }, { status: 500 }, { status: 500 }]);
  const { logger } = captureLogger();
  const box = new Outbox({ dir: freshDir(), notifiers: new Map([slack('s500', `${srv.url}/hook`)]), retry: fastRetry, logger });
  try {
    const before = await metric(alertsSent, { notifier: 's500' });
    box.start();
    assert.equal(box.enqueue('s500', messages().firing), true);
    assert.equal(await box.drain(5000), true);
    await new Promise((r) => setTimeout(r, 100)); // a duplicate would arrive in this time
    assert.deepEqual(srv.requests.map((r) => r.status), [500, 500, 500, 200]);
    assert.equal(new Set(srv.requests.map((r) => r.body)).size, 1, 'the same message each time');
    assert.equal(await metric(alertsSent, { notifier: 's500' }) - before, 1);
  } finally {
    await box.stop(1000);
    await srv.close();
  }
});

test('429 with Retry-After is honoured before the next attempt', async () => {
  const srv = await startRecorder([{ status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }]);
  const box = new Outbox({ dir: freshDir(), notifiers: new Map([slack('s429', `${srv.url}/hook`)]), retry: fastRetry, logger: captureLogger().logger });
  try {
    box.start();
    box.enqueue('s429', messages().firing);
    await srv.waitFor(2, 5000);
    const gap = srv.requests[1]!.at - srv.requests[0]!.at;
    assert.ok(gap >= 950, `second attempt after ${gap} ms, expected >= 1000 ms`);
    assert.equal(await box.drain(2000), true);
  } finally {
    await box.stop(1000);
    await srv.close();
  }
});

test('a failing channel does not block the others, and gives up loudly after max_attempts', async () => {
  const bad = await startRecorder(Array.from({ length: 10 }, () => ({ status: 503 })));
  const good = await startRecorder();
  const { logger, lines } = captureLogger();
  const dir = freshDir();
  const box = new Outbox({
    dir,
    notifiers: new Map([slack('bad', `${bad.url}/hook`), slack('good', `${good.url}/hook`)]),
    retry: (name) => (name === 'bad' ? { maxAttempts: 3, initialBackoff: 300, maxBackoff: 600 } : fastRetry()),
    logger,
  });
  try {
    const failedBefore = await metric(alertsFailed, { notifier: 'bad' });
    box.start();
    const { firing, recovered } = messages();
    box.enqueue('bad', firing);
    box.enqueue('bad', recovered);
    box.enqueue('good', firing);
    box.enqueue('good', recovered);
    await good.waitFor(2, 2000);
    assert.equal(box.failed('bad'), 0, 'the good channel finished while the bad one was still retrying');
    assert.deepEqual(good.requests.map((r) => (JSON.parse(r.body) as { text: string }).text.split(' ')[0]), ['FIRING', 'RECOVERED']);
    assert.equal(await box.drain(5000), true);
    assert.equal(bad.requests.length, 6, 'three attempts for each of the two messages');
    assert.equal(await metric(alertsFailed, { notifier: 'bad' }) - failedBefore, 2);
    assert.equal(box.failed('bad'), 2);
    const loud = lines.filter((l) => l['log.level'] === 'error' && String(l.message).startsWith('ALERT NOT DELIVERED'));
    assert.equal(loud.length, 2);
    assert.match(String(loud[0]!.message), /notifier "bad" gave up on the firing message of fraud-country\|features\.country\| after 3 attempts: notifier "bad": HTTP 503/);
  } finally {
    await box.stop(1000);
    await bad.close();
    await good.close();
  }
});

test('a rejected message (4xx) is given up at once, the next one still goes', async () => {
  const srv = await startRecorder([{ status: 400, body: 'invalid_blocks' }]);
  const box = new Outbox({ dir: freshDir(), notifiers: new Map([slack('s400', `${srv.url}/hook`)]), retry: fastRetry, logger: captureLogger().logger });
  try {
    box.start();
    const { firing, recovered } = messages();
    box.enqueue('s400', firing);
    box.enqueue('s400', recovered);
    assert.equal(await box.drain(3000), true);
    assert.equal(srv.requests.length, 2);
    assert.equal(box.failed('s400'), 1);
  } finally {
    await box.stop(1000);
    await srv.close();
  }
});

test('messages survive a stop and are sent at the next start; a message id is sent only once', async () => {
  const srv = await startRecorder(Array.from({ length: 3 }, () => ({ status: 502 })));
  const dir = freshDir();
  const retry = () => ({ maxAttempts: 10, initialBackoff: 300, maxBackoff: 300 });
  const first = new Outbox({ dir, notifiers: new Map([slack('p', `${srv.url}/hook`)]), retry, logger: captureLogger().logger });
  const { firing } = messages();
  first.start();
  first.enqueue('p', firing);
  await srv.waitFor(1, 2000);
  await first.stop(50);
  assert.equal(readdirSync(join(dir, 'n-p', 'pending')).length, 1, 'kept on disk');
  srv.script.length = 0;

  const second = new Outbox({ dir, notifiers: new Map([slack('p', `${srv.url}/hook`)]), retry, logger: captureLogger().logger });
  try {
    assert.equal(second.enqueue('p', firing), false, 'already pending');
    second.start();
    assert.equal(await second.drain(3000), true);
    const ok = srv.requests.length;
    assert.equal(second.enqueue('p', firing), false, 'already sent');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(srv.requests.length, ok);
  } finally {
    await second.stop(1000);
    await srv.close();
  }
});

test('stop is safe without start and twice; an unknown notifier is a clear error', async () => {
  const box = new Outbox({ dir: freshDir(), notifiers: new Map(), logger: captureLogger().logger });
  await box.stop();
  await box.stop();
  assert.throws(() => box.enqueue('nope', messages().firing), /notifier "nope" is not configured; add it under notifiers:/);
});

test('secrets from the environment never reach a log line, even when delivery fails', async () => {
  const srv = await startRecorder([{ status: 500, body: 'echo /services/T9/B9/hunter2SECRETtoken' }]);
  const { registerSecret, clearSecrets } = await import('../telemetry/redact.ts');
  const url = `${srv.url}/services/T9/B9/hunter2SECRETtoken`;
  registerSecret(url);
  registerSecret('hunter2SECRETtoken');
  const { logger, lines } = captureLogger();
  const box = new Outbox({ dir: freshDir(), notifiers: new Map([slack('sec', url)]), retry: () => ({ maxAttempts: 2, initialBackoff: 10, maxBackoff: 10 }), logger });
  try {
    box.start();
    box.enqueue('sec', messages().firing);
    assert.equal(await box.drain(3000), true);
    const all = JSON.stringify(lines);
    assert.ok(lines.length >= 2, `${lines.length} log lines`);
    assert.ok(!all.includes('hunter2SECRETtoken'), all);
    assert.ok(all.includes('[REDACTED]'), all);
  } finally {
    await box.stop(1000);
    await srv.close();
    clearSecrets();
  }
});
