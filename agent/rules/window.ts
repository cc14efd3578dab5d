/**
 * Schedules and windows, pure and in UTC.
 *
 * A cron expression (5 or 6 fields) is expanded by node-cron's exported `parse`, so the agent's
 * scheduler and this iterator agree on what an expression means; the walk itself is ours, because
 * node-cron offers no "previous fire time" and no fixed clock. Semantics follow node-cron 4:
 * day-of-month AND day-of-week must both match (not Vixie cron's OR), plus its L, nW, LW, L-n,
 * nL and n#m tokens. Run node-cron with `timezone: 'Etc/UTC'` (or use nextFire) to stay aligned.
 *
 * This is the one module for fire times and windows: the runner, `rules test`, `rules explain`,
 * the watches and the demo all call it. Windows are closed-open [from, to) and aligned to the
 * schedule: `to` is the scheduled fire time, `from` is `to - window`; the evaluation waits `delay`
 * after `to` (late data), it never shifts the window. Two evaluations of the same fire time always
 * get the same window.
 */
import { parse } from 'node-cron';
import type { TimeWindow } from './result.ts';

type DayToken = number | string;

export interface CronSchedule {
  readonly expression: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly DayToken[];
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: readonly DayToken[];
}

const DAY_MS = 86_400_000;
/** How far a walk looks for a fire time: the 28-year calendar cycle covers every day/weekday/month combination. */
const MAX_DAYS = 366 * 28 + 1;

const cache = new Map<string, CronSchedule>();

/** Parses (and caches) a cron expression; throws on an invalid one (validate with schema.ts cronProblem first). */
export function cronSchedule(expression: string): CronSchedule {
  let s = cache.get(expression);
  if (!s) {
    const f = parse(expression);
    const asc = (a: readonly number[]) => [...new Set(a)].sort((x, y) => x - y);
    s = {
      expression,
      seconds: asc(f.second),
      minutes: asc(f.minute),
      hours: asc(f.hour),
      daysOfMonth: f.dayOfMonth,
      months: new Set(f.month),
      daysOfWeek: f.dayOfWeek.map((d) => (d === 7 ? 0 : d)),
    };
    if (cache.size > 1000) cache.clear();
    cache.set(expression, s);
  }
  return s;
}

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function nearestWeekday(year: number, month: number, target: number): number {
  const last = lastDayOfMonth(year, month);
  if (target < 1 || target > last) return -1;
  const wd = new Date(Date.UTC(year, month - 1, target)).getUTCDay();
  if (wd === 6) return target === 1 ? target + 2 : target - 1;
  if (wd === 0) return target === last ? target - 2 : target + 1;
  return target;
}

function matchesDayOfMonth(tokens: readonly DayToken[], year: number, month: number, day: number): boolean {
  for (const t of tokens) {
    if (t === day) return true;
    if (typeof t !== 'string') continue;
    if (t === 'L' && day === lastDayOfMonth(year, month)) return true;
    const w = /^(\d{1,2}|L)W$/.exec(t);
    if (w) {
      const target = w[1] === 'L' ? lastDayOfMonth(year, month) : Number(w[1]);
      if (nearestWeekday(year, month, target) === day) return true;
    }
    const off = /^L-(\d{1,2})$/.exec(t);
    if (off && lastDayOfMonth(year, month) - Number(off[1]) === day) return true;
  }
  return false;
}

function matchesDayOfWeek(tokens: readonly DayToken[], year: number, month: number, day: number): boolean {
  const wd = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  for (const t of tokens) {
    if (t === wd) return true;
    if (typeof t !== 'string') continue;
    const nth = /^([0-7])#([1-5])$/.exec(t);
    if (nth) {
      if (Number(nth[1]) % 7 === wd && Math.floor((day - 1) / 7) + 1 === Number(nth[2])) return true;
      continue;
    }
    const last = /^([0-7])L$/i.exec(t);
    if (last && Number(last[1]) % 7 === wd && day + 7 > lastDayOfMonth(year, month)) return true;
  }
  return false;
}

function dayMatches(s: CronSchedule, dayStart: number): boolean {
  const d = new Date(dayStart);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  return s.months.has(m) && matchesDayOfMonth(s.daysOfMonth, y, m, day) && matchesDayOfWeek(s.daysOfWeek, y, m, day);
}

/** First time of day (seconds since midnight) >= lo, or undefined. */
function firstTimeFrom(s: CronSchedule, lo: number): number | undefined {
  for (const h of s.hours) {
    if ((h + 1) * 3600 <= lo) continue;
    for (const m of s.minutes) {
      if (h * 3600 + (m + 1) * 60 <= lo) continue;
      for (const sec of s.seconds) {
        const t = h * 3600 + m * 60 + sec;
        if (t >= lo) return t;
      }
    }
  }
  return undefined;
}

