import { DriftbeatError } from '../errors.ts';

/** One observed value of a column: a number or a category. null/undefined/NaN/±Infinity are missing. */
export type Value = number | string | null | undefined;
export type Values = ReadonlyArray<Value>;

/** Counts per category or per bin: a Map, a plain object, or an array of bin counts. */
export type Counts = ReadonlyMap<unknown, number> | Readonly<Record<string, number>> | ReadonlyArray<number>;

/** A stats function was given input it cannot work on (empty column, strings in a numeric column...). */
export class StatsError extends DriftbeatError {}

export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
}

/** Drops missing values (null, undefined, NaN, ±Infinity), as Evidently's `replace([-inf, inf], nan).dropna()`. */
export function dropMissing<T extends Value>(values: ReadonlyArray<T>): Array<Exclude<T, null | undefined>> {
  const out: Array<Exclude<T, null | undefined>> = [];
  for (const v of values) if (!isMissing(v)) out.push(v as Exclude<T, null | undefined>);
  return out;
}

export type Side = 'reference' | 'current';

function emptyError(side: Side, column?: string): StatsError {
  const name = column === undefined ? '' : ` '${column}'`;
  return new StatsError(
    'ERR_STATS_EMPTY',
    `An empty column${name} was provided for drift calculation in the ${side} dataset. ` +
      'Every value was missing (null, NaN or ±Infinity); widen the window or check the field name.',
  );
}

/** Missing values dropped; throws Evidently's "An empty column ..." error when nothing is left. */
export function present(values: Values, side: Side, column?: string): Array<number | string> {
  const out = dropMissing(values);
  if (out.length === 0) throw emptyError(side, column);
  return out;
}

/** As `present`, and every value must be a number (Evidently: numeric columns need a numeric dtype). */
export function presentNumbers(values: Values, side: Side, column?: string): number[] {
  const out = present(values, side, column);
  for (const v of out) {
    if (typeof v !== 'number') {
      const name = column === undefined ? '' : ` '${column}'`;
      throw new StatsError(
        'ERR_STATS_NOT_NUMERIC',
        `The ${side} column${name} holds a non-numeric value ${JSON.stringify(v)}; ` +
          "this statistic needs numbers (use type 'cat' for categories).",
      );
    }
  }
  return out as number[];
}

/** Value counts of a cleaned sample, in first-seen order. */
export function valueCounts(values: ReadonlyArray<number | string>): Map<number | string, number> {
  const m = new Map<number | string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** Normalises the accepted count shapes to a Map. Array indices become the keys (bins). */
export function toCountMap(counts: Counts): Map<unknown, number> {
  if (counts instanceof Map) return new Map(counts);
  if (Array.isArray(counts)) return new Map((counts as number[]).map((c, i) => [i, c]));
  return new Map(Object.entries(counts as Record<string, number>));
}

/** Checks counts are finite and non-negative; returns the total. */
export function countTotal(m: ReadonlyMap<unknown, number>, side: Side): number {
  let total = 0;
  for (const [k, c] of m) {
    if (!Number.isFinite(c) || c < 0) {
      throw new StatsError('ERR_STATS_BAD_COUNTS', `The ${side} count for ${JSON.stringify(String(k))} is ${c}; counts must be finite and >= 0.`);
    }
    total += c;
  }
  if (total <= 0) throw emptyError(side);
  return total;
}

/** Sorted copy of finite numbers as a Float64Array (numeric sort, no comparator cost). */
export function sortedNumbers(values: ReadonlyArray<number>): Float64Array {
  const a = Float64Array.from(values);
  a.sort();
  return a;
}
