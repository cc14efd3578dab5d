/**
 * Catching up after downtime: which windows of a rule to evaluate now, given its cursor (end of the
 * last evaluated window, from the StateStore) and the schedule. Pure.
 *
 * - No cursor (a new rule, a fresh store): only the latest due window; history is not backfilled.
 * - Otherwise every window end after the cursor up to `latestEnd`, oldest first, at most
 *   `maxWindows` (rules.max_catchup_windows): the most recent ones are kept, the older ones are
 *   skipped and a warning says which.
 */
import { formatDuration } from '../config/units.ts';

export interface CatchUpPlan {
  /** Window ends (ISO) to evaluate, oldest first. */
  ends: string[];
  skipped: number;
  /** Set when windows were skipped: what to log. */
  warning?: string;
}

/** Safety bound on the walk over a schedule, whatever the downtime. */
const MAX_WALK = 100_000;

export function planCatchUp(opts: {
  rule: string;
  cursor?: string;
  latestEnd: Date;
  /** The schedule: the first window end strictly after `after` (a cron's next fire time). */
  nextEnd: (after: Date) => Date;
  maxWindows: number;
}): CatchUpPlan {
  const latest = opts.latestEnd.getTime();
  if (!opts.cursor) return { ends: [opts.latestEnd.toISOString()], skipped: 0 };
  const ends: number[] = [];
  let t = Date.parse(opts.cursor);
  for (let i = 0; i < MAX_WALK; i++) {
    const next = opts.nextEnd(new Date(t)).getTime();
    if (!(next > t) || next > latest) break;
    ends.push(next);
    t = next;
  }
  const keep = Math.max(0, opts.maxWindows);
  if (ends.length <= keep) return { ends: ends.map((e) => new Date(e).toISOString()), skipped: 0 };
  const skippedEnds = ends.slice(0, ends.length - keep);
  const kept = ends.slice(ends.length - keep);
  const downtime = formatDuration(latest - Date.parse(opts.cursor));
  return {
    ends: kept.map((e) => new Date(e).toISOString()),
    skipped: skippedEnds.length,
    warning: `rule "${opts.rule}": ${skippedEnds.length} missed window(s) ending ${new Date(skippedEnds[0]!).toISOString()} to ${new Date(skippedEnds.at(-1)!).toISOString()} are skipped `
      + `(down for ${downtime}; rules.max_catchup_windows is ${keep}); evaluating the latest ${kept.length}. Use \`driftbeat rules test\` to check the skipped period.`,
  };
}

/** nextEnd for a fixed interval aligned to the epoch (e.g. `1h` windows). */
export function everyMs(intervalMs: number): (after: Date) => Date {
  return (after) => new Date((Math.floor(after.getTime() / intervalMs) + 1) * intervalMs);
}
