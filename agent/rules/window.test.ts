import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTask } from 'node-cron';
import { nextFire, nextWindow, prevFire, scheduleInterval, toTimeWindow, windowFor, windowFromBounds, windowsBetween } from './window.ts';

const d = (s: string) => new Date(s);
const iso = (x: Date | undefined) => x?.toISOString();

test('nextFire is strictly after, prevFire is at or before, in UTC', () => {
  assert.equal(iso(nextFire('*/15 * * * *', d('2024-03-01T10:07:30Z'))), '2024-03-01T10:15:00.000Z');
  assert.equal(iso(prevFire('*/15 * * * *', d('2024-03-01T10:07:30Z'))), '2024-03-01T10:00:00.000Z');
  assert.equal(iso(nextFire('*/15 * * * *', d('2024-03-01T10:15:00Z'))), '2024-03-01T10:30:00.000Z');
  assert.equal(iso(prevFire('*/15 * * * *', d('2024-03-01T10:15:00.999Z'))), '2024-03-01T10:15:00.000Z');
  // six fields: seconds
  assert.equal(iso(nextFire('*/10 * * * * *', d('2024-03-01T10:00:05.200Z'))), '2024-03-01T10:00:10.000Z');
  // across a year, a leap day, the previous working day
  assert.equal(iso(nextFire('0 0 1 1 *', d('2024-12-31T23:59:59Z'))), '2025-01-01T00:00:00.000Z');
  assert.equal(iso(nextFire('0 0 29 2 *', d('2024-03-01T00:00:00Z'))), '2028-02-29T00:00:00.000Z');
  assert.equal(iso(prevFire('0 23 * * *', d('2024-03-01T05:00:00Z'))), '2024-02-29T23:00:00.000Z');
  assert.equal(iso(prevFire('0 9 * * 1-5', d('2024-03-04T08:00:00Z'))), '2024-03-01T09:00:00.000Z');
  // node-cron's special tokens: last day, second Monday, names
  assert.equal(iso(nextFire('0 0 L * *', d('2024-02-10T00:00:00Z'))), '2024-02-29T00:00:00.000Z');
  assert.equal(iso(nextFire('0 12 * * 1#2', d('2024-03-01T00:00:00Z'))), '2024-03-11T12:00:00.000Z');
  assert.equal(iso(nextFire('0 6 * * sun', d('2024-03-01T00:00:00Z'))), '2024-03-03T06:00:00.000Z');
  assert.equal(iso(nextFire('@daily', d('2024-03-01T00:00:00Z'))), '2024-03-02T00:00:00.000Z');
  // valid for node-cron, yet never fires: the 1st of a month is never its fifth Monday
  assert.equal(nextFire('0 0 1 * 1#5', d('2024-01-01T00:00:00Z')), undefined);
  assert.equal(prevFire('0 0 1 * 1#5', d('2024-01-01T00:00:00Z')), undefined);
  // rare but real: Feb 29 on a Monday (node-cron's AND of day-of-month and day-of-week)
  assert.equal(iso(nextFire('0 0 29 2 1', d('2024-03-01T00:00:00Z'))), '2044-02-29T00:00:00.000Z');
});

test('the iterator agrees with node-cron on every fire time and every minute in between', () => {
  const exprs = ['*/7 * * * *', '5 * * * *', '0 9-17/2 * * 1-5', '30 0 * * *', '0 0 L * *', '0 12 * * 5L', '0 0 15W * *', '0 3 1-7 * mon', '*/20 */2 * * * *'];
  for (const expr of exprs) {
    const task = createTask(expr, () => {}, { timezone: 'Etc/UTC' });
    try {
      let t = d('2024-01-01T00:00:00Z');
      let checkedMinutes = 0;
      for (let i = 0; i < 40; i++) {
        const n = nextFire(expr, t);
        assert.ok(n, `${expr} fires after ${t.toISOString()}`);
        assert.ok(task.match(n), `${expr}: node-cron matches ${n.toISOString()}`);
        assert.equal(+prevFire(expr, n)!, +n, `${expr}: prevFire of a fire time is itself`);
        assert.equal(+prevFire(expr, +n - 1000)!, i === 0 ? +prevFire(expr, t)! : +t, `${expr}: prevFire walks back to the previous fire`);
        // Every whole minute strictly between two fires must not match (bounded work per expression).
        if (!expr.startsWith('*/20 ') && checkedMinutes < 4000) {
          for (let m = Math.floor(+t / 60_000) * 60_000 + 60_000; m < +n && checkedMinutes < 4000; m += 60_000, checkedMinutes++) {
            assert.ok(!task.match(new Date(m)), `${expr}: node-cron does not match ${new Date(m).toISOString()}`);
          }
        }
        t = n;
      }
    } finally {
      void task.destroy();
    }
  }
});

test('scheduleInterval is the shortest gap between fires, and undefined when it never fires', () => {
  assert.equal(scheduleInterval('*/5 * * * *'), 300_000);
  assert.equal(scheduleInterval('5 * * * *'), 3_600_000);
  assert.equal(scheduleInterval('0 9-17 * * 1-5'), 3_600_000);
  assert.equal(scheduleInterval('@daily'), 86_400_000);
  assert.equal(scheduleInterval('*/30 * * * * *'), 30_000);
  assert.equal(scheduleInterval('0 0 1 * 1#5'), undefined);
});

