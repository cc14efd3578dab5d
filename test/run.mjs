#!/usr/bin/env node
// Runs every *.test.ts under agent/ and test/ with node:test through tsx.
// Node 20's runner does not expand globs nor find .ts files itself, so we list them here.
// Usage: node test/run.mjs [substring-filter ...]
// DRIFTBEAT_TEST_NAME_PATTERN=<regexp> runs only the tests whose names match (node's --test-name-pattern).
//
// When a listed file runs the compiled CLI or package (imports test/support/agent-process.ts),
// dist/ is built here first (`npm run build`), once, and DRIFTBEAT_TEST_BUILT=1 handed down: the
// files test the sources as they are now, never an older build.
//
// When a listed file uses the real engine (imports test/support/engine.ts), one OpenSearch is
// started here for the whole run (test/engine/), its URL handed down in DRIFTBEAT_TEST_ENGINE_URL,
// and stopped by its PID at the end. When it cannot start (no Java), the reason is handed down
// instead and every engine-backed test fails with it: they never pass silently.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startEngine } from './engine/launch.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const found = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'target') continue;
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
if (files.length === 0) {
  console.log('no test files match');
  process.exit(1);
}
const usesEngine = (f) => /support\/engine\.ts['"]/.test(readFileSync(join(root, f), 'utf8'));
const engineFiles = files.filter(usesEngine);
console.log(`running ${files.length} test files (${engineFiles.length} against the real engine):\n  ${files.map((f) => (engineFiles.includes(f) ? `${f}  [engine]` : f)).join('\n  ')}`);

const env = { ...process.env, FORCE_COLOR: '0' };
if (files.some((f) => /support\/agent-process\.ts['"]/.test(readFileSync(join(root, f), 'utf8')))) {
  const t0 = Date.now();
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit', env });
  if (b.status !== 0) {
    console.log('npm run build failed: the sources do not compile to dist/');
    process.exit(1);
  }
  env.DRIFTBEAT_TEST_BUILT = '1';
  console.log(`built dist/ (npm run build) in ${Date.now() - t0} ms`);
}
let engine;
const tallyDir = mkdtempSync(join(tmpdir(), 'driftbeat-tally-'));
env.DRIFTBEAT_ENGINE_TALLY = join(tallyDir, 'engine-tests.tsv');
if (engineFiles.length > 0 && !process.env.DRIFTBEAT_TEST_ENGINE_URL) {
  const t0 = Date.now();
  try {
    engine = await startEngine({ log: (s) => console.log(s) });
    env.DRIFTBEAT_TEST_ENGINE_URL = engine.url;
    console.log(`real engine: OpenSearch ${engine.version} at ${engine.url} (pid ${engine.pid}), ready in ${Date.now() - t0} ms`);
  } catch (err) {
    env.DRIFTBEAT_TEST_ENGINE_ERROR = err instanceof Error ? err.message : String(err);
    console.log(`real engine: NOT AVAILABLE, the ${engineFiles.length} engine-backed files will fail: ${env.DRIFTBEAT_TEST_ENGINE_ERROR}`);
  }
}

const namePattern = process.env.DRIFTBEAT_TEST_NAME_PATTERN ? ['--test-name-pattern', process.env.DRIFTBEAT_TEST_NAME_PATTERN] : [];
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...namePattern, ...files], { cwd: root, stdio: 'inherit', env });
const stopAll = () => { child.kill('SIGTERM'); };
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
const status = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

let tally = [];
try { tally = [...new Set(readFileSync(env.DRIFTBEAT_ENGINE_TALLY, 'utf8').split('\n').filter(Boolean))]; } catch { /* no engine test ran */ }
rmSync(tallyDir, { recursive: true, force: true });
const perFile = new Map();
for (const line of tally) { const f = line.split('\t')[0]; perFile.set(f, (perFile.get(f) ?? 0) + 1); }
console.log(`\nreal engine tally: ${tally.length} tests ran against OpenSearch${engine ? ` ${engine.version}` : ''}, in ${perFile.size} files`);
for (const [f, n] of [...perFile].sort()) console.log(`  ${String(n).padStart(3)}  ${f}`);
if (engine) await engine.stop();
process.exit(status);
