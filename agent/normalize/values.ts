/**
 * Value helpers of normalize (pure): field lookup by literal key or dotted path, the decimal
 * reader, type inference and lossless coercion (see normalize.ts's module comment), NA.
 */
import type { FieldPath, NormalizeContext } from './context.ts';
import type { FeatureValue } from './document.ts';
import type { FeatureType } from './reference-info.ts';

/** Longest value kept in features_unparsed. */
const UNPARSED_MAX_CHARS = 1024;

export type Rec = Record<string, unknown>;

export function getField(rec: Rec, f: FieldPath): unknown {
  const direct = rec[f.name];
  if (direct !== undefined || f.parts === undefined) return direct;
  let cur: unknown = rec;
  for (let i = 0; i < f.parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Rec)[f.parts[i]!];
  }
  return cur;
}

export function isPlainObject(v: unknown): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A decimal number as JSON or Python would print it: `12`, `-3.5`, `.5`, `1e-3`. No hex, no blanks. */
export function parseDecimal(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) i++; // + -
  let digits = 0;
  while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) { i++; digits++; }
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) { i++; digits++; }
  }
  if (digits === 0) return undefined;
  if (i < n && (s.charCodeAt(i) | 32) === 101) { // e E
    i++;
    c = s.charCodeAt(i);
    if (c === 43 || c === 45) i++;
    let exp = 0;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) { i++; exp++; }
    if (exp === 0) return undefined;
  }
  return i === n ? Number(s) : undefined;
}

const NON_FINITE_WORDS = new Set(['nan', '+nan', '-nan', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity']);

// Results of coerce() that are not values; symbols so no feature value can collide with them.
export const NA = Symbol('na');
export const BAD = Symbol('bad');

export function coerce(v: string | number | boolean, type: FeatureType): FeatureValue | typeof NA | typeof BAD {
  switch (type) {
    case 'num':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        const x = parseDecimal(v);
        if (x !== undefined) return Number.isFinite(x) ? x : NA;
        return v.length <= 10 && NON_FINITE_WORDS.has(v.toLowerCase()) ? NA : BAD;
      }
      return BAD;
    case 'cat':
    case 'text':
      return typeof v === 'string' ? v : String(v);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'True') return true;
      if (v === 'false' || v === 'False') return false;
      return BAD;
  }
}

export function inferType(v: string | number | boolean): FeatureType {
  return typeof v === 'number' ? 'num' : typeof v === 'boolean' ? 'bool' : 'cat';
}

export function unparsedText(v: unknown): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > UNPARSED_MAX_CHARS ? s.slice(0, UNPARSED_MAX_CHARS) : s;
}

// `__proto__` as a plain assignment would replace the object's prototype; JSON.parse makes it an
// ordinary own key, and so must we.
export function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

export function isNA(ctx: NormalizeContext, v: unknown): boolean {
  if (v === null) return true;
  // The length test spares a hash lookup for nearly every real value: NA strings are short.
  if (typeof v === 'string') return v.length === 0 || (v.length <= ctx.naMaxLength && ctx.naValues.has(v));
  if (typeof v === 'number') return !Number.isFinite(v);
  return false;
}

/** A non-empty string, or a finite number as a string (ids, model names and versions). */
export function scalarString(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}
