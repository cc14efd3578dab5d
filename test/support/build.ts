/**
 * The compiled package as `npm ci` leaves it (dist/, `npm run build`), built from the sources as
 * they are now. test/run.mjs builds it once before the files that import this module and says so
 * in DRIFTBEAT_TEST_BUILT; a file run alone builds it here. Every other test runs the sources
 * (test/support/agent-process.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './agent-process.ts';

/** The package's bin (package.json `bin.driftbeat`). */
export const BIN = join(REPO_ROOT, 'dist', 'agent', 'cli', 'driftbeat.js');

/** Runs `npm run build` unless this test run already did; throws with tsc's output when it fails. */
export function ensureBuilt(): void {
  if (process.env.DRIFTBEAT_TEST_BUILT === '1') return;
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  process.env.DRIFTBEAT_TEST_BUILT = '1';
}
