/** What the end-to-end benchmarks share: numeric flags and where the agent's CLI is. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `--name N` from the command line, else `def`. */
export function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The compiled bin, as production runs it (package.json `bin`). */
export const CLI = join(ROOT, 'dist', 'agent', 'cli', 'driftbeat.js');
/** Node arguments that run the CLI from its TypeScript sources instead (a bench's --tsx). */
/** The V8 flags the agent runs with in production: those of the bin's shebang (agent/cli/driftbeat.ts). */
export const AGENT_NODE_FLAGS: readonly string[] = readFileSync(join(ROOT, 'agent', 'cli', 'driftbeat.ts'), 'utf8')
  .split('\n')[0]!
  .replace(/^#!\/usr\/bin\/env -S node/, '')
  .split(' ')
  .filter(Boolean);

export const SOURCE_CLI = ['--import', 'tsx', join(ROOT, 'agent', 'cli', 'driftbeat.ts')];

/** `npm run build` (tsc -p tsconfig.build.json): dist/ from the sources as they are now. */
export function buildAgent(): void {
  // As `npm run build`: from an empty dist/. A dist/ left by the old build script holds symlinks
  // to sources (agent/cli/driftbeat.js among them), and tsc writes through them into agent/.
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const b = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (b.status !== 0) throw new Error('tsc -p tsconfig.build.json failed');
}
export const MiB = 2 ** 20;
