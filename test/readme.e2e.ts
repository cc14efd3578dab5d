/**
 * The README works as written: from a clean copy of the repository (the files git tracks, as a
 * fresh clone has them), run the quick start and then every shell block marked
 * `<!-- runnable -->`, in order, in that copy. Each must exit 0.
 *
 *   npm run test:readme        (CI runs it after npm test; it takes a couple of minutes)
 *
 * The installed node_modules are reused (linked) instead of running `npm ci` again, and the
 * quick start's `npm test` line is skipped: that is the suite this runs beside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './support/agent-process.ts';

export interface ShellBlock {
  line: number;
  code: string;
  runnable: boolean;
}

/** The ```sh blocks of a markdown text, with whether a `<!-- runnable -->` line precedes them. */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const out: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    let j = start - 1;
    while (j >= 0 && lines[j]!.trim() === '') j--;
    out.push({ line: start + 1, code: body.join('\n'), runnable: j >= 0 && lines[j]!.trim() === '<!-- runnable -->' });
  }
  return out;
}

function cleanCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-readme-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(REPO_ROOT, f), join(dir, f));
    } catch {
      // a file deleted in the working tree but still tracked: a clone would not have it either
    }
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function run(cwd: string, script: string, what: string): void {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, timeout: 300_000 });
  process.stdout.write(`\n$ ${what}\n${(r.stdout ?? '').slice(-3000)}`);
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
}

test('README: the quick start and every runnable block work from a clean copy', { timeout: 900_000 }, () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks = shellBlocks(readme);
  const quick = blocks[0];
  assert.ok(quick && quick.line < 10, 'README opens with the quick-start block');
  assert.match(quick.code, /^npm ci && npm start/m);
  assert.match(quick.code, /^npm test/m);
  const dir = cleanCopy();
  try {
    // `npm ci` is replaced by the linked node_modules; `npm test` is what runs this.
    run(dir, 'npm start', 'npm start (the quick start, after npm ci)');
    const runnable = blocks.filter((b) => b.runnable);
    assert.ok(runnable.length >= 2, 'README marks runnable blocks');
    for (const b of runnable) run(dir, b.code, `README.md:${b.line}\n${b.code}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
