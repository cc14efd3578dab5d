/**
 * Evidently's text tokenizer, exactly (STATS.md sections 0.5 and 1.5):
 *   words = re.sub("[^A-Za-z0-9 ]+", "", text).split(); then word.lower()
 * Every character that is not an ASCII letter, digit or the space U+0020 is deleted (so tabs,
 * newlines, punctuation and non-ASCII letters join their neighbours: "don't" -> "dont",
 * "a\nb" -> "ab", "café" -> "caf"), then the rest is split on runs of spaces.
 * Written as one loop over char codes instead of a regex plus split: this runs on every text field
 * of every line.
 */
import { MAX_OOV_TOKENS, type TextStats } from './document.ts';

export function tokenize(text: string): string[] {
  const out: string[] = [];
  let token = ''; // pieces of the current word already cut off by deleted characters
  let start = -1; // start of the current run of kept characters, -1 when outside a run
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    // [0-9A-Za-z]
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0) {
      token += text.slice(start, i);
      start = -1;
    }
    if (c === 32 && token !== '') {
      out.push(token.toLowerCase());
      token = '';
    }
    // any other character is deleted: the word goes on across it
  }
  if (start >= 0) token += text.slice(start);
  if (token !== '') out.push(token.toLowerCase());
  return out;
}

export interface OovResult {
  /** Tokens (not distinct) missing from the vocabulary. */
  count: number;
  /** Distinct OOV tokens in order of first appearance, at most `cap`. */
  tokens: string[];
}

export function countOov(tokens: readonly string[], vocabulary: ReadonlySet<string>, cap = MAX_OOV_TOKENS): OovResult {
  let count = 0;
  const distinct: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (vocabulary.has(t)) continue;
    count++;
    // Linear includes: the list is capped at a few dozen, cheaper than a Set per text value.
    if (distinct.length < cap && !distinct.includes(t)) distinct.push(t);
  }
  return { count, tokens: distinct };
}

/**
 * The document's text stats in one pass: tokenize + countOov without building the token array,
 * and without building token strings at all when there is no vocabulary (only the count is needed).
 * Must stay equal to tokenize() + countOov(); a test holds them together.
 */
export function textStats(content: string, vocabulary: ReadonlySet<string> | undefined): TextStats {
  const n = content.length;
  let count = 0;
  if (vocabulary === undefined) {
    let inToken = false;
    for (let i = 0; i < n; i++) {
      const c = content.charCodeAt(i);
      if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) inToken = true;
      else if (c === 32 && inToken) {
        count++;
        inToken = false;
      }
    }
    if (inToken) count++;
    return { content, token_count: count };
  }
  let oov = 0;
  const distinct: string[] = [];
  let token = '';
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? content.charCodeAt(i) : 32; // a virtual space ends the last word
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0) {
      token += content.slice(start, i);
      start = -1;
    }
    if (c === 32 && token !== '') {
      count++;
      const t = token.toLowerCase();
      token = '';
      if (!vocabulary.has(t)) {
        oov++;
        if (distinct.length < MAX_OOV_TOKENS && !distinct.includes(t)) distinct.push(t);
      }
    }
  }
  return { content, token_count: count, oov_count: oov, oov_tokens: distinct };
}
