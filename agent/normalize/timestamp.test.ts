import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCanonicalIsoUtc, parseTimestamp } from './timestamp.ts';

const T = Date.UTC(2024, 4, 1, 12, 30, 45, 123); // 2024-05-01T12:30:45.123Z

test('auto: epoch seconds, epoch milliseconds, as numbers and digit strings', () => {
  assert.equal(parseTimestamp(T / 1000), T);
  assert.equal(parseTimestamp(T), T);
  assert.equal(parseTimestamp(String(T / 1000)), T);
  assert.equal(parseTimestamp(String(T)), T);
  assert.equal(parseTimestamp(1714566645), 1714566645000);
  // the boundary: below 1e11 is seconds
  assert.equal(parseTimestamp(99_999_999_999), 99_999_999_999_000);
  assert.equal(parseTimestamp(100_000_000_000), 100_000_000_000);
});

test('auto: ISO 8601 with Z, offsets, no zone (UTC), space separator, date only, long fractions', () => {
  assert.equal(parseTimestamp('2024-05-01T12:30:45.123Z'), T);
  assert.equal(parseTimestamp('2024-05-01T14:30:45.123+02:00'), T);
  assert.equal(parseTimestamp('2024-05-01T14:30:45.123+0200'), T);
  assert.equal(parseTimestamp('2024-05-01T07:30:45.123-05'), T);
  assert.equal(parseTimestamp('2024-05-01T12:30:45.123'), T, 'no zone means UTC, not the host zone');
  assert.equal(parseTimestamp('2024-05-01 12:30:45.123456'), T, 'Python str(datetime), microseconds truncated');
  assert.equal(parseTimestamp('2024-05-01T12:30:45.1234567Z'), T);
  assert.equal(parseTimestamp('2024-05-01T12:30Z'), Date.UTC(2024, 4, 1, 12, 30));
  assert.equal(parseTimestamp('2024-05-01'), Date.UTC(2024, 4, 1));
  assert.equal(parseTimestamp('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
});

test('unusable timestamps are undefined', () => {
  for (const bad of [
    'yesterday', 'May 1 2024', '2024-13-01T00:00:00Z', '2024-02-30', '2023-02-29', '2024-05-01T25:00:00Z',
    '2024-05-01T12:30:45.Z', '2024-05-01T12:30:45Zjunk', '2024-05-01T12:30:45+25:00', '', '-5', '1.2.3', '12e5',
    null, true, {}, [], Number.NaN, Number.POSITIVE_INFINITY, 1e300, undefined,
  ]) {
    assert.equal(parseTimestamp(bad), undefined, JSON.stringify(bad));
  }
});

test('explicit formats are honoured', () => {
  assert.equal(parseTimestamp(1714566645, 'epoch_ms'), 1714566645, 'a small number is still milliseconds');
  assert.equal(parseTimestamp(1714566645123, 'epoch_s'), 1714566645123000);
  assert.equal(parseTimestamp('1714566645', 'epoch_s'), 1714566645000);
  assert.equal(parseTimestamp(1714566645, 'iso8601'), undefined);
  assert.equal(parseTimestamp('1714566645', 'iso8601'), undefined);
  assert.equal(parseTimestamp('2024-05-01T12:30:45.123Z', 'epoch_ms'), undefined);
  assert.equal(parseTimestamp('2024-05-01T12:30:45.123Z', 'iso8601'), T);
});

test('isCanonicalIsoUtc accepts exactly what toISOString prints for a real instant', () => {
  assert.equal(isCanonicalIsoUtc('2024-05-01T12:30:45.123Z'), true);
  assert.equal(isCanonicalIsoUtc(new Date(T).toISOString()), true);
  for (const s of ['2024-02-30T00:00:00.000Z', '2023-02-29T00:00:00.000Z', '2024-05-01T24:00:00.000Z', '2024-05-01T12:30:60.000Z', '2024-05-01t12:30:45.123Z', '2024-05-01T12:30:45.12xZ', '2024-05-01T12:30:45.123+', '2024-05-01 12:30:45.123Z']) {
    assert.equal(isCanonicalIsoUtc(s), false, s);
  }
});
