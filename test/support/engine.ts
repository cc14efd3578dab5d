/**
 * The real search engine under the tests: one OpenSearch 2.19 per test run (test/engine/), each
 * test with its own index prefix.
 *
 *   const engine = await testEngine();
 *   test('...', async (t) => {
 *     const prefix = engine.prefix(t);        // e.g. "t3k9x": indices, templates, streams of this test
 *     const r = await engine.request('GET', `/${prefix}-results/_search`);
 *   });
 *
 * test/run.mjs starts the engine once before the test files and hands its URL down in
 * DRIFTBEAT_TEST_ENGINE_URL; a test file run on its own starts its own engine (stopped by PID when
 * the file's process exits, and by the engine itself when our pipe to it closes). When the engine
 * cannot run (no Java), testEngine() rejects with what to install: the tests fail, never pass.
 */
import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { startEngine, type RunningEngine } from '../engine/launch.mjs';

export interface EngineResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestEngine {
  url: string;
  /** OpenSearch version number, e.g. 2.19.6. */
  version: string;
  /**
   * A fresh index prefix for one test; with a test context, everything under it is deleted after
   * the test, and the test is counted in the run's real-engine tally.
   */
  prefix(t?: { name: string; after?: (fn: () => Promise<void> | void) => void }): string;
  /** One HTTP request; a JSON body is encoded, a string body is sent as NDJSON. Never throws on status. */
  request<T = any>(method: string, path: string, body?: unknown): Promise<EngineResponse<T>>;
  /** Makes every write under `prefix` visible to search. */
  refresh(prefix: string): Promise<void>;
  /** Deletes the data streams, indices and templates of a prefix. */
  drop(prefix: string): Promise<void>;
}

let shared: Promise<TestEngine> | undefined;
let counter = 0;

export function testEngine(): Promise<TestEngine> {
  shared ??= connect();
  return shared;
}

async function connect(): Promise<TestEngine> {
  const failure = process.env.DRIFTBEAT_TEST_ENGINE_ERROR;
  if (failure) throw new Error(`real engine unavailable: ${failure}`);
  let url = process.env.DRIFTBEAT_TEST_ENGINE_URL;
  let own: RunningEngine | undefined;
  if (!url) {
    own = await startEngine();
    url = own.url;
    const pid = own.pid;
    // The engine must not keep this test process alive once its tests are done: let the loop end,
    // then the exit hook below stops it (and our closed pipe would stop it anyway).
    own.child.unref();
    for (const s of [own.child.stdin, own.child.stdout, own.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    process.once('exit', () => { try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ } });
  }
  const base = url.replace(/\/$/, '');
  const request = async <T>(method: string, path: string, body?: unknown): Promise<EngineResponse<T>> => {
    const init: RequestInit = { method, headers: {} };
    if (body !== undefined) {
      const ndjson = typeof body === 'string';
      init.body = ndjson ? body : JSON.stringify(body);
      init.headers = { 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' };
    }
    const res = await fetch(base + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON: keep the text */ }
    return { status: res.status, headers: res.headers, body: parsed as T };
  };
  const info = await request<{ version: { number: string; distribution?: string } }>('GET', '/');
  const tally = process.env.DRIFTBEAT_ENGINE_TALLY;
  const file = basename(process.argv[1] ?? 'test');
  const drop = async (prefix: string): Promise<void> => {
    await request('DELETE', `/_data_stream/${prefix}-*`);
    await request('DELETE', `/${prefix}-*,.ds-${prefix}-*?expand_wildcards=all`);
    const templates = await request<{ index_templates?: { name: string }[] }>('GET', `/_index_template/${prefix}-*`);
    for (const t of templates.body?.index_templates ?? []) await request('DELETE', `/_index_template/${encodeURIComponent(t.name)}`);
    const components = await request<{ component_templates?: { name: string }[] }>('GET', `/_component_template/${prefix}-*`);
    for (const c of components.body?.component_templates ?? []) await request('DELETE', `/_component_template/${encodeURIComponent(c.name)}`);
  };
  return {
    url: base,
    version: info.body.version.number,
    prefix(t) {
      const p = `t${(counter++).toString(36)}${randomBytes(3).toString('hex')}`;
      if (t) {
        if (tally) appendFileSync(tally, `${file}\t${t.name}\n`);
        t.after?.(() => drop(p));
      }
      return p;
    },
    request,
    async refresh(prefix) {
      await request('POST', `/${prefix}-*,.ds-${prefix}-*/_refresh?expand_wildcards=all&ignore_unavailable=true`);
    },
    drop,
  };
}
