import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffCeiling, backoffDelay } from './backoff.ts';

// Moved from agent/sinks/elasticsearch/retry.test.ts (unchanged but for the import).
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

// Moved from agent/sinks/embedded/encode.test.ts (was backoffMs(attempt, initial, max, random)).
test('embedded sink: backoff grows exponentially up to the cap', () => {
  const cfg = { initial: 100, max: 30_000 };
  assert.equal(backoffDelay(0, cfg, () => 1), 100);
  assert.equal(backoffDelay(3, cfg, () => 1), 800);
  assert.equal(backoffDelay(20, cfg, () => 1), 30_000);
  assert.equal(backoffDelay(5, cfg, () => 0), 0);
});

test('outbox: 20% jitter keeps the wait within [0.8, 1] of the ceiling', () => {
  const cfg = { initial: 1000, max: 8000, jitter: 0.2 };
  assert.deepEqual([0, 1, 2, 3, 4].map((a) => backoffDelay(a, cfg, () => 1)), [1000, 2000, 4000, 8000, 8000]);
  assert.equal(backoffDelay(0, cfg, () => 0), 800);
  assert.equal(backoffDelay(2, cfg, () => 0.5), 3600);
});

test('no jitter: the ceiling itself (alert store connection, joiner, dead host)', () => {
  const cfg = { initial: 1000, max: 30_000, jitter: 0 };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, cfg, () => 0.3)), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  assert.equal(backoffDelay(1e9, cfg), 30_000);
  assert.equal(backoffCeiling(-3, { initial: 50, max: 10 }), 50);
});
