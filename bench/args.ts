/** What the end-to-end benchmarks share: numeric flags and where the agent's CLI is. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `--name N` from the command line, else `def`. */
export function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'agent', 'cli', 'driftbeat.js');
export const MiB = 2 ** 20;
