/**
 * Runs the real `driftbeat` command as a child process, so tests can SIGKILL and restart it,
 * and writes prediction lines the way a model server does (appends, rename and copytruncate).
 *
 * The one place tests start the CLI: the compiled bin, as production runs it, built from the
 * sources as they are now. test/run.mjs builds dist/ once (`npm run build`) before the files that
 * import this module and says so in DRIFTBEAT_TEST_BUILT; a file run alone builds it at its first
 * command. (Run several files through test/run.mjs: parallel files that each build would race.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, renameSync, truncateSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The package's bin (package.json `bin.driftbeat`), compiled from agent/cli/driftbeat.ts. */
export const CLI = fileURLToPath(new URL('../../dist/agent/cli/driftbeat.js', import.meta.url));

/** Runs `npm run build` unless this test run already did; throws with tsc's output when it fails. */
export function ensureBuilt(): void {
  if (process.env.DRIFTBEAT_TEST_BUILT === '1') return;
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  process.env.DRIFTBEAT_TEST_BUILT = '1';
}

/** The node arguments that run `driftbeat <args>`: spawn(process.execPath, cliArgs([...])). */
export function cliArgs(args: string[]): string[] {
  ensureBuilt();
  return [CLI, ...args];
}

export interface AgentProcess {
  child: ChildProcess;
  /** stderr + stdout so far (logs), for failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

export function startAgent(args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const child = spawn(process.execPath, cliArgs(args), {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, output: () => out, exited, kill: (s) => child.kill(s) };
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A prediction line as a model server writes it; `i` makes request_id unique. */
export function predictionLine(i: number, t0 = Date.UTC(2026, 10, 1)): string {
  return JSON.stringify({
    timestamp: new Date(t0 + i * 1000).toISOString(),
    request_id: `req-${i}`,
    model_version: i % 3 === 0 ? '1.5.0' : '1.4.2',
    features: { amount: (i * 7919) % 1000 / 10, country: ['US', 'FR', 'DE'][i % 3], device: i % 2 ? 'ios' : 'web' },
    prediction: { score: ((i * 104729) % 1000) / 1000, label: i % 5 === 0 ? 'fraud' : 'ok' },
  });
}

export class LogWriter {
  next = 0;
  constructor(readonly path: string) {}
  /** Appends `n` lines in chunks of `chunk` (as a model server flushes its buffer). */
  write(n: number, chunk = 250): void {
    let left = n;
    while (left > 0) {
      const k = Math.min(chunk, left);
      let text = '';
      for (let j = 0; j < k; j++) text += predictionLine(this.next++) + '\n';
      appendFileSync(this.path, text);
      left -= k;
    }
  }
  /** logrotate's default: rename, the writer reopens a new file at the path. */
  rotateRename(to: string): void {
    renameSync(this.path, to);
  }
  /** logrotate's copytruncate: copy, then truncate the live file in place. */
  copyTruncate(to: string): void {
    copyFileSync(this.path, to);
    truncateSync(this.path, 0);
  }
}
