#!/usr/bin/env node
// Runs every *.test.ts under agent/ and test/ with node:test through tsx.
// Node 20's runner does not expand globs nor find .ts files itself, so we list them here.
// Usage: node test/run.mjs [substring-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const found = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) found.push(relative(root, p));
  }
}
for (const d of ['agent', 'test', 'bench', 'demo']) {
  try { walk(join(root, d)); } catch { /* folder may not exist yet */ }
}
found.sort();
const filters = process.argv.slice(2);
const files = filters.length ? found.filter((f) => filters.some((s) => f.includes(s))) : found;
console.log(`running ${files.length} test files:\n  ${files.join('\n  ')}`);
if (files.length === 0) process.exit(1);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' },
});
process.exit(r.status ?? 1);
