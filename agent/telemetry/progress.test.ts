import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProgress, startProgress, type ProgressSample } from './progress.ts';

test('formatProgress: lines done so far, lines/s over the interval, bytes left', () => {
  assert.equal(formatProgress({ lines: 523_000, bytesLeft: 157_496_115 }, { lines: 424_600, bytesLeft: 200e6 }, 1), 'driftbeat: 523,000 lines done, 98,400 lines/s, 150.2 MiB left');
  assert.equal(formatProgress({ lines: 10, bytesLeft: 1500 }, { lines: 0, bytesLeft: 9000 }, 2), 'driftbeat: 10 lines done, 5 lines/s, 2 KiB left');
  assert.equal(formatProgress({ lines: 0, bytesLeft: 0 }, { lines: 0, bytesLeft: 0 }, 0), 'driftbeat: 0 lines done, 0 lines/s, 0 KiB left');
});

test('the progress line is redrawn in place on a terminal and ended with a newline; nothing without a terminal', () => {
  let s: ProgressSample = { lines: 0, bytesLeft: 4 * 1024 * 1024 };
  let t = 0;
  const out: string[] = [];
  const p = startProgress({ isTTY: true, write: (x: string) => out.push(x) }, () => s, { intervalMs: 60_000, now: () => t });
  s = { lines: 50_000, bytesLeft: 2 * 1024 * 1024 };
  t = 500;
  p.tick();
  assert.deepEqual(out, ['\rdriftbeat: 50,000 lines done, 100,000 lines/s, 2.0 MiB left\x1b[K']);
  p.stop();
  p.stop();
  assert.deepEqual(out.slice(1), ['\n']);

  const piped: string[] = [];
  const q = startProgress({ isTTY: false, write: (x: string) => piped.push(x) }, () => s, { intervalMs: 60_000 });
  q.tick();
  q.stop();
  assert.equal(piped.length, 0, 'stderr is a file or a pipe: no progress text among the logs');
  const undef = startProgress({ write: (x: string) => piped.push(x) }, () => s);
  undef.tick();
  undef.stop();
  assert.equal(piped.length, 0);
});
