/**
 * JSON as prediction servers actually write it. Python's `json.dumps` writes the bare tokens NaN,
 * Infinity and -Infinity for non-finite floats (allow_nan=True is its default), which JSON.parse
 * rejects. Those values are NA for us anyway, so on a parse failure a line holding such tokens
 * outside strings is rewritten with `null` in their place and parsed once more. Lines that are
 * valid JSON never take this path, so the hot path stays one JSON.parse.
 */

/** Replaces bare NaN / Infinity / -Infinity tokens (outside strings) by null; undefined if there are none. */
export function replaceNonFiniteTokens(text: string): string | undefined {
  let out = '';
  let last = 0;
  let inString = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    let len = 0;
    if (c === 78 && text.startsWith('NaN', i)) len = 3;
    else if (c === 73 && text.startsWith('Infinity', i)) len = 8;
    else if (c === 45 && text.startsWith('-Infinity', i)) len = 9;
    if (len > 0) {
      out += text.slice(last, i) + 'null';
      i += len - 1;
      last = i + 1;
    }
  }
  if (last === 0) return undefined;
  return out + text.slice(last);
}