const hourly = { schedule: '5 * * * *', window: 3_600_000, delay: 300_000 };

test('windowFor: closed-open, aligned to the schedule, due `delay` after its end; the same for a late timer', () => {
  // '5 * * * *' fires at hh:05; delay 5m: the window [09:05, 10:05) is evaluated at 10:10.
  const w = windowFor(hourly, d('2024-03-01T10:10:00.250Z'));
  assert.deepEqual(toTimeWindow(w), { from: '2024-03-01T09:05:00.000Z', to: '2024-03-01T10:05:00.000Z' });
  assert.equal(iso(w.scheduledAt), '2024-03-01T10:05:00.000Z');
  assert.equal(iso(w.dueAt), '2024-03-01T10:10:00.000Z');
  assert.deepEqual(toTimeWindow(windowFor(hourly, d('2024-03-01T10:17:42Z'))), toTimeWindow(w));
  assert.deepEqual(toTimeWindow(windowFor(hourly, d('2024-03-01T10:09:59Z'))), { from: '2024-03-01T08:05:00.000Z', to: '2024-03-01T09:05:00.000Z' });
  // the default delay of 1m on '0 * * * *': [05:00, 06:00) at 06:01, never [04:59, 05:59)
  const top = { schedule: '0 * * * *', window: 3_600_000, delay: 60_000 };
  assert.deepEqual(toTimeWindow(windowFor(top, d('2024-03-01T06:01:00Z'))), { from: '2024-03-01T05:00:00.000Z', to: '2024-03-01T06:00:00.000Z' });
  assert.equal(iso(nextWindow(top, d('2024-03-01T06:00:30Z'))!.dueAt), '2024-03-01T06:01:00.000Z');
  assert.equal(iso(nextWindow(top, d('2024-03-01T06:01:00Z'))!.dueAt), '2024-03-01T07:01:00.000Z');
  // a sliding window longer than the interval overlaps the previous one
  const sliding = windowFor({ schedule: '*/15 * * * *', window: 3_600_000, delay: 60_000 }, d('2024-03-01T10:16:00Z'));
  assert.deepEqual(toTimeWindow(sliding), { from: '2024-03-01T09:15:00.000Z', to: '2024-03-01T10:15:00.000Z' });
  assert.throws(() => windowFor({ schedule: '0 0 1 * 1#5', window: 1, delay: 0 }, d('2024-03-01T00:00:00Z')), /no fire time/);
});

test('windowFromBounds: --from/--to are the window as given; alone, one is completed with the window length', () => {
  const top = { schedule: '0 * * * *', window: 3_600_000, delay: 60_000 };
  const given = windowFromBounds(top, +d('2024-03-01T05:00:00Z'), +d('2024-03-01T06:00:00Z'), d('2024-03-02T00:00:00Z'));
  assert.deepEqual(toTimeWindow(given), toTimeWindow(windowFor(top, d('2024-03-01T06:01:00Z'))));
  assert.deepEqual(toTimeWindow(windowFromBounds(top, +d('2024-03-01T05:00:00Z'), undefined, 0)), { from: '2024-03-01T05:00:00.000Z', to: '2024-03-01T06:00:00.000Z' });
  assert.deepEqual(toTimeWindow(windowFromBounds(top, undefined, undefined, d('2024-03-01T06:00:59Z'))), { from: '2024-03-01T04:00:00.000Z', to: '2024-03-01T05:00:00.000Z' });
});

test('windowsBetween: catch-up after a restart, contiguous, oldest first, capped with a skip count', () => {
  const all = windowsBetween(hourly, d('2024-03-01T06:05:00Z'), d('2024-03-01T10:10:30Z'), 24);
  assert.deepEqual(all.windows.map((w) => toTimeWindow(w).from.slice(11, 16)), ['06:05', '07:05', '08:05', '09:05']);
  assert.equal(all.skipped, 0);
  for (let i = 1; i < all.windows.length; i++) assert.equal(+all.windows[i]!.from, +all.windows[i - 1]!.to);

  const capped = windowsBetween(hourly, d('2024-03-01T06:05:00Z'), d('2024-03-01T10:10:30Z'), 2);
  assert.deepEqual(capped.windows.map((w) => toTimeWindow(w).from.slice(11, 16)), ['08:05', '09:05']);
  assert.equal(capped.skipped, 2);

  // the window ending 11:05 is not due before 11:10
  assert.deepEqual(windowsBetween(hourly, d('2024-03-01T10:05:00Z'), d('2024-03-01T11:09:00Z'), 24).windows, []);
  const first = windowsBetween(hourly, undefined, d('2024-03-01T10:10:30Z'), 24);
  assert.deepEqual(first.windows.map(toTimeWindow), [{ from: '2024-03-01T09:05:00.000Z', to: '2024-03-01T10:05:00.000Z' }]);
  assert.equal(first.skipped, 0);

  // a day of per-minute windows behind: only the newest `limit` are returned, the rest counted
  const far = windowsBetween({ schedule: '* * * * *', window: 60_000, delay: 0 }, d('2024-02-29T00:00:00Z'), d('2024-03-01T00:00:00Z'), 10);
  assert.equal(far.windows.length, 10);
  assert.equal(far.skipped, 1440 - 10);
});
