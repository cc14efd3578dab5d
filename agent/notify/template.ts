/**
 * A small, safe JSON template: `{{path.to.value}}` placeholders in the strings of any JSON value,
 * filled from a context object. No expressions, no functions, no code: a path is dot-separated
 * names or array indices, nothing else, and only own properties are read (no prototype access).
 *
 * - A string that is exactly one placeholder takes the value with its type (number, object, ...),
 *   so `"value": "{{alert.value}}"` stays a number.
 * - A placeholder inside a longer string is replaced by the value as text (objects as JSON).
 * - An unknown path becomes `null` (whole-string) or `""` (inside text); `{{path | default text}}`
 *   gives a fallback.
 * - Object keys are templated too (as text).
 */

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_@.-]+(?:\[\d+\])*(?:\.[A-Za-z0-9_@-]+(?:\[\d+\])*)*)\s*(?:\|\s*default\s+([^}]*?))?\s*\}\}/g;
const WHOLE = new RegExp(`^${PLACEHOLDER.source}$`);
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** Splits `a.b[0].c` into ['a', 'b', '0', 'c']. */
function segments(path: string): string[] {
  return path.replace(/\[(\d+)\]/g, '.$1').split('.').filter((s) => s.length > 0);
}

export function lookup(context: unknown, path: string): unknown {
  let cur: unknown = context;
  for (const seg of segments(path)) {
    if (FORBIDDEN.has(seg)) return undefined;
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function renderString(s: string, context: unknown): unknown {
  const whole = WHOLE.exec(s);
  if (whole) {
    const v = lookup(context, whole[1]!);
    if (v === undefined || v === null) return whole[2] !== undefined ? whole[2] : null;
    return v;
  }
  return s.replace(PLACEHOLDER, (_m, path: string, fallback: string | undefined) => {
    const v = lookup(context, path);
    return v === undefined || v === null ? (fallback ?? '') : asText(v);
  });
}

/** Fills every placeholder of `template` from `context`; returns a new JSON value. */
export function renderTemplate(template: unknown, context: unknown): unknown {
  if (typeof template === 'string') return renderString(template, context);
  if (Array.isArray(template)) return template.map((t) => renderTemplate(t, context));
  if (template && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) {
      const key = asText(renderString(k, context));
      if (FORBIDDEN.has(key)) continue;
      out[key] = renderTemplate(v, context);
    }
    return out;
  }
  return template;
}

/** Placeholder paths used by a template (for validation messages). */
export function placeholders(template: unknown): string[] {
  const found: string[] = [];
  const walk = (t: unknown) => {
    if (typeof t === 'string') for (const m of t.matchAll(PLACEHOLDER)) found.push(m[1]!);
    else if (Array.isArray(t)) t.forEach(walk);
    else if (t && typeof t === 'object') for (const [k, v] of Object.entries(t)) { walk(k); walk(v); }
  };
  walk(template);
  return found;
}
