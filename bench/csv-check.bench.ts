/**
 * What the CSV shape check of `reference build` (agent/reference/csv-check.ts: one streamed,
 * quote-aware pass that refuses empty files and ragged rows) adds to a build from CSV: the seeded
 * training file of reference.bench.ts written as CSV, the check alone, then the whole build.
 *
 * Run: node --import tsx bench/csv-check.bench.ts [ROWS]
 * Not a timed test: it prints figures.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { InputSchema } from '../agent/config/schema.ts';
import { buildReferenceDetailed } from '../agent/reference/build.ts';
import { checkCsvShape } from '../agent/reference/csv-check.ts';
import { machineLine } from './machine.ts';
import { generateParquet } from './reference.bench.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
console.log(machineLine());
const dir = mkdtempSync(join(tmpdir(), 'driftbeat-csv-bench-'));
try {
  const parquet = join(dir, 'train.parquet');
  const csv = join(dir, 'train.csv');
  await generateParquet(parquet, rows, 1);
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`COPY (SELECT * FROM read_parquet('${parquet}')) TO '${csv}' (HEADER, DELIMITER ',')`);
  c.closeSync();
  inst.closeSync();
  const mb = statSync(csv).size / 2 ** 20;
  let t = performance.now();
  const shape = await checkCsvShape(csv, 'train.csv');
  const checkS = (performance.now() - t) / 1000;
  const input = InputSchema.parse({ paths: ['x'], model: { name: 'fraud' }, fields: { id: 'request_id', text: ['customer_note'] } });
  t = performance.now();
  await buildReferenceDetailed({ input, model: 'fraud', version: '1', dataPath: csv });
  const buildS = (performance.now() - t) / 1000;
  console.log(`input: ${shape.rows} rows x ${shape.header.length} columns, ${mb.toFixed(1)} MiB CSV`);
  console.log(`csv shape check: ${checkS.toFixed(2)} s (${(mb / checkS).toFixed(0)} MiB/s); whole build with it: ${buildS.toFixed(2)} s (check ${((checkS / buildS) * 100).toFixed(0)}%)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
