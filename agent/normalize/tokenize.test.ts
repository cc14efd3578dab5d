import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countOov, textStats, tokenize } from './tokenize.ts';
import { MAX_OOV_TOKENS } from './document.ts';

// Expected tokens produced with Python 3.11.7 (Evidently's tokenizer, STATS.md 1.5):
//   import re; [w.lower() for w in re.sub("[^A-Za-z0-9 ]+", "", t).split()]
const PYTHON_CASES: [string, string[]][] = [
  ['Please deliver before noon!', ['please', 'deliver', 'before', 'noon']],
  ["Don't ring the bell -- call me at 555-0100.", ['dont', 'ring', 'the', 'bell', 'call', 'me', 'at', '5550100']],
  ["Café au lait, s'il vous plaît", ['caf', 'au', 'lait', 'sil', 'vous', 'plat']],
  ['tabs\tand\nnewlines  double  spaces', ['tabsandnewlines', 'double', 'spaces']],
  ['UPPER lower MiXeD 123abc', ['upper', 'lower', 'mixed', '123abc']],
  ['  leading and trailing  ', ['leading', 'and', 'trailing']],
  ['', []],
  ['!!! ??? ...', []],
  ['emoji 🙂 here😀there', ['emoji', 'herethere']],
  ['e-mail: a.b@c.com  (urgent)', ['email', 'abccom', 'urgent']],
  ['naïve résumé über', ['nave', 'rsum', 'ber']],
  ['a\u00a0b c', ['ab', 'c']],
];

test('tokenize matches Python re.sub("[^A-Za-z0-9 ]+", "", t).split() + lower()', () => {
  for (const [text, expected] of PYTHON_CASES) {
    assert.deepEqual(tokenize(text), expected, JSON.stringify(text));
  }
});

test('countOov counts every OOV token and lists each distinct one once, in order', () => {
  const vocab = new Set(['please', 'deliver', 'the']);
  const r = countOov(tokenize('Please deliver the refund, the REFUND now now'), vocab);
  assert.equal(r.count, 4);
  assert.deepEqual(r.tokens, ['refund', 'now']);
});

test('countOov caps the distinct token list but not the count', () => {
  const words = Array.from({ length: MAX_OOV_TOKENS + 15 }, (_, i) => `w${i}`);
  const r = countOov(words, new Set());
  assert.equal(r.count, MAX_OOV_TOKENS + 15);
  assert.equal(r.tokens.length, MAX_OOV_TOKENS);
  assert.deepEqual(r.tokens.slice(0, 2), ['w0', 'w1']);
});

test('textStats (the one-pass version) equals tokenize + countOov, with and without a vocabulary', () => {
  const vocab = new Set(['please', 'the', 'bell', 'ab', 'caf']);
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = 'aB9 .-\t\né🙂 ';
  const texts = PYTHON_CASES.map(([t]) => t);
  for (let k = 0; k < 500; k++) {
    let t = '';
    const len = Math.floor(rand() * 30);
    for (let j = 0; j < len; j++) t += alphabet[Math.floor(rand() * alphabet.length)];
    texts.push(t);
  }
  for (const t of texts) {
    const tokens = tokenize(t);
    assert.deepEqual(textStats(t, undefined), { content: t, token_count: tokens.length }, JSON.stringify(t));
    const oov = countOov(tokens, vocab);
    assert.deepEqual(textStats(t, vocab), { content: t, token_count: tokens.length, oov_count: oov.count, oov_tokens: oov.tokens }, JSON.stringify(t));
  }
});
