/**
 * Record timestamps -> epoch milliseconds (DESIGN.md section 2).
 *
 * - ISO 8601 / RFC 3339: `YYYY-MM-DD`, optionally `T` or a space, `hh:mm[:ss[.fraction]]`, then
 *   `Z`, `±hh:mm`, `±hhmm` or `±hh`. Without an offset the time is taken as UTC (never the agent
 *   host's local zone, so two agents in different zones index the same instant). Fractions beyond
 *   milliseconds are truncated (the field is mapped as `date`, millisecond precision).
 * - Epoch: a JSON number or a string of digits (optionally with a fraction). With format `auto`
 *   the unit is read from the magnitude (epochUnitOf): below 1e11 seconds, below 1e14
 *   milliseconds, below 1e17 microseconds, else nanoseconds. Each band starts where the previous
 *   unit reaches the year 5138, so every instant from 1973-03-03 to 5138 has exactly one reading
 *   (a millisecond value before 1973-03-03 would be read as seconds). With an explicit epoch
 *   format a value whose magnitude says another unit is a mismatch (checkTimestamp), not a date
 *   in 1970.
 * - Plausibility (checkTimestamp): the instant must lie in the input's `timestamp_range`.
 *
 * Hand-written instead of Date.parse: Date.parse accepts many non-ISO forms ("May 1 2024") and
 * reads zone-less times in the local zone. Returns undefined for anything unusable.
 */
export type TimestampFormat = 'auto' | 'iso8601' | 'epoch_s' | 'epoch_ms' | 'epoch_us' | 'epoch_ns';
export type EpochUnit = 'epoch_s' | 'epoch_ms' | 'epoch_us' | 'epoch_ns';

const EPOCH_SECONDS_BELOW = 1e11;
const EPOCH_MS_BELOW = 1e14;
const EPOCH_US_BELOW = 1e17;
/** Milliseconds per unit. */
const MS_PER: Record<EpochUnit, number> = { epoch_s: 1000, epoch_ms: 1, epoch_us: 1e-3, epoch_ns: 1e-6 };
export const EPOCH_UNIT_NAMES: Record<EpochUnit, string> = {
  epoch_s: 'epoch seconds',
  epoch_ms: 'epoch milliseconds',
  epoch_us: 'epoch microseconds',
  epoch_ns: 'epoch nanoseconds',
};

/** The unit an epoch number's magnitude says (see the module comment). */
export function epochUnitOf(v: number): EpochUnit {
  const a = v < 0 ? -v : v;
  return a < EPOCH_SECONDS_BELOW ? 'epoch_s' : a < EPOCH_MS_BELOW ? 'epoch_ms' : a < EPOCH_US_BELOW ? 'epoch_us' : 'epoch_ns';
}
// ECMAScript's Date range.
const MAX_ABS_MS = 8.64e15;

export function parseTimestamp(value: unknown, format: TimestampFormat = 'auto'): number | undefined {
  if (typeof value === 'number') {
    if (format === 'iso8601') return undefined;
    return fromEpoch(value, format);
  }
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (format === 'iso8601') return parseIso(value);
  if (isDecimal(value)) return fromEpoch(Number(value), format);
  return format === 'auto' ? parseIso(value) : undefined;
}

function fromEpoch(v: number, format: TimestampFormat): number | undefined {
  if (!Number.isFinite(v)) return undefined;
  const unit = format === 'auto' || format === 'iso8601' ? epochUnitOf(v) : format;
  const ms = Math.round(v * MS_PER[unit]);
  return Math.abs(ms) <= MAX_ABS_MS ? ms : undefined;
}

/** Why a record's timestamp is not used (checkTimestamp); the normalizer words the reason. */
export type TimestampProblem =
  | { problem: 'unusable' }
  | { problem: 'mismatch'; unit: EpochUnit }
  | { problem: 'range'; ms: number; unit: EpochUnit | undefined };

/**
 * Parses and checks one timestamp: epoch milliseconds in [minMs, maxMs], or the problem.
 * Cheap on the good path: one parse, two comparisons; only a rejection allocates.
 */
