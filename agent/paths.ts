/**
 * Where the package's files are (package.json, kibana/, rules/, demo/rules/), the same whether the
 * agent runs from its sources (agent/x.ts) or compiled: tsc writes dist/agent/x.js, one folder
 * deeper, and copies no data files, so a path relative to a module would point into dist/. The
 * root is the nearest folder above this module that holds package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}: the driftbeat installation is incomplete`);
  }
}

/** The folder holding driftbeat's package.json. */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the package, e.g. packagePath('kibana') (no trailing slash). */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}