/** Last time of day (seconds since midnight) <= hi, or undefined. */
function lastTimeUpTo(s: CronSchedule, hi: number): number | undefined {
  for (let i = s.hours.length - 1; i >= 0; i--) {
    const h = s.hours[i]!;
    if (h * 3600 > hi) continue;
    for (let j = s.minutes.length - 1; j >= 0; j--) {
      const m = s.minutes[j]!;
      if (h * 3600 + m * 60 > hi) continue;
      for (let k = s.seconds.length - 1; k >= 0; k--) {
        const t = h * 3600 + m * 60 + s.seconds[k]!;
        if (t <= hi) return t;
      }
    }
  }
  return undefined;
}

/** The first fire time strictly after `after`, or undefined when none within 28 years. */
export function nextFire(expression: string | CronSchedule, after: Date | number): Date | undefined {
  const s = typeof expression === 'string' ? cronSchedule(expression) : expression;
  const start = Math.floor(+after / 1000) * 1000 + 1000;
  let day = start - (start % DAY_MS);
  let lo = (start - day) / 1000;
  for (let i = 0; i < MAX_DAYS; i++, day += DAY_MS, lo = 0) {
    if (!dayMatches(s, day)) continue;
    const t = firstTimeFrom(s, lo);
    if (t !== undefined) return new Date(day + t * 1000);
  }
  return undefined;
}

/** The last fire time at or before `at`, or undefined when none within 28 years. */
export function prevFire(expression: string | CronSchedule, at: Date | number): Date | undefined {
  const s = typeof expression === 'string' ? cronSchedule(expression) : expression;
  const end = Math.floor(+at / 1000) * 1000;
  let day = end - (((end % DAY_MS) + DAY_MS) % DAY_MS);
  let hi = (end - day) / 1000;
  for (let i = 0; i < MAX_DAYS; i++, day -= DAY_MS, hi = 86_399) {
    if (!dayMatches(s, day)) continue;
    const t = lastTimeUpTo(s, hi);
    if (t !== undefined) return new Date(day + t * 1000);
  }
  return undefined;
}

/** Fixed start for interval checks, so validation gives the same answer whenever it runs. */
const INTERVAL_EPOCH = Date.UTC(2024, 0, 1);

/**
 * The shortest gap between consecutive fire times among the first `samples` after a fixed date
 * (2024-01-01 UTC), in ms; undefined when the expression never fires. A window shorter than this
 * leaves data that no evaluation looks at.
 */
export function scheduleInterval(expression: string, samples = 32): number | undefined {
  const s = cronSchedule(expression);
  let prev = nextFire(s, INTERVAL_EPOCH - 1);
  if (!prev) return undefined;
  let min = Infinity;
  for (let i = 0; i < samples; i++) {
    const n = nextFire(s, prev);
    if (!n) break;
    min = Math.min(min, +n - +prev);
    prev = n;
  }
  return Number.isFinite(min) ? min : undefined;
}

/**
 * A window to evaluate: closed-open [from, to) in UTC. `to` is the schedule's fire time
 * (`scheduledAt`), so windows are aligned to the schedule; the evaluation runs at `dueAt`, `delay`
 * later, so that late documents of the window are in by then. The delay never moves the window.
 */
export interface RuleWindow {
  from: Date;
  to: Date;
  scheduledAt: Date;
  dueAt: Date;
}

export interface WindowedRule {
  schedule: string;
  window: number;
  delay: number;
}

/** The window that ends at the fire time `fire`. */
export function windowAt(rule: WindowedRule, fire: Date | number): RuleWindow {
  const to = +fire;
  return { from: new Date(to - rule.window), to: new Date(to), scheduledAt: new Date(to), dueAt: new Date(to + rule.delay) };
}

/**
 * The newest window due at `at` (its dueAt <= at): a timer that fires late still gets its
 * scheduled window, and `rules test` without --from/--to gets the window the agent evaluated last.
 */
export function windowFor(rule: WindowedRule, at: Date | number): RuleWindow {
  const fire = prevFire(rule.schedule, +at - rule.delay);
  if (!fire) throw new RangeError(`schedule "${rule.schedule}" has no fire time at or before ${new Date(+at - rule.delay).toISOString()}`);
  return windowAt(rule, fire);
}

/** The first window due strictly after `after`, or undefined when the schedule never fires again. */
export function nextWindow(rule: WindowedRule, after: Date | number): RuleWindow | undefined {
  const fire = nextFire(rule.schedule, +after - rule.delay);
  return fire ? windowAt(rule, fire) : undefined;
}