export function checkTimestamp(value: unknown, format: TimestampFormat, minMs: number, maxMs: number): number | TimestampProblem {
  const ms = parseTimestamp(value, format);
  const epoch = typeof value === 'number' ? value : typeof value === 'string' && format !== 'iso8601' && isDecimal(value) ? Number(value) : undefined;
  if (epoch !== undefined && format !== 'auto' && format !== 'iso8601') {
    const unit = epochUnitOf(epoch);
    if (unit !== format) return { problem: 'mismatch', unit };
  }
  if (ms === undefined) return { problem: 'unusable' };
  if (ms < minMs || ms > maxMs) return { problem: 'range', ms, unit: epoch === undefined ? undefined : format === 'auto' ? epochUnitOf(epoch) : (format as EpochUnit) };
  return ms;
}

/** Digits with an optional fraction: `1714567890`, `1714567890.123`. No sign, no exponent. */
function isDecimal(s: string): boolean {
  let dot = false;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot && digits > 0) dot = true;
    else return false;
  }
  return digits > 0 && s.charCodeAt(s.length - 1) !== 46;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function num(s: string, from: number, len: number): number {
  let v = 0;
  for (let i = from; i < from + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1; // NaN from charCodeAt past the end also lands here
    v = v * 10 + c;
  }
  return v;
}

export function parseIso(s: string): number | undefined {
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined;
  const year = num(s, 0, 4);
  const month = num(s, 5, 2);
  const day = num(s, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return undefined;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let offsetMin = 0;
  let i = 10;
  if (i < n) {
    const sep = s.charCodeAt(i);
    if (sep !== 84 && sep !== 116 && sep !== 32) return undefined; // T, t, space
    hour = num(s, i + 1, 2);
    if (s.charCodeAt(i + 3) !== 58) return undefined;
    minute = num(s, i + 4, 2);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
    i += 6;
    if (i < n && s.charCodeAt(i) === 58) {
      second = num(s, i + 1, 2);
      // 60 is a leap second; Date.UTC rolls it into the next minute, as Elasticsearch does.
      if (second < 0 || second > 60) return undefined;
      i += 3;
      if (i < n && (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44)) {
        i++;
        let digits = 0;
        let frac = 0;
        while (i < n) {
          const c = s.charCodeAt(i) - 48;
          if (c < 0 || c > 9) break;
          if (digits < 3) frac = frac * 10 + c;
          digits++;
          i++;
        }
        if (digits === 0) return undefined;
        for (let d = digits; d < 3; d++) frac *= 10;
        ms = frac;
      }
    }
    if (i < n) {
      const z = s.charCodeAt(i);
      if (z === 90 || z === 122) {
        i++;
      } else if (z === 43 || z === 45) {
        const oh = num(s, i + 1, 2);
        if (oh < 0 || oh > 23) return undefined;
        let om = 0;
        i += 3;
        if (i < n) {
          if (s.charCodeAt(i) === 58) i++;
          om = num(s, i, 2);
          if (om < 0 || om > 59) return undefined;
          i += 2;
        }
        offsetMin = (z === 43 ? 1 : -1) * (oh * 60 + om);
      } else {
        return undefined;
      }
    }
    if (i !== n) return undefined;
  }
  const t = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
  // Date.UTC maps years 0-99 to 1900-1999; such timestamps are garbage in a prediction log anyway.
  return Number.isFinite(t) && year >= 100 ? t : undefined;
}

/**
 * True for exactly what Date#toISOString prints (`2024-05-01T12:30:45.123Z`) and denotes a real
 * instant. Lets the hot path keep such a string as is, without building a Date twice.
 */
export function isCanonicalIsoUtc(s: string): boolean {
  if (
    s.length !== 24 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90
  ) {
    return false;
  }
  const year = num(s, 0, 4);
  const month = num(s, 5, 2);
  const day = num(s, 8, 2);
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]!) return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  const hour = num(s, 11, 2);
  const minute = num(s, 14, 2);
  const second = num(s, 17, 2);
  // A leap second (60) is not canonical: toISOString never prints it.
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59 && num(s, 20, 3) >= 0;
}
