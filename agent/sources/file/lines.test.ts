import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, TOO_LONG_HEAD_BYTES, type SplitLine } from './lines.ts';

function feed(s: LineSplitter, parts: (string | Buffer)[], start = 0): SplitLine[] {
  const out: SplitLine[] = [];
  let at = start;
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p) : p;
    s.push(b, at, out);
    at += b.length;
  }
  return out;
}

const text = (ls: SplitLine[]) => ls.map((l) => l.line.toString());

test('lines: a line written in two appends comes out once, whole, with its offsets', () => {
  const s = new LineSplitter(1024);
  const out = feed(s, ['{"a":1}\n{"b"', ':2}\n']);
  assert.deepEqual(text(out), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(out.map((l) => [l.offset, l.end]), [[0, 8], [8, 16]]);
  assert.equal(s.resumeOffset, 16);
});

test('lines: a partial last line waits and sets the resume offset at its start', () => {
  const s = new LineSplitter(1024, 100);
  const out = feed(s, ['x\nhalf'], 100);
  assert.deepEqual(text(out), ['x']);
  assert.equal(s.resumeOffset, 102);
  assert.equal(s.pendingBytes, 4);
});

test('lines: \\r\\n endings are stripped, also when \\r and \\n arrive in different chunks', () => {
  const s = new LineSplitter(1024);
  const out = feed(s, ['a\r\nb\r', '\nc\n', '\r\n']);
  assert.deepEqual(text(out), ['a', 'b', 'c', '']);
  assert.deepEqual(out.map((l) => l.end), [3, 6, 8, 10]);
});

test('lines: an empty line is a line (the normalizer decides what it means)', () => {
  const out = feed(new LineSplitter(10), ['\n\nz\n']);
  assert.deepEqual(text(out), ['', '', 'z']);
});

test('lines: a 5 MB line fed in 64 KiB chunks is never held whole, is flagged, and the next line is intact', () => {
  const max = 256 * 1024;
  const s = new LineSplitter(max);
  const big = Buffer.alloc(5 * 1024 * 1024, 0x61);
  const all = Buffer.concat([Buffer.from('ok1\n'), big, Buffer.from('\nok2\n')]);
  const out: SplitLine[] = [];
  let peak = 0;
  for (let at = 0; at < all.length; at += 65536) {
    s.push(all.subarray(at, Math.min(all.length, at + 65536)), at, out);
    peak = Math.max(peak, s.pendingBytes);
  }
  assert.ok(peak <= max, `held ${peak} bytes of the long line, more than max_line_bytes ${max}`);
  assert.deepEqual(out.map((l) => l.tooLong), [false, true, false]);
  assert.equal(out[1]!.offset, 4);
  assert.equal(out[1]!.end, 4 + big.length + 1);
  assert.equal(out[1]!.line.length, TOO_LONG_HEAD_BYTES);
  assert.equal(out[2]!.line.toString(), 'ok2');
  assert.equal(out[2]!.offset, 4 + big.length + 1);
});

test('lines: a too-long line wholly inside one chunk is flagged and truncated too', () => {
  const s = new LineSplitter(8);
  const out = feed(s, ['0123456789\nshort\n']);
  assert.deepEqual(out.map((l) => [l.line.toString(), l.tooLong]), [['01234567', true], ['short', false]]);
});

test('lines: a line exactly max_line_bytes long is not too long', () => {
  const out = feed(new LineSplitter(4), ['ab', 'cd\n']);
  assert.deepEqual(out.map((l) => [l.line.toString(), l.tooLong]), [['abcd', false]]);
});

test('lines: lines are views of the chunk (no copy) when they lie wholly in it', () => {
  const chunk = Buffer.from('aa\nbb\n');
  const out = new LineSplitter(100).push(chunk, 0);
  assert.equal(out[0]!.line.buffer, chunk.buffer);
});
