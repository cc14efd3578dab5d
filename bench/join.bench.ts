/**
 * Join benchmark (issue 13): N outcomes joined against N stored predictions, on the embedded store
 * and on a real search engine, and what the join costs the prediction ship path when both run.
 *
 *   node --import tsx bench/join.bench.ts [--n 1000000] [--backend embedded|engine|both]
 *        [--engine own | --engine-url http://127.0.0.1:9200] [--rounds 3] [--ship-n 100000]
 *        [--cpu-prof DIR]
 *
 * The agent runs as production runs it (`driftbeat run`, its own process,
 * the compiled dist/ built first by tsc -p tsconfig.build.json), continuously, with /metrics on a loopback port that
 * this script polls every 100 ms. Each phase is a fresh agent process on the same data folder:
 *   1. ship alone: N predictions (file A) stored;
 *   2. join alone: N outcomes for A (file F1) joined: outcomes/s, CPU-s per 100k, peak RSS
 *      (`--cpu-prof DIR` writes this phase's V8 CPU profile into DIR);
 *   3. `--rounds` times, back to back: ship M (`--ship-n`) new predictions alone; join M corrected
 *      outcomes for A alone (later label times: each replaces its outcome); then ship M new
 *      predictions while M further corrections are joined. The ship path's wall time and CPU-s per
 *      100k predictions both ways (with the join, the CPU the join spent meanwhile, outcomes joined
 *      during the ship x this round's join CPU per outcome, is subtracted), and the CPU of "both"
 *      beyond the sum of the two alone (what running together costs).
 * Times and CPU are counted from the agent's first /healthz answer (start-up excluded). CPU is the
 * agent process's (all threads, /proc/<pid>/stat); with `--engine own` also the engine's.
 * `--engine own` starts a private engine (test/engine, any free port) and stops it at the end; else
 * the engine at --engine-url is used under a fresh index prefix, deleted at the end.
 * Progress goes to stderr every 10 s. Not a timed test: figures are printed; it fails only if an
 * outcome or a prediction is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS, buildAgent, CLI, MiB, ROOT } from './args.ts';
import { createGenerator } from '../demo/generate.ts';
import { machineLine } from './machine.ts';
import { cpuOf, rssOf } from './proc.ts';

const argOf = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const N = Number(argOf('n', '1000000'));
const SHIP_N = Number(argOf('ship-n', String(Math.min(N, 100_000))));
const ROUNDS = Number(argOf('rounds', '3'));
const BACKEND = argOf('backend', 'both');
const ENGINE = argOf('engine', 'shared');
const CPU_PROF = argOf('cpu-prof', '');
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  return port;
}

async function writeLines(path: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += line(i) + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** Writes `count` predictions (seeded) and returns their ids. */
async function writePredictions(path: string, count: number, seed: number): Promise<string[]> {
  const gen = createGenerator({ seed, startMs: Date.UTC(2026, 10, 1), intervalMs: 10 });
  const ids: string[] = [];
  await writeLines(path, count, () => {
    const line = gen.next();
    ids.push(/"request_id":"([^"]+)"/.exec(line)![1]!);
    return line;
  });
  return ids;
}

function writeOutcomes(path: string, ids: readonly string[], labelHour: number): Promise<void> {
  const at = new Date(Date.UTC(2026, 10, 2, labelHour)).toISOString();
  return writeLines(path, ids.length, (i) => `{"request_id":"${ids[i]}","is_fraud":"${(i * 2654435761) % 100 < 7 ? 'fraud' : 'legit'}","labelled_at":"${at}"}`);
}

interface Counts { predictions: number; outcomes: number }
interface Phase {
  /** Seconds from the first /healthz answer until all predictions / outcomes were in. */
  shipS?: number;
  joinS?: number;
  /** Agent (and own engine) CPU seconds over the same spans. */
  shipCpu?: number;
  joinCpu?: number;
  engineShipCpu?: number;
  engineJoinCpu?: number;
  /** Outcomes joined by the time the predictions were all stored. */
  joinedDuringShip?: number;
  peakRss: number;
}

async function counts(port: number): Promise<Counts> {
  const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { pipeline?: { indexed: number; duplicates: number } };
  const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return {
    predictions: (h.pipeline?.indexed ?? 0) + (h.pipeline?.duplicates ?? 0),
    outcomes: Number(/driftbeat_outcomes_joined_total\{model="fraud"\} (\d+)/.exec(m)?.[1] ?? 0),
  };
}

