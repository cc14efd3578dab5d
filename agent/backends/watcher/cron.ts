/**
 * Time in a watch: the rule's node-cron schedule as Watcher's Quartz cron, durations as date math
 * and Watcher time values, and the window as date math on the trigger time. Pure.
 */
import { DriftbeatError } from '../../errors.ts';
import type { Rule } from '../../rules/schema.ts';
import { cronSchedule, shiftSchedule } from '../../rules/window.ts';

const DOW_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

/** `*\/n` means "from the field's start": Quartz wants the start spelled out. */
function quartzStep(field: string, start: number): string {
  return field.replace(/^\*\//, `${start}/`);
}

/**
 * A node-cron expression (5 or 6 fields, UTC) as Watcher's Quartz cron: seconds first, `?` in the
 * day field that is `*`, weekdays as names (cron's 0 and 7 are Sunday, Quartz counts 1-7 from
 * Sunday). node-cron requires day-of-month AND day-of-week to match; Quartz cannot say that, so an
 * expression restricting both is refused.
 */
export function quartzCron(expression: string): string {
  const expr = MACROS[expression.trim()] ?? expression.trim();
  let f = expr.split(/\s+/);
  if (f.length === 5) f = ['0', ...f];
  if (f.length !== 6) throw new DriftbeatError('ERR_WATCH_CRON', `schedule "${expression}": expected 5 or 6 cron fields`);
  const [sec, min, hour, dom, mon, dow] = f as [string, string, string, string, string, string];
  let qDom = quartzStep(dom, 1);
  let qDow: string;
  if (dow === '*' || dow === '?') {
    qDow = '?';
  } else {
    if (dom !== '*' && dom !== '?') {
      throw new DriftbeatError('ERR_WATCH_CRON', `schedule "${expression}": Watcher's cron cannot require both a day of month and a day of week; restrict only one of them`);
    }
    qDom = '?';
    const days = cronSchedule(expr).daysOfWeek;
    if (days.some((d) => typeof d !== 'number')) {
      throw new DriftbeatError('ERR_WATCH_CRON', `schedule "${expression}": day-of-week tokens such as L or # are not converted to Watcher's cron; use plain weekdays`);
    }
    qDow = [...new Set(days as number[])].sort((a, b) => a - b).map((d) => DOW_NAMES[d % 7]).join(',');
  }
  return [quartzStep(sec, 0), quartzStep(min, 0), quartzStep(hour, 0), qDom, quartzStep(mon, 1), qDow].join(' ');
}

/** Milliseconds as date math units (`6h`, `90s`); date math has no milliseconds, so they are refused. */
export function dateMathUnits(ms: number): string {
  if (ms % 1000 !== 0) throw new DriftbeatError('ERR_WATCH_DURATION', `duration ${ms}ms: watches need whole seconds (date math has no milliseconds)`);
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

/** A Watcher time value (throttle_period): no weeks there. */
export function timeValue(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const TRIGGER_TIME = '{{ctx.trigger.scheduled_time}}';

/** `{{ctx.trigger.scheduled_time}}||-10m-6h`: the trigger time minus the given durations (zeros left out). */
export function triggerMinus(...ms: number[]): string {
  const parts = ms.filter((x) => x > 0).map((x) => `-${dateMathUnits(x)}`);
  return parts.length ? `${TRIGGER_TIME}||${parts.join('')}` : TRIGGER_TIME;
}

/** The rule's schedule shifted by its delay: Watcher cannot wait after a trigger, so the trigger itself waits. */
export function delayedSchedule(rule: Rule): string {
  try {
    return shiftSchedule(rule.schedule, rule.delay);
  } catch (err) {
    throw new DriftbeatError('ERR_WATCH_CRON', `rule "${rule.name}": the watch triggers delay ${dateMathUnits(rule.delay)} after each fire time of "${rule.schedule}", and ${(err as Error).message}; choose a delay that keeps the fire times on the same day`);
  }
}
