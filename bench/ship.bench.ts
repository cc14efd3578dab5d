/**
 * End-to-end ship benchmark: a seeded prediction log -> the real agent, run as production runs it
 * (`driftbeat run`, its own process: tail, split, parse, normalize, encode, bulk) -> a local bulk
 * endpoint that only counts (a third process).
 *
 *   node --import tsx bench/ship.bench.ts [--lines 1000000] [--runs 1] [--budget-mib 16]
 *                                         [--outage-seconds 300] [--no-worker] [--tsx]
 *                                         [--bulk-docs N] [--in-flight N]
 *
 * The agent runs from dist/, compiled first (tsc -p tsconfig.build.json) as `npm ci` does; --tsx runs
 * the TypeScript sources through tsx instead. Extra node flags for the agent: BENCH_NODE_ARGS
 * (e.g. "--max-semi-space-size=4"; default: the bin's shebang flags); BENCH_RSS_TIMELINE=1 prints the agent's RSS every second.
 * Reports lines/s and MB/s (first to last bulk request, and end to end with start-up), CPU seconds
 * per 100k lines (every thread of the agent process, user + system) and the agent's peak RSS.
 * With --outage-seconds, the endpoint drops connections for that long while a writer keeps growing
 * the file at 20,000 lines/s; the agent's RSS is sampled throughout and reported against the
 * memory budget, then the run goes on until every line is delivered.
 * --runs N repeats the measurement and prints every run and the best (the machine may be shared).
 * Not a timed test: it prints figures, it fails only if lines are lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGenerator, writeLinesOnce } from '../demo/generate.ts';
import { AGENT_NODE_FLAGS, arg, buildAgent, CLI, MiB, ROOT, SOURCE_CLI } from './args.ts';
import { machineLine } from './machine.ts';
import { rssOf } from './proc.ts';

const LINES = arg('lines', 1_000_000);
const OUTAGE_S = arg('outage-seconds', 0);
const BUDGET = arg('budget-mib', 8);
const RUNS = arg('runs', 1);
/** output.elasticsearch.bulk_max_docs and max_in_flight for the run (0: the agent's defaults). */
const BULK_DOCS = arg('bulk-docs', 0);
const IN_FLIGHT = arg('in-flight', 0);
const NO_WORKER = process.argv.includes('--no-worker');
const TSX = process.argv.includes('--tsx');

interface CounterStats { docs: number; bytes: number; requests: number; firstMs: number; lastMs: number }

async function startCounter(): Promise<{ port: number; send(cmd: string): void; stats(): Promise<CounterStats>; stop(): void }> {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'count-server.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout! });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  rl.on('line', (l) => { const w = waiters.shift(); if (w) w(l); else lines.push(l); });
  const nextLine = () => new Promise<string>((r) => { const l = lines.shift(); if (l !== undefined) r(l); else waiters.push(r); });
  const port = Number(await nextLine());
  return {
    port,
    send: (cmd) => child.stdin!.write(cmd + '\n'),
    stats: async () => { child.stdin!.write('stats\n'); return JSON.parse(await nextLine()) as CounterStats; },
    stop: () => { child.kill(); },
  };
}

/**
 * Where the resident memory is, from /proc/<pid>/smaps (BENCH_SMAPS=1): RSS by mapping (anonymous
 * memory is the heaps of both threads, the slabs and the bulk bodies; file mappings are node and
 * the native libraries), largest first.
 */
function smapsSummary(pid: number): string {
  let text = '';
  try { text = readFileSync(`/proc/${pid}/smaps`, 'utf8'); } catch { return ''; }
  const by = new Map<string, number>();
  const anon: [number, number][] = [];
  let name = '';
  let size = 0;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) { name = head[3] || '[anonymous]'; size = (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1024; continue; }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      by.set(name, (by.get(name) ?? 0) + Number(rss[1]));
      if (name === '[anonymous]') anon.push([Number(rss[1]), size]);
    }
  }
  const big = anon.sort((a, b) => b[0] - a[0]).slice(0, 10).map(([r, z]) => `${(r / 1024).toFixed(1)}/${(z / 1024).toFixed(0)}`).join(' ');
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n, kb]) => `    ${(kb / 1024).toFixed(1).padStart(6)} MiB  ${n}`).join('\n') +
    `\n    largest anonymous mappings, resident/size MiB: ${big}`;
}

interface Usage { userUs: number; systemUs: number; maxRssKiB: number; uptimeS: number; mainAtPeak?: Record<string, number> }

interface RunResult {
  docs: number;
  wallS: number;
  flowS: number;
  cpuS: number;
  peakRss: number;
  outage?: { grown: number; peakRss: number; afterS: number };
}

