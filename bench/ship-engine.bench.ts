/**
 * The ship path into a real engine: a seeded prediction log -> the real agent (`driftbeat setup
 * --templates`, then `driftbeat run --once`, its own process) -> a real single-node OpenSearch
 * started for this benchmark alone (test/engine, on a free port; never the shared one), into the
 * data stream setup made. Here the engine is the bottleneck: the figures are lines/s end to end,
 * the agent's CPU-seconds per 100k lines (all its threads) and the engine's CPU over the same run.
 *
 *   node --import tsx bench/ship-engine.bench.ts [--lines 200000] [--bulk-docs N] [--in-flight N]
 *
 * Not a timed test: it prints figures, it fails only if lines are lost.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEngine } from '../test/engine/launch.mjs';
import { writeLines } from '../demo/generate.ts';
import { AGENT_NODE_FLAGS, arg, buildAgent, CLI, MiB, ROOT } from './args.ts';
import { machineLine } from './machine.ts';
import { cpuOf } from './proc.ts';

const LINES = arg('lines', 200_000);
const BULK_DOCS = arg('bulk-docs', 0);
const IN_FLIGHT = arg('in-flight', 0);

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number | string> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
}

async function main(): Promise<void> {
  process.stdout.write(`${machineLine()}\nload average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  // Compiled, as production runs it (as bench/ship.bench.ts does).
  buildAgent();
  const work = mkdtempSync(join(tmpdir(), 'driftbeat-bench-engine-'));
  const engine = await startEngine({ port: 0 });
  try {
    const log = join(work, 'preds.jsonl');
    const bytes = writeLines(log, LINES, { seed: 42 });
    const cfg = join(work, 'bench.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${log}"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id, text: [customer_note], latency: latency_ms }
output:
  elasticsearch: { hosts: ["${engine.url}"], index_prefix: bench${BULK_DOCS ? `, bulk_max_docs: ${BULK_DOCS}` : ''}${IN_FLIGHT ? `, max_in_flight: ${IN_FLIGHT}` : ''} }
path: { data: "${join(work, 'data')}" }
http: { enabled: false }
logging: { level: ${process.env.BENCH_LOG_LEVEL ?? 'error'} }
`);
    if ((await run([CLI, 'setup', '-c', cfg, '--templates'])) !== 0) throw new Error('driftbeat setup failed');
    process.stdout.write(`engine: OpenSearch ${engine.version} (its own JVM, pid ${engine.pid}); input: ${LINES.toLocaleString('en-US')} lines, ${(bytes / 1e6).toFixed(1)} MB; agent: driftbeat run --once\n`);
    const usageFile = join(work, 'usage.json');
    const engineCpu0 = cpuOf(engine.pid);
    const t0 = Date.now();
    const code = await run([...AGENT_NODE_FLAGS, '--import', join(ROOT, 'bench', 'usage-report.mjs'), CLI, 'run', '-c', cfg, '--once'], { DRIFTBEAT_BENCH_USAGE: usageFile });
    const wallS = (Date.now() - t0) / 1000;
    const engineCpu = cpuOf(engine.pid) - engineCpu0;
    if (code !== 0) throw new Error(`the agent exited with ${code}`);
    await fetch(`${engine.url}/bench-predictions-fraud/_refresh`, { method: 'POST' });
    const count = ((await (await fetch(`${engine.url}/bench-predictions-fraud/_count`)).json()) as { count: number }).count;
    if (count !== LINES) throw new Error(`the engine holds ${count} documents, expected ${LINES}`);
    const u = JSON.parse(readFileSync(usageFile, 'utf8')) as { userUs: number; systemUs: number; maxRssKiB: number };
    const agentCpu = (u.userUs + u.systemUs) / 1e6;
    const per100k = LINES / 100_000;
    process.stdout.write([
      `  delivered ${count.toLocaleString('en-US')} documents into the data stream in ${wallS.toFixed(1)} s (start-up included): ${Math.round(LINES / wallS).toLocaleString('en-US')} lines/s`,
      `  agent: ${(agentCpu / per100k).toFixed(2)} CPU-seconds per 100k lines (${agentCpu.toFixed(1)} s, all threads), peak RSS ${(u.maxRssKiB * 1024 / MiB).toFixed(0)} MiB`,
      `  engine: ${(engineCpu / per100k).toFixed(2)} CPU-seconds per 100k lines (${engineCpu.toFixed(1)} s over the run)`,
    ].join('\n') + '\n');
  } finally {
    await engine.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
