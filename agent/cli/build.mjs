#!/usr/bin/env node
// Compiles the TypeScript sources to plain JavaScript in dist/ (npm's `prepare`, so `npm ci`
// builds it; `npm run build` by hand). driftbeat.js runs dist/ when it is at least as new as every
// source file, else the sources through tsx. Why: the tsx loader costs ~35 MiB of RSS per thread
// and start-up time; the agent's memory target is 150 MiB.
//
// Transpile only (ts.transpileModule, no type check: `npm run typecheck` does that), ~2 s.
// dist/ mirrors the repository so paths relative to a module still resolve: agent/x.ts ->
// dist/agent/x.js, and every other file or folder (package.json, kibana/, rules/, demo/rules/...)
// is a symlink to the original. Skipped, with a note, when TypeScript is not installed
// (`npm ci --omit=dev`): the agent then runs through tsx as before.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Folders whose TypeScript is compiled; driftbeat.js checks the same. */
const COMPILED = ['agent', 'demo', 'bench'];
const SKIP_TOP = new Set(['dist', 'dist.tmp', 'node_modules', '.git', '.tmp']);
const STAMP = 'BUILD';

let ts;
try {
  ts = (await import('typescript')).default;
} catch {
  process.stdout.write('driftbeat build: TypeScript is not installed (production install); the agent runs its sources through tsx\n');
  process.exit(0);
}
if (!existsSync(join(root, 'agent', 'cli', 'main.ts'))) {
  process.stdout.write('driftbeat build: no sources to compile yet\n');
  process.exit(0);
}

const t0 = Date.now();
const out = join(root, 'dist.tmp');
rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const options = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  verbatimModuleSyntax: true,
  rewriteRelativeImportExtensions: true,
  sourceMap: false,
};

let compiled = 0;
function link(src, dest) {
  symlinkSync(relative(dirname(dest), src), dest);
}
function mirror(dir, dest) {
  mkdirSync(dest, { recursive: true });
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const src = join(dir, e.name);
    const to = join(dest, e.name);
    if (e.isDirectory()) {
      if (e.name === 'node_modules' || e.name === 'out' || e.name.startsWith('.')) continue;
      mirror(src, to);
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      if (e.name.endsWith('.test.ts')) continue;
      const r = ts.transpileModule(readFileSync(src, 'utf8'), { compilerOptions: options, fileName: src });
      writeFileSync(to.slice(0, -3) + '.js', r.outputText);
      compiled++;
    } else {
      link(src, to);
    }
  }
}
for (const e of readdirSync(root)) {
  if (SKIP_TOP.has(e) || e.startsWith('.')) continue;
  if (COMPILED.includes(e)) mirror(join(root, e), join(out, e));
  else link(join(root, e), join(out, e));
}
writeFileSync(join(out, STAMP), `built ${new Date().toISOString()} from ${compiled} files by agent/cli/build.mjs; do not edit by hand\n`);
rmSync(join(root, 'dist'), { recursive: true, force: true });
renameSync(out, join(root, 'dist'));
process.stdout.write(`driftbeat build: ${compiled} files compiled to dist/ in ${Date.now() - t0} ms\n`);