/**
 * The window of `--from`/`--to` (`rules test`, `rules explain`): exactly the given bounds (one of
 * them alone is completed with the rule's window length), else the newest window due at `now`.
 * The agent evaluates [fire - window, fire), so `--from 05:00 --to 06:00` of an hourly rule is the
 * window the agent evaluated at 06:00 + delay.
 */
export function windowFromBounds(rule: WindowedRule, from: number | undefined, to: number | undefined, now: Date | number): RuleWindow {
  if (from === undefined && to === undefined) return windowFor(rule, now);
  const f = from ?? to! - rule.window;
  const t = to ?? f + rule.window;
  return { from: new Date(f), to: new Date(t), scheduledAt: new Date(t), dueAt: new Date(t + rule.delay) };
}

/** Upper bound on windows counted as skipped, so a months-old lastEnd cannot stall the agent. */
export const MAX_SKIP_COUNT = 100_000;

/**
 * Windows due after a restart: every scheduled window due at or before now (dueAt <= now) whose end
 * is after `lastEnd` (the end of the last evaluated window), oldest first, at most `max` (the newest
 * ones; older ones are counted in `skipped`, up to MAX_SKIP_COUNT). Without `lastEnd` (first run)
 * only the latest window is due.
 */
export function windowsBetween(rule: WindowedRule, lastEnd: Date | number | undefined, now: Date | number, max: number): { windows: RuleWindow[]; skipped: number } {
  const s = cronSchedule(rule.schedule);
  const newest: RuleWindow[] = [];
  let skipped = 0;
  const limit = lastEnd === undefined ? 1 : Math.max(0, max);
  let fire = prevFire(s, +now - rule.delay);
  while (fire) {
    const w = windowAt(rule, fire);
    if (lastEnd !== undefined && +w.to <= +lastEnd) break;
    if (newest.length < limit) newest.push(w);
    else if (lastEnd === undefined || ++skipped >= MAX_SKIP_COUNT) break;
    fire = prevFire(s, +fire - 1000);
  }
  return { windows: newest.reverse(), skipped };
}

/** ISO strings, as RuleResult.window. */
export function toTimeWindow(w: Pick<RuleWindow, 'from' | 'to'>): TimeWindow {
  return { from: w.from.toISOString(), to: w.to.toISOString() };
}

function listOrStar(values: readonly (number | string)[], all: number): string {
  return values.length === all && values.every((v) => typeof v === 'number') ? '*' : values.join(',');
}

/**
 * A 6-field cron expression that fires `delayMs` after each fire time of `expression`, for a
 * scheduler that cannot wait by itself (Watcher triggers at the cron time: a watch triggered
 * `delay` after the window's end looks at the same window as the agent). Throws RangeError when no
 * single cron expression says it: a delay that is not whole seconds, shifted times that are not a
 * product of seconds x minutes x hours, or a shift past midnight on a schedule restricted to days.
 */
export function shiftSchedule(expression: string, delayMs: number): string {
  const s = cronSchedule(expression);
  if (delayMs % 1000 !== 0) throw new RangeError(`delay ${delayMs}ms is not whole seconds`);
  const d = delayMs / 1000;
  const everyDay = s.months.size === 12 && s.daysOfMonth.length === 31 && s.daysOfWeek.every((x) => typeof x === 'number') && new Set(s.daysOfWeek).size === 7;
  const shifted = new Set<number>();
  for (const h of s.hours) for (const m of s.minutes) for (const sec of s.seconds) {
    const t = h * 3600 + m * 60 + sec + d;
    if (t >= 86_400 && !everyDay) throw new RangeError(`schedule "${expression}" plus delay ${d}s runs past midnight on a schedule restricted to some days`);
    shifted.add(t % 86_400);
  }
  const hours = new Set<number>();
  const minutes = new Set<number>();
  const seconds = new Set<number>();
  for (const t of shifted) {
    hours.add(Math.floor(t / 3600));
    minutes.add(Math.floor((t % 3600) / 60));
    seconds.add(t % 60);
  }
  if (hours.size * minutes.size * seconds.size !== shifted.size) throw new RangeError(`schedule "${expression}" plus delay ${d}s is not one cron expression`);
  const asc = (x: Set<number>) => [...x].sort((a, b) => a - b);
  const dayFields = [listOrStar(s.daysOfMonth, 31), listOrStar([...s.months], 12), s.daysOfWeek.length === 7 && s.daysOfWeek.every((x) => typeof x === 'number') ? '*' : s.daysOfWeek.join(',')];
  return [listOrStar(asc(seconds), 60), listOrStar(asc(minutes), 60), listOrStar(asc(hours), 24), ...dayFields].join(' ');
}
