// Builds and starts the real OpenSearch engine of test/engine/ (see TestEngine.java).
// Plain JavaScript: test/run.mjs and `npm run engine` use it before any TypeScript loader exists.
//
//   const engine = await startEngine();   // { url, pid, version, stop() }
//   ... await engine.stop();              // SIGTERM to the java PID, then waits for it to exit
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ENGINE_DIR = fileURLToPath(new URL('.', import.meta.url));
export const OPENSEARCH_VERSION = '2.19.6';
const MAIN_CLASS = 'driftbeat.engine.TestEngine';
const CLASS_FILE = join(ENGINE_DIR, 'target/classes/driftbeat/engine/TestEngine.class');
const LIB = join(ENGINE_DIR, 'target/lib');
/** The engine's heap: enough for every test index at once, small enough for a 2-core CI box. */
export const ENGINE_HEAP = process.env.DRIFTBEAT_ENGINE_HEAP ?? '512m';

export const PREREQUISITES =
  'the real-engine tests need Java 17 and Maven 3.8 (Debian: apt-get install openjdk-17-jdk-headless maven; ' +
  'macOS: brew install openjdk@17 maven); the first build fetches OpenSearch ' + OPENSEARCH_VERSION + ' from Maven Central into ~/.m2';

export class EngineUnavailableError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'EngineUnavailableError';
    this.code = 'ERR_TEST_ENGINE';
  }
}

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** True when target/ holds a build at least as new as pom.xml and every source. */
export function isBuilt() {
  if (!existsSync(CLASS_FILE) || !existsSync(LIB)) return false;
  const built = statSync(CLASS_FILE).mtimeMs;
  return statSync(join(ENGINE_DIR, 'pom.xml')).mtimeMs <= built && newestMtime(join(ENGINE_DIR, 'src')) <= built;
}

/** Builds the engine with Maven when needed. Throws EngineUnavailableError with what to install. */
export function ensureBuilt({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  if (!has('java', ['-version'])) throw new EngineUnavailableError(`java not found on PATH: ${PREREQUISITES}`);
  if (isBuilt()) return;
  if (!has('mvn', ['-v'])) throw new EngineUnavailableError(`mvn not found on PATH: ${PREREQUISITES}`);
  log(`test engine: building OpenSearch ${OPENSEARCH_VERSION} runner with Maven (first time: downloads ~50 MB into ~/.m2)`);
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(ENGINE_DIR, 'pom.xml'), 'package'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new EngineUnavailableError(`building test/engine failed (mvn exit ${r.status ?? r.signal}); see the Maven output above. ${PREREQUISITES}`);
}

/**
 * Starts one engine and resolves once it prints READY (at most `timeoutMs`).
 * `exitOnStdinClose` (default true) ties its life to ours: when this process dies, the pipe closes
 * and the engine stops itself, so no engine outlives its test run.
 */
export function startEngine({ port = 0, timeoutMs = 90_000, exitOnStdinClose = true, stdio = 'pipe', log } = {}) {
  ensureBuilt(log ? { log } : {});
  const args = [
    `-Xms${ENGINE_HEAP}`, `-Xmx${ENGINE_HEAP}`,
    '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss1m',
    '-Dlog4j2.disable.jmx=true', '-Dio.netty.allocator.numDirectArenas=1',
    '-cp', `${join(ENGINE_DIR, 'target/classes')}:${join(LIB, '*')}`,
    MAIN_CLASS, '--port', String(port),
    ...(exitOnStdinClose ? ['--exit-on-stdin-close'] : []),
  ];
  const child = spawn('java', args, { stdio: [exitOnStdinClose ? 'pipe' : 'inherit', 'pipe', stdio === 'inherit' ? 'inherit' : 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => { err = (err + d.toString()).slice(-20_000); });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EngineUnavailableError(`the test engine did not print READY within ${timeoutMs} ms; its log:\n${err}`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(new EngineUnavailableError(`could not start java: ${e.message}. ${PREREQUISITES}`, { cause: e })); });
    const early = (code, signal) => {
      clearTimeout(timer);
      reject(new EngineUnavailableError(`the test engine exited (${code ?? signal}) before it was ready; its log:\n${err}`));
    };
    child.on('exit', early);
    child.stdout.on('data', (d) => {
      out += d.toString();
      const m = /READY (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', early);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({ url: m[1], pid: child.pid, version: OPENSEARCH_VERSION, child, exited, stop, log: () => err });
    });
  });
}
