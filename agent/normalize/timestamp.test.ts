import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTimestamp, epochUnitOf, isCanonicalIsoUtc, parseTimestamp } from './timestamp.ts';

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

test('auto: epoch microseconds and nanoseconds by magnitude (the issue-11 line is 2026, not the year 58889)', () => {
  assert.equal(parseTimestamp(T * 1000), T);
  assert.equal(parseTimestamp(T * 1_000_000), T);
  assert.equal(parseTimestamp(String(T * 1000)), T);
  assert.equal(parseTimestamp('1714566645123000000'), T);
  assert.equal(new Date(parseTimestamp(1796193000000000)!).toISOString(), '2026-12-02T06:30:00.000Z');
  assert.equal(epochUnitOf(99_999_999_999), 'epoch_s');
  assert.equal(epochUnitOf(1e11), 'epoch_ms');
  assert.equal(epochUnitOf(99_999_999_999_999), 'epoch_ms');
  assert.equal(epochUnitOf(1e14), 'epoch_us');
  assert.equal(epochUnitOf(1e17), 'epoch_ns');
  assert.equal(parseTimestamp(T * 1000, 'epoch_us'), T);
  assert.equal(parseTimestamp(T * 1_000_000, 'epoch_ns'), T);
});

const MIN = Date.UTC(2000, 0, 1);
const MAX = T + 86_400_000;

test('checkTimestamp: a plausible time passes; outside the range or a unit mismatch says which', () => {
  assert.equal(checkTimestamp(T, 'auto', MIN, MAX), T);
  assert.equal(checkTimestamp('2024-05-01T12:30:45.123Z', 'auto', MIN, MAX), T);
  assert.equal(checkTimestamp(T / 1000, 'epoch_s', MIN, MAX), T);
  assert.equal(checkTimestamp(String(T), 'epoch_ms', MIN, MAX), T);
  // issue 12: epoch seconds under epoch_ms used to become 1970-01-20
  assert.deepEqual(checkTimestamp(1714566645, 'epoch_ms', MIN, MAX), { problem: 'mismatch', unit: 'epoch_s' });
  assert.deepEqual(checkTimestamp('1714566645123', 'epoch_s', MIN, MAX), { problem: 'mismatch', unit: 'epoch_ms' });
  assert.deepEqual(checkTimestamp(T * 1000, 'epoch_ms', MIN, MAX), { problem: 'mismatch', unit: 'epoch_us' });
  assert.deepEqual(checkTimestamp(0, 'auto', MIN, MAX), { problem: 'range', ms: 0, unit: 'epoch_s' });
  assert.deepEqual(checkTimestamp(MAX + 1, 'auto', MIN, MAX), { problem: 'range', ms: MAX + 1, unit: 'epoch_ms' });
  assert.deepEqual(checkTimestamp('1999-12-31T23:59:59Z', 'auto', MIN, MAX), { problem: 'range', ms: MIN - 1000, unit: undefined });
  assert.deepEqual(checkTimestamp('yesterday', 'auto', MIN, MAX), { problem: 'unusable' });
  assert.deepEqual(checkTimestamp(1e300, 'auto', MIN, MAX), { problem: 'unusable' });
});

test('explicit formats are honoured', () => {
  assert.equal(parseTimestamp(1714566645, 'epoch_ms'), 1714566645, 'parsing alone reads the unit given (checkTimestamp flags the mismatch)');
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
