/**
 * The normalize worker's job alone, in one thread: packed batches of generated lines -> normalize ->
 * bulk NDJSON body (agent/pipeline/encode-batch.ts). This bounds the ship path's throughput: the
 * main thread only reads, queues and sends.
 *
 * Run: node --import tsx bench/encode.bench.ts [LINES] [--batch 2000]
 * Rates are per second of this thread's CPU time as well as of wall time.
 */
import { hostname } from 'node:os';
import { InputSchema } from '../agent/config/schema.ts';
import { createNormalizeContext } from '../agent/normalize/normalize.ts';
import { encodePacked } from '../agent/pipeline/encode-batch.ts';
import { PackedLines, SlabPool, type PackedData } from '../agent/pipeline/packed.ts';
import { BulkEncoder } from '../agent/sinks/elasticsearch/encode.ts';
import { generateLines } from '../demo/generate.ts';
import { machineLine } from './machine.ts';

const argv = process.argv.slice(2);
const at = argv.indexOf('--batch');
const batch = at >= 0 ? Number(argv[at + 1]) : 2000;
const positional = argv.filter((a, k) => !a.startsWith('--') && argv[k - 1] !== '--batch');
const count = positional[0] ? Number(positional[0]) : 200_000;

const input = InputSchema.parse({
  paths: ['/var/log/model/*.jsonl'],
  model: { name: 'fraud', version_field: 'model_version' },
  fields: { id: 'request_id', text: ['customer_note'], latency: 'latency_ms' },
});
const contexts = new Map([['fraud', createNormalizeContext(input, { hostName: hostname() })]]);
const encoder = new BulkEncoder('driftbeat');

const lines = generateLines(count, { seed: 1 }).map((s) => Buffer.from(s));
const bytes = lines.reduce((n, b) => n + b.length + 1, 0);
const pool = new SlabPool(1 << 16);
const batches: PackedData[] = [];
let offset = 0;
for (let i = 0; i < lines.length; i += batch) {
  const p = new PackedLines(pool, batch);
  for (const l of lines.slice(i, i + batch)) {
    p.push('fraud', '2049-1234567-a1b2c3d4', '/var/log/model/predictions.jsonl', offset, l);
    offset += l.length + 1;
  }
  batches.push(p.toData());
}

console.log(machineLine());
console.log(`input: ${count.toLocaleString('en-US')} lines in batches of ${batch}, ${(bytes / count).toFixed(0)} bytes/line`);
let out = 0;
for (let round = 0; round < 4; round++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  out = 0;
  for (const b of batches) out += encodePacked(b, contexts, encoder).body.length;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  console.log(`round ${round + 1}${round === 0 ? ' (warm-up)' : ''}: ${Math.round(count / cpu).toLocaleString('en-US')} lines per CPU-second, ${Math.round(count / wall).toLocaleString('en-US')} lines/s wall; ${(bytes / cpu / 1e6).toFixed(1)} MB/s per CPU-second; body ${(out / count).toFixed(0)} bytes/doc`);
}
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
