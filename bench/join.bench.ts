/**
 * Join benchmark (issue 13): N outcomes joined against N stored predictions, on the embedded store
 * and on a real search engine, and what the join costs the prediction ship path when both run.
 *
 *   node --import tsx bench/join.bench.ts [--n 1000000] [--backend embedded|engine|both]
 *                                         [--engine-url http://127.0.0.1:9200]
 *
 * The agent runs as production runs it (`driftbeat run`, its own process, the compiled dist/ built
 * first by tsc -p tsconfig.build.json), continuously, with /metrics on a loopback port that
 * this script polls every 100 ms. Three phases, each a fresh agent process on the same data folder:
 *   1. ship alone: N predictions (file A) stored; time until the pipeline has stored all N;
 *   2. join alone: N outcomes for A (file F1) joined; outcomes/s and the agent's peak RSS;
 *   3. both: N new predictions (file B) shipped while N corrected outcomes for A (file F2, later
 *      label times: each replaces its outcome) are joined; the ship time of B against phase 1.
 * With the engine, everything lives under a fresh index prefix, deleted at the end.
 * Not a timed test: figures are printed; it fails only if an outcome or a prediction is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from './generate.ts';
import { buildAgent, CLI } from './args.ts';
import { machineLine } from './machine.ts';

const argOf = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const N = Number(argOf('n', '1000000'));
const BACKEND = argOf('backend', 'both');
const ENGINE_URL = argOf('engine-url', 'http://127.0.0.1:9200');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 2 ** 20;

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  return port;
}

/** Writes N predictions (seeded) and returns their ids. */
async function writePredictions(path: string, seed: number): Promise<string[]> {
  const gen = createGenerator({ seed, startMs: Date.UTC(2026, 10, 1), intervalMs: 10 });
  const out = createWriteStream(path);
  const ids: string[] = [];
  let chunk = '';
  for (let i = 0; i < N; i++) {
    const line = gen.next();
    ids.push(/"request_id":"([^"]+)"/.exec(line)![1]!);
    chunk += line + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return ids;
}

async function writeOutcomes(path: string, ids: readonly string[], labelHour: number): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  const at = new Date(Date.UTC(2026, 10, 2, labelHour)).toISOString();
  for (let i = 0; i < ids.length; i++) {
    chunk += `{"request_id":"${ids[i]}","is_fraud":"${(i * 2654435761) % 100 < 7 ? 'fraud' : 'legit'}","labelled_at":"${at}"}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Phase { shipS?: number; joinS?: number; peakRss: number }

/** One agent process until `want` is reached (polled on /metrics and /healthz); SIGTERM then. */
async function runPhase(dir: string, inputs: string, output: string, want: { predictions?: number; outcomes?: number }): Promise<Phase> {
  const port = await freePort();
  const cfg = join(dir, 'bench.yml');
  writeFileSync(cfg, `inputs:\n${inputs}\noutput:\n${output}\npath: { data: "${join(dir, 'data')}" }\nhttp: { enabled: true, port: ${port} }\nlogging: { level: warn }\n`);
  const t0 = Date.now();
  const child: ChildProcess = spawn(process.execPath, ['--max-semi-space-size=4', CLI, 'run', '-c', cfg], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  let ended: unknown;
  const exited = new Promise((r) => child.on('exit', (code, sig) => { ended = code ?? sig; r(ended); }));
  const r: Phase = { peakRss: 0 };
  const deadline = Date.now() + 60 * 60_000;
  try {
    for (;;) {
      r.peakRss = Math.max(r.peakRss, rssOf(child.pid!));
      try {
        if (want.predictions !== undefined && r.shipS === undefined) {
          const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { pipeline?: { indexed: number; duplicates: number } };
          if ((h.pipeline?.indexed ?? 0) + (h.pipeline?.duplicates ?? 0) >= want.predictions) r.shipS = (Date.now() - t0) / 1000;
        }
        if (want.outcomes !== undefined && r.joinS === undefined) {
          const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const joined = Number(/driftbeat_outcomes_joined_total\{model="fraud"\} (\d+)/.exec(m)?.[1] ?? 0);
          if (joined >= want.outcomes) r.joinS = (Date.now() - t0) / 1000;
        }
      } catch {
        // not listening yet
      }
      if ((want.predictions === undefined || r.shipS !== undefined) && (want.outcomes === undefined || r.joinS !== undefined)) break;
      if (Date.now() > deadline) throw new Error(`phase did not finish within an hour: ${JSON.stringify(r)}`);
      if (ended !== undefined) throw new Error(`the agent exited (${String(ended)}) before the phase finished: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return r;
}

