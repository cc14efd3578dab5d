/**
 * The embedded store (not a test): `npm run bench -- embedded [--lines 1000000] [--sink-docs 200000]
 * [--batch 5000] [--only once|sink]`.
 *
 * - once: a seeded prediction log of `--lines` lines -> `driftbeat run --once` on the embedded
 *   store, the real agent in its own process as production runs it (compiled dist/, the bin's V8
 *   flag; tail, normalize, DuckDB).
 *   Prints documents/s (wall, start-up included), CPU seconds and the agent's peak RSS (sampled
 *   from /proc every 100 ms and the kernel's own high-water mark), then checks every line was stored.
 * - sink: the EmbeddedSink alone on prepared documents: a fresh file, then the same documents again
 *   (all duplicates, the replay-after-restart case).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedSink } from '../agent/sinks/embedded/sink.ts';
import { openStore } from '../agent/sinks/embedded/store.ts';
import { makeBatch } from '../demo/documents.ts';
import { writeLinesOnce } from '../demo/generate.ts';
import { arg, buildAgent, CLI, MiB, ROOT } from './args.ts';
import { machineLine } from './machine.ts';
import { procStatusBytes as procStatus } from './proc.ts';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const LINES = arg('lines', 1_000_000);
const SINK_DOCS = arg('sink-docs', 200_000);
const BATCH = arg('batch', 5000);

console.log(`${machineLine()}; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

async function runOnce(): Promise<void> {
  const cache = join(tmpdir(), 'driftbeat-bench-cache');
  mkdirSync(cache, { recursive: true });
  const source = join(cache, `embedded-${LINES}.jsonl`);
  writeLinesOnce(source, LINES, { seed: 42 });
  const work = mkdtempSync(join(tmpdir(), 'driftbeat-bench-'));
  try {
    const log = join(work, 'preds.jsonl');
    copyFileSync(source, log);
    const cfg = join(work, 'bench.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${log}"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id, text: [customer_note], latency: latency_ms }
output:
  embedded: { path: "${join(work, 'store.duckdb')}" }
path: { data: "${join(work, 'data')}" }
http: { enabled: false }
logging: { level: warn }
`);
    // As production runs it: compiled dist/ (what `npm ci` builds), the bin's V8 flag.
    buildAgent();
    const t0 = Date.now();
    const env = { ...process.env };
    // BENCH_NODE_ARGS replaces the bin's V8 flags (e.g. "--max-semi-space-size=4 --max-old-space-size=128").
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=4').split(' ').filter(Boolean);
    console.log(`agent node flags: ${nodeArgs.join(' ')}`);
    const child = spawn(process.execPath, [...nodeArgs, CLI, 'run', '--once', '-c', cfg], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<number | string>((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
    let peak = 0;
    let hwm = 0;
    let cpu = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, procStatus(child.pid!, 'VmRSS'));
      hwm = Math.max(hwm, procStatus(child.pid!, 'VmHWM'));
      try {
        // utime + stime (clock ticks, 100 per second on Linux) of every thread of the agent.
        const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        cpu = (Number(f[11]) + Number(f[12])) / 100;
      } catch { /* exited */ }
    }, 100);
    const code = await exited;
    const wallS = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    if (code !== 0) throw new Error(`the agent exited with ${code}`);
    const store = await openStore(join(work, 'store.duckdb'));
    const [row] = await store.all<{ n: number }>('SELECT count(*) AS n FROM predictions');
    await store.close();
    const stored = Number(row!.n);
    console.log(
      `run --once, ${LINES.toLocaleString('en-US')} lines (${(statSync(log).size / MiB).toFixed(0)} MiB): ${stored.toLocaleString('en-US')} stored in ${wallS.toFixed(1)} s ` +
        `= ${Math.round(stored / wallS).toLocaleString('en-US')} docs/s (start-up included); ~${cpu.toFixed(1)} CPU s; ` +
        `peak RSS ${(Math.max(peak, hwm) / MiB).toFixed(0)} MiB (sampled ${(peak / MiB).toFixed(0)}, VmHWM ${(hwm / MiB).toFixed(0)}); ` +
        `file ${(statSync(join(work, 'store.duckdb')).size / MiB).toFixed(0)} MiB`,
    );
    if (stored !== LINES) throw new Error(`stored ${stored} documents, expected ${LINES}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function sinkAlone(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-bench-'));
  const path = join(dir, 'bench.duckdb');
  console.log(`sink alone: ${SINK_DOCS} docs in batches of ${BATCH}`);
  const batches = [];
  for (let i = 0; i < SINK_DOCS; i += BATCH) batches.push(makeBatch(i, Math.min(SINK_DOCS, i + BATCH)));
  const sink = new EmbeddedSink({ path });
  await sink.start();
  for (const label of ['new', 'duplicates']) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let n = 0;
    for (const b of batches) {
      const r = await sink.send(b);
      n += r.indexed + r.duplicates;
    }
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpuS = (c.user + c.system) / 1e6;
    // CPU seconds (JS and DuckDB threads) tell the cost apart from a busy machine's waiting.
    console.log(`  ${label}: ${n} docs in ${s.toFixed(2)} s = ${Math.round(n / s)} docs/s; ${cpuS.toFixed(2)} CPU s = ${Math.round(n / cpuS)} docs per CPU s`);
  }
  await sink.stop();
  console.log(`  file ${(statSync(path).size / 1e6).toFixed(1)} MB, peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  rmSync(dir, { recursive: true, force: true });
}

if (only !== 'sink') await runOnce();
if (only !== 'once') await sinkAlone();
