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
 * - floor: what DuckDB alone costs, with no JavaScript per document: `--lines` documents of the
 *   once log's shape generated inside DuckDB, in transactions of `--batch`, each variant in a
 *   process of its own (its peak RSS apart). `sink-sql`: the stage filled by SQL, then the sink's
 *   own statements (duplicate check, documents, long tables); `storage`: the final rows inserted
 *   directly (no JSON to derive them from); `lists`: the predictions rows and each document's values as
 *   lists in one row of another table (a layout with no long table); `documents`: the predictions
 *   rows alone; `stage`: only
 *   generating the stage (the cost the others include that the sink does not have: subtract it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropStored, EmbeddedSink, INSERT_DOCUMENTS, INSERT_MISSING, INSERT_TEXT, INSERT_VALUES, STAGE_DDL } from '../agent/sinks/embedded/sink.ts';
import { openStore } from '../agent/sinks/embedded/store.ts';
import { makeBatch } from '../demo/documents.ts';
import { writeLinesOnce } from '../demo/generate.ts';
import { AGENT_NODE_FLAGS, arg, buildAgent, CLI, MiB, ROOT } from './args.ts';
import { machineLine } from './machine.ts';
import { procStatusBytes as procStatus } from './proc.ts';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const LINES = arg('lines', 1_000_000);
const SINK_DOCS = arg('sink-docs', 200_000);
const BATCH = arg('batch', 5000);

if (only !== 'floor-run') console.log(`${machineLine()}; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

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
  embedded: { path: "${join(work, 'store.duckdb')}", batch_max_docs: ${BATCH} }
path: { data: "${join(work, 'data')}" }
http: { enabled: false }
logging: { level: warn }
`);
    // As production runs it: compiled dist/ (what `npm ci` builds), the bin's V8 flag.
    buildAgent();
    const t0 = Date.now();
    const env = { ...process.env };
    // BENCH_NODE_ARGS replaces the bin's V8 flags (e.g. "--max-semi-space-size=4 --max-old-space-size=128").
    const nodeArgs = process.env.BENCH_NODE_ARGS !== undefined ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : [...AGENT_NODE_FLAGS];
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

// One generated document per row of range(): the once log's shape (11 features: 6 numbers, 4
// categories, a boolean; score and label; one text field), ids and timestamps unique.
const FEATURES = `'{"amount":' || round(random() * 500, 2) || ',"age_days":' || (d * 7 % 4000) || ',"items":' || (d % 5 + 1) ||
  ',"hour":' || (d % 24) || ',"dist_km":' || round(random() * 80, 1) || ',"chargebacks":' || (d % 3) ||
  ',"merchant":"' || (['grocery','pharmacy','electronics','travel','fuel'])[d % 5 + 1] || '","country":"' || (['ES','NL','DE','FR'])[d % 4 + 1] ||
  '","channel":"' || (['web','app','pos'])[d % 3 + 1] || '","card":"' || (['visa','mastercard','discover'])[d % 3 + 1] || '","new_device":' || (d % 9 = 0) || '}'`;
const PREDICTION = `'{"score":' || round(random(), 4) || ',"label":"' || (CASE WHEN d % 20 = 0 THEN 'fraud' ELSE 'legit' END) || '"}'`;
const TEXT = `'{"customer_note":{"content":"address for on noon","token_count":4}}'`;
const TS = (first: number) => `strftime(TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_milliseconds((${first} + d) * 10), '%Y-%m-%dT%H:%M:%S.%gZ')`;
const ID = (first: number) => `(${first} + d)::VARCHAR || '-' || md5((${first} + d)::VARCHAR)[1:8]`;

function stageSql(first: number, n: number): string {
  return `INSERT INTO temp.driftbeat_stage
    SELECT 'fraud', ${ID(first)}, ${TS(first)}, '1.4.2', '2024-05-01T13:00:00.000Z', 'host-a', '/var/log/model/preds.jsonl',
           (${first} + d) * 360, 9250000, NULL, ${FEATURES}, ${PREDICTION}, '[]', ${TEXT},
           '{"@timestamp":"' || ${TS(first)} || '","event":{"id":"' || ${ID(first)} || '","ingested":"2024-05-01T13:00:00.000Z","duration":9250000},' ||
           '"model":{"name":"fraud","version":"1.4.2"},"features":' || ${FEATURES} || ',"prediction":' || ${PREDICTION} ||
           ',"missing":[],"text":' || ${TEXT} || ',"host":{"name":"host-a"},"log":{"file":{"path":"/var/log/model/preds.jsonl"},"offset":' || ((${first} + d) * 360) || '}}'
    FROM range(${n}) t(d)`;
}