const input = (path: string) => `  - paths: ["${path}"]\n    model: { name: fraud, version_field: model_version }\n    fields: { id: request_id, text: [customer_note], latency: latency_ms }`;
const feedback = (id: string, path: string) => `  - id: ${id}\n    kind: feedback\n    paths: ["${path}"]\n    model: { name: fraud }\n    fields: { id: request_id, actual: is_fraud, timestamp: labelled_at }\n    join: { prediction: label, score: score, positive: fraud, retry_interval: 1s }`;

async function bench(backend: 'embedded' | 'engine'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `driftbeat-join-bench-${backend}-`));
  const prefix = `bench-join-${Date.now().toString(36)}`;
  const output = backend === 'embedded'
    ? `  embedded: { path: "${join(dir, 'data', 'driftbeat.duckdb')}" }`
    : `  elasticsearch: { hosts: ["${ENGINE_URL}"], index_prefix: ${prefix} }`;
  try {
    const [a, b] = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
    const idsA = await writePredictions(a, 11);
    await writePredictions(b, 12);
    await writeOutcomes(join(dir, 'f1.jsonl'), idsA, 1);
    await writeOutcomes(join(dir, 'f2.jsonl'), idsA, 2);
    if (backend === 'engine') {
      // The templates first: without them event.id would be mapped as text and the lookup would miss.
      writeFileSync(join(dir, 'setup.yml'), `inputs:\n${input(a)}\noutput:\n${output}\npath: { data: "${join(dir, 'data')}" }\n`);
      const setup = spawnSync(process.execPath, [CLI, 'setup', '-c', join(dir, 'setup.yml'), '--templates'], { cwd: ROOT, encoding: 'utf8' });
      if (setup.status !== 0) throw new Error(`setup failed: ${setup.stdout}${setup.stderr}`);
    }
    const p1 = await runPhase(dir, input(a), output, { predictions: N });
    const p2 = await runPhase(dir, [input(a), feedback('f1', join(dir, 'f1.jsonl'))].join('\n'), output, { outcomes: N });
    const p3 = await runPhase(dir, [input(a), input(b), feedback('f1', join(dir, 'f1.jsonl')), feedback('f2', join(dir, 'f2.jsonl'))].join('\n'), output, { predictions: N, outcomes: N });
    let stored = '';
    if (backend === 'engine') {
      await fetch(`${ENGINE_URL}/${prefix}-outcomes-fraud/_refresh`, { method: 'POST' });
      const c = (await (await fetch(`${ENGINE_URL}/${prefix}-outcomes-fraud/_count`)).json()) as { count: number };
      stored = `${c.count.toLocaleString('en-US')} outcome documents stored`;
      if (c.count !== N) throw new Error(`${c.count} outcomes stored, expected ${N}`);
    }
    const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
    process.stdout.write([
      `backend ${backend}: ${N.toLocaleString('en-US')} predictions, ${N.toLocaleString('en-US')} outcomes ${stored ? `(${stored})` : ''}`,
      `  1. ship alone:  ${f(p1.shipS)} s to store ${N.toLocaleString('en-US')} predictions (${Math.round(N / p1.shipS!).toLocaleString('en-US')}/s, start-up included), peak RSS ${(p1.peakRss / MiB).toFixed(0)} MiB`,
      `  2. join alone:  ${f(p2.joinS)} s to join ${N.toLocaleString('en-US')} outcomes: ${Math.round(N / p2.joinS!).toLocaleString('en-US')} outcomes/s (start-up included), peak RSS ${(p2.peakRss / MiB).toFixed(0)} MiB`,
      `  3. both:        ship ${f(p3.shipS)} s (${((p3.shipS! / p1.shipS! - 1) * 100).toFixed(0)}% vs alone), join ${f(p3.joinS)} s, peak RSS ${(p3.peakRss / MiB).toFixed(0)} MiB`,
      '',
    ].join('\n'));
  } finally {
    if (backend === 'engine') {
      await fetch(`${ENGINE_URL}/_data_stream/${prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
      await fetch(`${ENGINE_URL}/${prefix}-*?expand_wildcards=all`, { method: 'DELETE' }).catch(() => undefined);
      await fetch(`${ENGINE_URL}/_index_template/${prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
      for (const part of ['mappings', 'settings', 'custom']) await fetch(`${ENGINE_URL}/_component_template/${prefix}-predictions@${part}`, { method: 'DELETE' }).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

buildAgent();
process.stdout.write(`${machineLine()}\nload average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
for (const b of BACKEND === 'both' ? (['embedded', 'engine'] as const) : [BACKEND as 'embedded' | 'engine']) await bench(b);
