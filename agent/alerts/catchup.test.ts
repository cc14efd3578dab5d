import { test } from 'node:test';
import assert from 'node:assert/strict';
import { everyMs, planCatchUp } from './catchup.ts';

const H = 3_600_000;
const hourly = everyMs(H);

test('without a cursor only the latest window is evaluated', () => {
  const p = planCatchUp({ rule: 'r', latestEnd: new Date('2024-05-01T10:00:00Z'), nextEnd: hourly, maxWindows: 24 });
  assert.deepEqual(p, { ends: ['2024-05-01T10:00:00.000Z'], skipped: 0 });
});

test('every missed window after the cursor, oldest first', () => {
  const p = planCatchUp({ rule: 'r', cursor: '2024-05-01T07:00:00.000Z', latestEnd: new Date('2024-05-01T10:00:00Z'), nextEnd: hourly, maxWindows: 24 });
  assert.deepEqual(p.ends, ['2024-05-01T08:00:00.000Z', '2024-05-01T09:00:00.000Z', '2024-05-01T10:00:00.000Z']);
  assert.equal(p.warning, undefined);
});

test('an up-to-date cursor means nothing to do', () => {
  const p = planCatchUp({ rule: 'r', cursor: '2024-05-01T10:00:00.000Z', latestEnd: new Date('2024-05-01T10:00:00Z'), nextEnd: hourly, maxWindows: 24 });
  assert.deepEqual(p.ends, []);
});

test('beyond the limit the latest windows are kept and the skip is said', () => {
  const p = planCatchUp({ rule: 'fraud', cursor: '2024-05-01T00:00:00.000Z', latestEnd: new Date('2024-05-03T00:00:00Z'), nextEnd: hourly, maxWindows: 3 });
  assert.deepEqual(p.ends, ['2024-05-02T22:00:00.000Z', '2024-05-02T23:00:00.000Z', '2024-05-03T00:00:00.000Z']);
  assert.equal(p.skipped, 45);
  assert.match(p.warning!, /^rule "fraud": 45 missed window\(s\) ending 2024-05-01T01:00:00.000Z to 2024-05-02T21:00:00.000Z are skipped \(down for 2d; rules.max_catchup_windows is 3\)/);
});