async function floorRun(variant: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-bench-'));
  const store = await openStore(join(dir, 'floor.duckdb'));
  await store.ensure(STAGE_DDL);
  const rssOpen = process.resourceUsage().maxRSS / 1024;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let first = 0; first < LINES; first += BATCH) {
    const n = Math.min(BATCH, LINES - first);
    await store.transaction(async (tx) => {
      await tx.run(`DROP TABLE IF EXISTS temp.driftbeat_stage; ${STAGE_DDL}`);
      await tx.run(stageSql(first, n));
      if (variant === 'sink-sql') {
        const [span] = await tx.all<{ lo: string; hi: string }>('SELECT min(ts::TIMESTAMPTZ) AS lo, max(ts::TIMESTAMPTZ) AS hi FROM temp.driftbeat_stage');
        await tx.run(dropStored(span!.lo, span!.hi));
      }
      if (variant === 'stage') return;
      await tx.run(INSERT_DOCUMENTS);
      if (variant === 'documents') return;
      if (variant === 'lists') {
        // Another layout: a document's values as four lists in one row (no long table).
        await tx.run(`CREATE TABLE IF NOT EXISTS value_lists (model_name VARCHAR, event_id VARCHAR, ts TIMESTAMPTZ, model_version VARCHAR, kinds VARCHAR[], names VARCHAR[], nums DOUBLE[], strs VARCHAR[])`);
        await tx.run(`INSERT INTO value_lists SELECT 'fraud', ${ID(first)}, ${TS(first)}::TIMESTAMPTZ, '1.4.2',
          ['feature','feature','feature','feature','feature','feature','feature','feature','feature','feature','feature','prediction','prediction'],
          ['amount','age_days','items','hour','dist_km','chargebacks','merchant','country','channel','card','new_device','score','label'],
          [random() * 500, d * 7 % 4000, d % 5 + 1, d % 24, random() * 80, d % 3, NULL, NULL, NULL, NULL, NULL, random(), NULL],
          [NULL, NULL, NULL, NULL, NULL, NULL, (['grocery','pharmacy','electronics','travel','fuel'])[d % 5 + 1], (['ES','NL','DE','FR'])[d % 4 + 1], (['web','app','pos'])[d % 3 + 1], (['visa','mastercard','discover'])[d % 3 + 1], (d % 9 = 0)::VARCHAR, NULL, 'legit']
          FROM range(${n}) t(d)`);
        return;
      }
      if (variant === 'sink-sql') {
        for (const sql of [INSERT_VALUES, INSERT_MISSING, INSERT_TEXT]) await tx.run(sql);
        return;
      }
      // storage: the long-table rows straight from range(), no JSON to take them from.
      const names = ['amount', 'age_days', 'items', 'hour', 'dist_km', 'chargebacks', 'merchant', 'country', 'channel', 'card', 'new_device', 'score', 'label'];
      await tx.run(`INSERT INTO prediction_values
        SELECT 'fraud', ${ID(first)}, ${TS(first)}::TIMESTAMPTZ, '1.4.2', CASE WHEN k >= 11 THEN 'prediction' ELSE 'feature' END, (${JSON.stringify(names).replace(/"/g, "'")})[k + 1],
               CASE WHEN k IN (6, 7, 8, 9, 10, 12) THEN NULL ELSE random() * 100 END, CASE WHEN k IN (6, 7, 8, 9, 10, 12) THEN (['a', 'b', 'c', 'd', 'e'])[d % 5 + 1] END
        FROM range(${n}) t(d), range(13) u(k)`);
      await tx.run(`INSERT INTO prediction_text SELECT 'fraud', ${ID(first)}, ${TS(first)}::TIMESTAMPTZ, '1.4.2', 'customer_note', 4, NULL, NULL FROM range(${n}) t(d)`);
    });
  }
  const insertS = (performance.now() - t0) / 1000;
  await store.close(); // the last checkpoint belongs to the cost
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuUs = (c.user + c.system) / LINES;
  console.log(
    `  ${variant.padEnd(9)} ${LINES.toLocaleString('en-US')} docs: ${wallS.toFixed(1)} s (${(wallS - insertS).toFixed(1)} s of it the last checkpoint) = ` +
      `${Math.round(LINES / wallS).toLocaleString('en-US')} docs/s; ${cpuUs.toFixed(1)} CPU µs per doc (${(cpuUs / 10).toFixed(1)} CPU-s per 100k); ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (${rssOpen.toFixed(0)} MB after open)`,
  );
  rmSync(dir, { recursive: true, force: true });
}

function floor(): void {
  console.log(`floor: DuckDB alone, documents generated in SQL, transactions of ${BATCH} (DuckDB settings as the agent's: store.ts)`);
  for (const variant of ['sink-sql', 'storage', 'lists', 'documents', 'stage']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--only', 'floor-run', variant, '--lines', String(LINES), '--batch', String(BATCH)], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`floor ${variant} failed`);
  }
}

if (only === 'floor-run') await floorRun(process.argv[process.argv.indexOf('floor-run') + 1]!);
else if (only === 'floor') floor();
else {
  if (only !== 'sink') await runOnce();
  if (only !== 'once') await sinkAlone();
  if (only === undefined) floor();
}
