/**
 * normalizeLine alone on generated lines: lines/s and MB/s, Buffer input (as the tailer reads) and
 * string input, with and without a reference profile (types + text vocabulary, so OOV is counted).
 *
 * Run: node --import tsx bench/normalize.bench.ts [LINES] [--seed N]
 * Not a timed test: it prints figures, it does not fail on a slow machine.
 * Rates are given per second of this process's CPU time (user + system) as well as per second of
 * wall time: on a busy machine the wall-clock figure mostly measures the neighbours.
 */
import { cpus, hostname, loadavg } from 'node:os';
import { InputSchema } from '../agent/config/schema.ts';
import { createNormalizeContext, normalizeLine, type NormalizeContext } from '../agent/normalize/normalize.ts';
import { createReferenceInfo, type FeatureType } from '../agent/normalize/reference-info.ts';
import { FEATURE_TYPES, NOTE_WORDS, generateLines } from '../demo/generate.ts';

const argv = process.argv.slice(2);
const seedAt = argv.indexOf('--seed');
const seed = seedAt >= 0 ? Number(argv[seedAt + 1]) : 1;
const positional = argv.filter((a, k) => !a.startsWith('--') && argv[k - 1] !== '--seed');
const count = positional[0] ? Number(positional[0]) : 200_000;

const input = InputSchema.parse({
  paths: ['/var/log/model/*.jsonl'],
  model: { name: 'fraud', version_field: 'model_version' },
  fields: { id: 'request_id', text: ['customer_note'], latency: 'latency_ms' },
  labels: { env: 'bench' },
});

const reference = createReferenceInfo([
  {
    model: 'fraud',
    version: '1.4.2',
    features: new Map(Object.entries(FEATURE_TYPES) as [string, FeatureType][]),
    predictions: new Map<string, FeatureType>([['score', 'num'], ['label', 'cat']]),
    // Most of the words, so a share of tokens is OOV as in real traffic.
    vocabularies: new Map([['customer_note', new Set(NOTE_WORDS.slice(0, NOTE_WORDS.length - 8))]]),
  },
]);

const strings = generateLines(count, { seed });
const buffers = strings.map((s) => Buffer.from(s));
const totalBytes = buffers.reduce((n, b) => n + b.length, 0);

function run(label: string, lines: readonly (Buffer | string)[], ctx: NormalizeContext, rounds = 5): void {
  const meta = { key: '2049-1234567-a1b2c3d4', path: '/var/log/model/predictions.jsonl', offset: 0 };
  // Warm-up: let V8 optimise the hot functions before timing.
  for (let k = 0; k < Math.min(lines.length, 50_000); k++) normalizeLine(lines[k]!, meta, ctx);
  const rates: number[] = [];
  const cpuRates: number[] = [];
  let failed = 0;
  for (let r = 0; r < rounds; r++) {
    let offset = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < lines.length; k++) {
      meta.offset = offset;
      const res = normalizeLine(lines[k]!, meta, ctx);
      if (!res.ok) failed++;
      offset += lines[k]!.length + 1;
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    rates.push(lines.length / s);
    cpuRates.push(lines.length / ((c.user + c.system) / 1e6));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
  const perLine = totalBytes / lines.length;
  const wall = median(rates);
  const cpu = median(cpuRates);
  console.log(
    `${label.padEnd(32)} ${fmt(cpu)} lines/s ${((cpu * perLine) / 1e6).toFixed(1).padStart(6)} MB/s per CPU-second | wall: ${fmt(wall)} lines/s ${((wall * perLine) / 1e6).toFixed(1).padStart(6)} MB/s (best ${fmt(Math.max(...rates)).trim()})${failed ? `  ${failed} rejected!` : ''}`,
  );
}

const cpu = cpus();
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`machine: node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores (${process.platform}/${process.arch})`);
console.log(`input: ${count.toLocaleString('en-US')} generated lines (seed ${seed}), ${(totalBytes / count).toFixed(0)} bytes/line, ${(totalBytes / 1e6).toFixed(1)} MB; median of 5 rounds, one thread`);
run('Buffer lines, no reference', buffers, createNormalizeContext(input, { hostName: hostname() }));
run('Buffer lines, reference + OOV', buffers, createNormalizeContext(input, { hostName: hostname(), reference }));
run('string lines, reference + OOV', strings, createNormalizeContext(input, { hostName: hostname(), reference }));
const jsonOnly = () => {
  const c0 = process.cpuUsage();
  for (let k = 0; k < buffers.length; k++) JSON.parse(buffers[k]!.toString('utf8'));
  const c = process.cpuUsage(c0);
  return buffers.length / ((c.user + c.system) / 1e6);
};
jsonOnly();
console.log(`${'(floor: decode + JSON.parse)'.padEnd(32)} ${Math.round(jsonOnly()).toLocaleString('en-US').padStart(9)} lines/s per CPU-second`);
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
