/**
 * End-to-end ship benchmark: a seeded prediction log -> the real agent (tail, split, parse,
 * normalize, encode, bulk) -> a local bulk endpoint that only counts (its own process).
 *
 *   node --import tsx bench/ship.bench.ts [--lines 1000000] [--outage-seconds 300]
 *
 * Reports lines/s, MB/s, CPU seconds per 100k lines and peak RSS. With --outage-seconds, the
 * endpoint refuses connections for that long while a writer keeps growing the file, and the
 * peak RSS during the outage is reported against the memory budget.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Agent } from '../agent/agent.ts';
import { loadConfig } from '../agent/config/load.ts';
import { silentLogger } from '../agent/telemetry/logger.ts';
import { createGenerator } from './generate.ts';
import { machineLine } from './machine.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const LINES = arg('lines', 1_000_000);
const OUTAGE_S = arg('outage-seconds', 0);
const BUDGET = arg('budget-mib', 64);

async function generate(path: string, n: number): Promise<void> {
  if (existsSync(path)) return;
  const gen = createGenerator({ seed: 42 });
  const out = createWriteStream(path);
  let buf = '';
  for (let i = 0; i < n; i++) {
    buf += gen.next() + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

async function startCounter(): Promise<{ port: number; send(cmd: string): void; stats(): Promise<{ docs: number }>; stop(): void }> {
  const child = spawn(process.execPath, [new URL('./count-server.mjs', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout! });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  rl.on('line', (l) => { const w = waiters.shift(); if (w) w(l); else lines.push(l); });
  const nextLine = () => new Promise<string>((r) => { const l = lines.shift(); if (l !== undefined) r(l); else waiters.push(r); });
  const port = Number(await nextLine());
  return {
    port,
    send: (cmd) => child.stdin!.write(cmd + '\n'),
    stats: async () => { child.stdin!.write('stats\n'); return JSON.parse(await nextLine()) as { docs: number }; },
    stop: () => { child.kill(); },
  };
}

async function main(): Promise<void> {
  const outDir = join(import.meta.dirname, 'out');
  mkdirSync(outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'driftbeat-bench-'));
  const log = join(work, 'preds.jsonl');
  const source = join(outDir, `preds-${LINES}.jsonl`);
  process.stdout.write(`${machineLine()}\ngenerating ${LINES} lines...\n`);
  await generate(source, LINES);
  // A copy per run so the agent's registry starts fresh and the source stays reusable.
  const { copyFileSync } = await import('node:fs');
  copyFileSync(source, log);
  const size = statSync(log).size;
  process.stdout.write(`input: ${LINES} lines, ${(size / 1e6).toFixed(1)} MB (${Math.round(size / LINES)} bytes/line)\n`);

  const counter = await startCounter();
  const text = `
inputs:
  - paths: ["${log}"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id, text: [note], latency: latency_ms }
output:
  elasticsearch: { hosts: ["http://127.0.0.1:${counter.port}"], backoff: { initial: 100ms, max: 2s } }
path: { data: "${join(work, 'data')}" }
queue: { max_bytes: ${BUDGET}MiB }
http: { enabled: false }
`;
  const { config } = loadConfig('bench.yml', { text });
  let peakRss = 0;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 50);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();

  if (OUTAGE_S > 0) {
    const agent = new Agent({ config, logger: silentLogger });
    const running = agent.run();
    await new Promise((r) => setTimeout(r, 2000));
    counter.send(`outage ${OUTAGE_S * 1000}`);
    process.stdout.write(`endpoint down for ${OUTAGE_S}s while the file grows...\n`);
    const gen = createGenerator({ seed: 7, startMs: Date.now() });
    let grown = 0;
    let outagePeak = 0;
    const end = Date.now() + OUTAGE_S * 1000;
    while (Date.now() < end) {
      let chunk = '';
      for (let i = 0; i < 2000; i++) chunk += gen.next() + '\n';
      await appendFile(log, chunk);
      grown += 2000;
      outagePeak = Math.max(outagePeak, process.memoryUsage.rss());
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stdout.write(`outage over: file grew by ${grown} lines; peak RSS during outage ${(outagePeak / 2 ** 20).toFixed(0)} MiB (budget ${BUDGET} MiB of queued lines)\n`);
    const want = LINES + grown;
    for (;;) {
      const s = await counter.stats();
      if (s.docs >= want) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await agent.stop();
    await running;
  } else {
    const agent = new Agent({ config, logger: silentLogger, once: true });
    await agent.run();
  }

  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const stats = await counter.stats();
  counter.stop();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write([
    `delivered: ${stats.docs} documents in ${secs.toFixed(2)} s`,
    `throughput: ${Math.round(stats.docs / secs).toLocaleString('en-US')} lines/s, ${(size / 1e6 / secs).toFixed(1)} MB/s (input bytes)`,
    `cpu: ${(cpuS / (stats.docs / 100_000)).toFixed(2)} CPU-seconds per 100k lines (agent process: user+system ${cpuS.toFixed(1)} s)`,
    `peak RSS: ${(Math.max(peakRss, maxRss) / 2 ** 20).toFixed(0)} MiB (queue budget ${BUDGET} MiB)`,
    '',
  ].join('\n'));
  rmSync(work, { recursive: true, force: true });
}

await main();