/** The agent's config: one input on `log`, the counting endpoint on `port`, the queue budget. */
function writeConfig(work: string, log: string, port: number): string {
  const cfg = join(work, 'bench.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${log}"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id, text: [customer_note], latency: latency_ms }
output:
  elasticsearch: { hosts: ["http://127.0.0.1:${port}"], backoff: { initial: 100ms, max: 2s }${BULK_DOCS ? `, bulk_max_docs: ${BULK_DOCS}` : ''}${IN_FLIGHT ? `, max_in_flight: ${IN_FLIGHT}` : ''} }
path: { data: "${join(work, 'data')}" }
queue: { max_bytes: ${BUDGET}MiB }
http: { enabled: false }
logging: { level: error }
`);
  return cfg;
}

/** Starts `driftbeat run` as in production and samples its RSS every 100 ms until `stop()`. */
function startAgent(cfg: string, usageFile: string) {
  // As the agent runs in production (the bin's shebang, the Docker image, the systemd unit).
  const nodeArgs = process.env.BENCH_NODE_ARGS !== undefined ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : [...AGENT_NODE_FLAGS];
  const args = [...nodeArgs, '--import', join(ROOT, 'bench', 'usage-report.mjs'), ...(TSX ? SOURCE_CLI : [CLI]), 'run', '-c', cfg];
  if (OUTAGE_S === 0) args.push('--once');
  const env = {
    ...process.env,
    DRIFTBEAT_BENCH_USAGE: usageFile,
    ...(NO_WORKER ? { DRIFTBEAT_NORMALIZE_WORKER: '0' } : {}),
  };
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  const rss = { sampledPeak: 0, peakMaps: '' };
  let tick = 0;
  const sampler = setInterval(() => {
    const r = rssOf(child.pid!);
    if (process.env.BENCH_SMAPS && r > rss.sampledPeak) rss.peakMaps = smapsSummary(child.pid!);
    rss.sampledPeak = Math.max(rss.sampledPeak, r);
    if (process.env.BENCH_RSS_TIMELINE && ++tick % 10 === 0) process.stdout.write(`  rss ${(tick / 10).toFixed(0)} s: ${(r / MiB).toFixed(0)} MiB\n`);
  }, 100);
  return { child, exited, rss, stop: () => clearInterval(sampler) };
}

/**
 * Lets the agent ship for a few seconds, then takes the endpoint away while the file keeps growing;
 * waits until every line is delivered and stops the agent. Returns the outage figures and the lines expected.
 */
async function runOutage(counter: Awaited<ReturnType<typeof startCounter>>, log: string, child: ChildProcess): Promise<{ outage: NonNullable<RunResult['outage']>; want: number }> {
  await new Promise((r) => setTimeout(r, 3000));
  counter.send(`outage ${OUTAGE_S * 1000}`);
  process.stdout.write(`endpoint down for ${OUTAGE_S} s while the file grows by 20,000 lines/s...\n`);
  const gen = createGenerator({ seed: 7, startMs: Date.now() });
  let grown = 0;
  let peak = 0;
  const end = Date.now() + OUTAGE_S * 1000;
  let nextReport = Date.now() + 60_000;
  while (Date.now() < end) {
    let chunk = '';
    for (let i = 0; i < 2000; i++) chunk += gen.next() + '\n';
    await appendFile(log, chunk);
    grown += 2000;
    peak = Math.max(peak, rssOf(child.pid!));
    if (Date.now() >= nextReport) {
      process.stdout.write(`  ${Math.round((Date.now() - (end - OUTAGE_S * 1000)) / 1000)} s: file +${grown.toLocaleString('en-US')} lines, agent RSS ${(rssOf(child.pid!) / MiB).toFixed(0)} MiB (peak ${(peak / MiB).toFixed(0)})\n`);
      nextReport += 60_000;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const t1 = Date.now();
  const want = LINES + grown;
  for (;;) {
    const s = await counter.stats();
    if (s.docs >= want) break;
    if (Date.now() - t1 > 30 * 60_000) throw new Error(`only ${s.docs} of ${want} lines delivered 30 minutes after the outage`);
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGTERM');
  return { outage: { grown, peakRss: peak, afterS: (Date.now() - t1) / 1000 }, want };
}

async function runOnce(source: string): Promise<RunResult> {
  const work = mkdtempSync(join(tmpdir(), 'driftbeat-bench-'));
  const counter = await startCounter();
  try {
    const log = join(work, 'preds.jsonl');
    // A copy per run so the agent's registry starts fresh and the source stays reusable.
    copyFileSync(source, log);
    const cfg = writeConfig(work, log, counter.port);
    const usageFile = join(work, 'usage.json');
    const t0 = Date.now();
    const agent = startAgent(cfg, usageFile);

    let outage: RunResult['outage'];
    let want = LINES;
    if (OUTAGE_S > 0) ({ outage, want } = await runOutage(counter, log, agent.child));
    const code = await agent.exited;
    const wallS = (Date.now() - t0) / 1000;
    agent.stop();
    if (agent.rss.peakMaps) process.stdout.write(`  RSS by mapping at the sampled peak:\n${agent.rss.peakMaps}\n`);
    if (code !== 0) throw new Error(`the agent exited with ${code}`);
    const s = await counter.stats();
    if (s.docs !== want) throw new Error(`delivered ${s.docs} documents, expected ${want}`);
    const u = JSON.parse(readFileSync(usageFile, 'utf8')) as Usage;
    if (process.env.BENCH_SMAPS && u.mainAtPeak) {
      process.stdout.write(`  main thread at its peak RSS: ${Object.entries(u.mainAtPeak).map(([k, v]) => `${k} ${(v / MiB).toFixed(1)}`).join(', ')} MiB\n`);
    }
    const flowS = Math.max(0.001, (s.lastMs - s.firstMs) / 1000);
    return {
      docs: s.docs,
      wallS,
      flowS: OUTAGE_S > 0 ? wallS : flowS,
      cpuS: (u.userUs + u.systemUs) / 1e6,
      peakRss: Math.max(u.maxRssKiB * 1024, agent.rss.sampledPeak),
      ...(outage ? { outage } : {}),
    };
  } finally {
    counter.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function report(r: RunResult, bytes: number): string {
  const perLine = bytes / LINES;
  const rate = r.docs / r.flowS;
  const lines = [
    `  delivered ${r.docs.toLocaleString('en-US')} documents; ${r.wallS.toFixed(2)} s end to end (start-up included)`,
    `  throughput: ${Math.round(rate).toLocaleString('en-US')} lines/s, ${((rate * perLine) / 1e6).toFixed(1)} MB/s of input` +
      (OUTAGE_S > 0 ? ' (whole run, outage included)' : ` (first to last bulk request; ${Math.round(r.docs / r.wallS).toLocaleString('en-US')} lines/s end to end)`),
    `  cpu: ${(r.cpuS / (r.docs / 100_000)).toFixed(2)} CPU-seconds per 100k lines (agent process, all threads: ${r.cpuS.toFixed(1)} s)`,
    `  peak RSS: ${(r.peakRss / MiB).toFixed(0)} MiB (queue budget ${BUDGET} MiB)`,
  ];
  if (r.outage) {
    lines.push(`  outage: file grew by ${r.outage.grown.toLocaleString('en-US')} lines during ${OUTAGE_S} s; agent peak RSS during the outage ${(r.outage.peakRss / MiB).toFixed(0)} MiB; all delivered ${r.outage.afterS.toFixed(0)} s after the endpoint came back`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const outDir = join(import.meta.dirname, 'out');
  mkdirSync(outDir, { recursive: true });
  const source = join(outDir, `preds-${LINES}.jsonl`);
  process.stdout.write(`${machineLine()}\nload average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  if (!existsSync(source)) process.stdout.write(`generating ${LINES.toLocaleString('en-US')} lines into ${source}...\n`);
  writeLinesOnce(source, LINES, { seed: 42 });
  const bytes = statSync(source).size;
  if (!TSX) buildAgent();
  const dist = !TSX && existsSync(CLI);
  process.stdout.write(`input: ${LINES.toLocaleString('en-US')} lines, ${(bytes / 1e6).toFixed(1)} MB (${Math.round(bytes / LINES)} bytes/line); ` +
    `agent: driftbeat run${OUTAGE_S ? '' : ' --once'}, normalize worker ${NO_WORKER ? 'off' : 'on'}, ${dist ? 'compiled (dist/)' : 'TypeScript through tsx'}` +
    `${process.env.BENCH_NODE_ARGS ? `, node ${process.env.BENCH_NODE_ARGS}` : ''}\n`);
  const results: RunResult[] = [];
  for (let k = 0; k < RUNS; k++) {
    const r = await runOnce(source);
    results.push(r);
    process.stdout.write(`run ${k + 1}/${RUNS}:\n${report(r, bytes)}\n`);
  }
  if (RUNS > 1) {
    const best = results.reduce((a, b) => (b.docs / b.flowS > a.docs / a.flowS ? b : a));
    process.stdout.write(`best of ${RUNS} (by lines/s):\n${report(best, bytes)}\n`);
  }
}

await main();
