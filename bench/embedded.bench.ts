/**
 * Throughput of the embedded sink (not a test): `npm run bench -- embedded [docs] [batch]`.
 * Prints the machine, the input size and documents per second for a fresh file, then for the same
 * documents again (all duplicates, the replay-after-restart case).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedSink } from '../agent/sinks/embedded/sink.ts';
import { makeBatch } from '../agent/sinks/embedded/testdocs.ts';

const total = Number(process.argv[2] ?? 200_000);
const batchSize = Number(process.argv[3] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'driftbeat-bench-'));
const path = join(dir, 'bench.duckdb');

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x ${cpus().length}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${total} docs in batches of ${batchSize}`);
const batches = [];
for (let i = 0; i < total; i += batchSize) batches.push(makeBatch(i, Math.min(total, i + batchSize)));

const sink = new EmbeddedSink({ path });
await sink.start();
for (const label of ['new', 'duplicates']) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  // Two sends in flight, as a pipeline that encodes the next batch while DuckDB writes the last.
  const inflight: Promise<void>[] = [];
  for (const b of batches) {
    inflight.push(sink.send(b).then((r) => void (n += r.indexed + r.duplicates)));
    if (inflight.length >= 2) await inflight.shift();
  }
  await Promise.all(inflight);
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  // CPU seconds (JS and DuckDB threads) tell the cost apart from a busy machine's waiting.
  console.log(`${label}: ${n} docs in ${s.toFixed(2)} s = ${Math.round(n / s)} docs/s; ${cpu.toFixed(2)} CPU s = ${Math.round(n / cpu)} docs per CPU s`);
}
await sink.stop();
console.log(`file ${(statSync(path).size / 1e6).toFixed(1)} MB, peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
rmSync(dir, { recursive: true, force: true });