interface Ctx { dir: string; output: string; enginePid?: number }

/** One agent process until `want` is reached (polled on /metrics and /healthz); SIGTERM then. */
async function runPhase(ctx: Ctx, name: string, inputs: string, want: Partial<Counts>, nodeArgs: string[] = []): Promise<Phase> {
  const port = await freePort();
  const cfg = join(ctx.dir, 'bench.yml');
  writeFileSync(cfg, `inputs:\n${inputs}\noutput:\n${ctx.output}\npath: { data: "${join(ctx.dir, 'data')}" }\nhttp: { enabled: true, port: ${port} }\nlogging: { level: warn }\n`);
  const child: ChildProcess = spawn(process.execPath, [...AGENT_NODE_FLAGS, ...nodeArgs, CLI, 'run', '-c', cfg], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  let ended: unknown;
  const exited = new Promise((r) => child.on('exit', (code, sig) => { ended = code ?? sig; r(ended); }));
  const r: Phase = { peakRss: 0 };
  let t0: number | undefined, cpu0 = 0, eng0 = 0, lastNote = Date.now();
  const deadline = Date.now() + 3 * 60 * 60_000;
  try {
    for (;;) {
      r.peakRss = Math.max(r.peakRss, rssOf(child.pid!));
      const c = await counts(port).catch(() => undefined);
      if (c && t0 === undefined) [t0, cpu0, eng0] = [Date.now(), cpuOf(child.pid), cpuOf(ctx.enginePid)];
      if (c && t0 !== undefined) {
        const [s, cpu, eng] = [(Date.now() - t0) / 1000, cpuOf(child.pid) - cpu0, cpuOf(ctx.enginePid) - eng0];
        if (want.predictions !== undefined && r.shipS === undefined && c.predictions >= want.predictions) Object.assign(r, { shipS: s, shipCpu: cpu, engineShipCpu: eng, joinedDuringShip: c.outcomes });
        if (want.outcomes !== undefined && r.joinS === undefined && c.outcomes >= want.outcomes) Object.assign(r, { joinS: s, joinCpu: cpu, engineJoinCpu: eng });
        if (Date.now() - lastNote >= 10_000) {
          lastNote = Date.now();
          process.stderr.write(`[join bench] ${name}: ${s.toFixed(0)} s, ${c.predictions.toLocaleString('en-US')} predictions stored, ${c.outcomes.toLocaleString('en-US')} outcomes joined, agent CPU ${cpu.toFixed(1)} s, RSS ${(rssOf(child.pid!) / MiB).toFixed(0)} MiB, load ${load()}\n`);
        }
      }
      if ((want.predictions === undefined || r.shipS !== undefined) && (want.outcomes === undefined || r.joinS !== undefined)) break;
      if (Date.now() > deadline) throw new Error(`${name} did not finish within 3 hours: ${JSON.stringify(r)}`);
      if (ended !== undefined) throw new Error(`the agent exited (${String(ended)}) before ${name} finished: ${JSON.stringify(r)}`);
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

const f1 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
const per100k = (cpu: number | undefined, n: number) => (cpu === undefined ? '-' : ((cpu * 100_000) / n).toFixed(1));
const rate = (n: number, s: number | undefined) => (s ? Math.round(n / s).toLocaleString('en-US') : '-');
const mib = (b: number) => (b / MiB).toFixed(0);

interface Round { alone: Phase; joinAlone: Phase; both: Phase; shipCpuBoth: number; extraCpu: number }

/**
 * Phase 3: ship alone, join alone (corrections), then both at once, `ROUNDS` times back to back.
 * The join's CPU per outcome is this round's (the tables have grown since phase 2).
 */
async function slowdownRounds(ctx: Ctx, idsA: readonly string[]): Promise<Round[]> {
  const rounds: Round[] = [];
  const some = idsA.slice(0, SHIP_N);
  for (let k = 0; k < ROUNDS; k++) {
    const [b, c, fj, fb] = [`b${k}`, `c${k}`, `fj${k}`, `fb${k}`].map((x) => join(ctx.dir, `${x}.jsonl`)) as [string, string, string, string];
    await writePredictions(b, SHIP_N, 100 + 2 * k);
    await writePredictions(c, SHIP_N, 101 + 2 * k);
    await writeOutcomes(fj, some, 2 + 2 * k);
    await writeOutcomes(fb, some, 3 + 2 * k);
    const alone = await runPhase(ctx, `round ${k + 1} ship alone`, input(b), { predictions: SHIP_N });
    const joinAlone = await runPhase(ctx, `round ${k + 1} join alone`, [input(b), feedback(`fj${k}`, fj)].join('\n'), { outcomes: SHIP_N });
    const both = await runPhase(ctx, `round ${k + 1} ship + join`, [input(c), feedback(`fb${k}`, fb)].join('\n'), { predictions: SHIP_N, outcomes: SHIP_N });
    const perOutcome = joinAlone.joinCpu! / SHIP_N;
    const shipCpuBoth = both.shipCpu! - both.joinedDuringShip! * perOutcome;
    const extraCpu = Math.max(both.shipCpu!, both.joinCpu!) - alone.shipCpu! - joinAlone.joinCpu!;
    rounds.push({ alone, joinAlone, both, shipCpuBoth, extraCpu });
    const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${((a / b - 1) * 100).toFixed(0)}%`;
    process.stdout.write(`  3.${k + 1} ship ${SHIP_N.toLocaleString('en-US')} alone: ${f1(alone.shipS)} s, ${per100k(alone.shipCpu, SHIP_N)} CPU-s/100k | join ${SHIP_N.toLocaleString('en-US')} corrections alone: ${f1(joinAlone.joinS)} s, ${per100k(joinAlone.joinCpu, SHIP_N)} CPU-s/100k`
      + ` | both: ship ${f1(both.shipS)} s (${pct(both.shipS!, alone.shipS!)}), ship CPU ${per100k(shipCpuBoth, SHIP_N)} CPU-s/100k (${pct(shipCpuBoth, alone.shipCpu!)}; ${both.joinedDuringShip!.toLocaleString('en-US')} outcomes joined meanwhile, their CPU subtracted), join done at ${f1(both.joinS)} s;`
      + ` CPU of both beyond the sum of the two alone: ${extraCpu.toFixed(1)} s (${((extraCpu / alone.shipCpu!) * 100).toFixed(0)}% of the ship's); load ${load()}\n`);
  }
  return rounds;
}

function summary(rounds: readonly Round[]): string {
  if (!rounds.length) return '';
  const sum = (f: (r: Round) => number) => rounds.reduce((s, r) => s + f(r), 0);
  const wall = sum((r) => r.both.shipS!) / sum((r) => r.alone.shipS!) - 1;
  const cpu = sum((r) => r.shipCpuBoth) / sum((r) => r.alone.shipCpu!) - 1;
  const extra = sum((r) => r.extraCpu) / sum((r) => r.alone.shipCpu!);
  return `  3. over ${rounds.length} round(s), with the join running: ship wall ${(wall * 100).toFixed(1)}%, ship CPU ${(cpu * 100).toFixed(1)}%, CPU beyond the sum of both alone ${(extra * 100).toFixed(1)}% of the ship's\n`;
}

async function prepare(ctx: Ctx, backend: 'embedded' | 'engine', a: string): Promise<void> {
  if (backend !== 'engine') return;
  // The templates first: without them event.id would be mapped as text and the lookup would miss.
  writeFileSync(join(ctx.dir, 'setup.yml'), `inputs:\n${input(a)}\noutput:\n${ctx.output}\npath: { data: "${join(ctx.dir, 'data')}" }\n`);
  const setup = spawnSync(process.execPath, [CLI, 'setup', '-c', join(ctx.dir, 'setup.yml'), '--templates'], { cwd: ROOT, encoding: 'utf8' });
  if (setup.status !== 0) throw new Error(`setup failed: ${setup.stdout}${setup.stderr}`);
}

async function cleanEngine(url: string, prefix: string): Promise<void> {
  await fetch(`${url}/_data_stream/${prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
  await fetch(`${url}/${prefix}-*?expand_wildcards=all`, { method: 'DELETE' }).catch(() => undefined);
  await fetch(`${url}/_index_template/${prefix}-*`, { method: 'DELETE' }).catch(() => undefined);
  for (const part of ['mappings', 'settings', 'custom']) await fetch(`${url}/_component_template/${prefix}-predictions@${part}`, { method: 'DELETE' }).catch(() => undefined);
}

async function storedOutcomes(url: string, prefix: string): Promise<number> {
  await fetch(`${url}/${prefix}-outcomes-fraud/_refresh`, { method: 'POST' });
  return ((await (await fetch(`${url}/${prefix}-outcomes-fraud/_count`)).json()) as { count: number }).count;
}

async function bench(backend: 'embedded' | 'engine', engine?: { url: string; pid?: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `driftbeat-join-bench-${backend}-`));
  const prefix = `bench-join-${Date.now().toString(36)}`;
  const output = backend === 'embedded'
    ? `  embedded: { path: "${join(dir, 'data', 'driftbeat.duckdb')}" }`
    : `  elasticsearch: { hosts: ["${engine!.url}"], index_prefix: ${prefix} }`;
  const ctx: Ctx = { dir, output, ...(engine?.pid !== undefined ? { enginePid: engine.pid } : {}) };
  const n = N.toLocaleString('en-US');
  try {
    const a = join(dir, 'a.jsonl');
    const idsA = await writePredictions(a, N, 11);
    await writeOutcomes(join(dir, 'f1.jsonl'), idsA, 1);
    await prepare(ctx, backend, a);
    process.stdout.write(`backend ${backend}${engine ? ` (${engine.pid !== undefined ? 'own engine' : engine.url})` : ''}: ${n} predictions, ${n} outcomes\n`);
    const p1 = await runPhase(ctx, '1. ship alone', input(a), { predictions: N });
    process.stdout.write(`  1. ship alone:  ${f1(p1.shipS)} s to store ${n} predictions (${rate(N, p1.shipS)}/s), agent ${per100k(p1.shipCpu, N)} CPU-s per 100k${engine?.pid ? `, engine ${per100k(p1.engineShipCpu, N)}` : ''}, peak RSS ${mib(p1.peakRss)} MiB; load ${load()}\n`);
    const prof = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF, '--cpu-prof-interval', '2000'] : [];
    const p2 = await runPhase(ctx, '2. join alone', [input(a), feedback('f1', join(dir, 'f1.jsonl'))].join('\n'), { outcomes: N }, prof);
    process.stdout.write(`  2. join alone:  ${f1(p2.joinS)} s to join ${n} outcomes: ${rate(N, p2.joinS)} outcomes/s, agent ${per100k(p2.joinCpu, N)} CPU-s per 100k outcomes${engine?.pid ? `, engine ${per100k(p2.engineJoinCpu, N)}` : ''}, peak RSS ${mib(p2.peakRss)} MiB; load ${load()}\n`);
    if (backend === 'engine') {
      const c = await storedOutcomes(engine!.url, prefix);
      if (c !== N) throw new Error(`${c} outcomes stored, expected ${N}`);
    }
    const rounds = await slowdownRounds(ctx, idsA);
    process.stdout.write(summary(rounds));
    if (backend === 'engine') {
      const c = await storedOutcomes(engine!.url, prefix);
      if (c !== N) throw new Error(`${c} outcomes stored after the rounds, expected ${N} (corrections replace)`);
    }
  } finally {
    if (backend === 'engine') await cleanEngine(engine!.url, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withEngine(fn: (e: { url: string; pid?: number }) => Promise<void>): Promise<void> {
  if (ENGINE !== 'own') return fn({ url: argOf('engine-url', 'http://127.0.0.1:9200') });
  const { startEngine } = await import('../test/engine/launch.mjs');
  const e = await startEngine({ port: 0 });
  process.stderr.write(`[join bench] own engine at ${e.url} (pid ${e.pid})\n`);
  try {
    await fn({ url: e.url, pid: e.pid });
  } finally {
    await e.stop();
  }
}

buildAgent();
process.stdout.write(`${machineLine()}\nload average ${load()}\ncommand: node --import tsx bench/join.bench.ts ${process.argv.slice(2).join(' ')}\n`);
for (const b of BACKEND === 'both' ? (['embedded', 'engine'] as const) : [BACKEND as 'embedded' | 'engine']) {
  if (b === 'engine') await withEngine((e) => bench('engine', e));
  else await bench('embedded');
}
