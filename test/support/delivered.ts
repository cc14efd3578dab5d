/**
 * What a sink holds, by line id, for the rotation tests: the embedded store's DuckDB file (read
 * once the agent released it) and the real engine's data stream under a test's prefix.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { TestEngine } from './engine.ts';

/** A prediction line numbered by `seq` (in features.seq, so a sink can be counted by line). */
export function seqLine(seq: number): string {
  return JSON.stringify({ timestamp: new Date(Date.UTC(2026, 10, 1) + seq * 10).toISOString(), features: { seq, country: ['US', 'FR', 'DE'][seq % 3] }, prediction: { score: (seq % 100) / 100 } });
}

/** Sequence numbers delivered zero times (of `expected`), more than once, or never written. */
export function tally(expected: Iterable<number>, written: number, delivered: number[]): { missing: number[]; twice: number[]; strangers: number[] } {
  const count = new Map<number, number>();
  for (const s of delivered) count.set(s, (count.get(s) ?? 0) + 1);
  return {
    missing: [...expected].filter((s) => !count.has(s)),
    twice: [...count].filter(([, n]) => n > 1).map(([s]) => s),
    strangers: [...count.keys()].filter((s) => !(s >= 0 && s < written)),
  };
}

/** features.seq of every document in the embedded store (one entry per stored document). */
export async function embeddedSeqs(dbPath: string): Promise<number[]> {
  const inst = await DuckDBInstance.create(dbPath);
  try {
    const con = await inst.connect();
    try {
      const rows = (await con.runAndReadAll("SELECT CAST(json_extract(doc, '$.features.seq') AS BIGINT)::DOUBLE AS seq FROM predictions")).getRowObjects();
      return rows.map((r) => Number(r.seq));
    } finally {
      con.closeSync();
    }
  } finally {
    inst.closeSync();
  }
}

/**
 * The stored rows of some features.seq values (event id, @timestamp, file, offset): a line stored
 * twice under one id would be the sink's fault, under two ids (two file identities) the source's.
 */
export async function embeddedRowsOf(dbPath: string, seqs: readonly number[]): Promise<string[]> {
  if (!seqs.length) return [];
  const inst = await DuckDBInstance.create(dbPath);
  try {
    const con = await inst.connect();
    try {
      const list = seqs.map((n) => Math.trunc(n)).join(', ');
      const rows = (await con.runAndReadAll(
        `SELECT CAST(json_extract(doc, '$.features.seq') AS BIGINT)::DOUBLE AS seq, event_id, ts::VARCHAR AS ts, file_path, file_offset::DOUBLE AS file_offset
         FROM predictions WHERE CAST(json_extract(doc, '$.features.seq') AS BIGINT) IN (${list}) ORDER BY seq, event_id`,
      )).getRowObjects();
      return rows.map((r) => `seq ${Number(r.seq)}: id ${String(r.event_id)}, ${String(r.ts)}, ${String(r.file_path)}@${Number(r.file_offset)}`);
    } finally {
      con.closeSync();
    }
  } finally {
    inst.closeSync();
  }
}

/** features.seq of every document under `index` on the real engine (one entry per document). */
export async function engineSeqs(engine: TestEngine, index: string): Promise<number[]> {
  await engine.request('POST', `/${index}/_refresh`);
  const seqs: number[] = [];
  let r = await engine.request('POST', `/${index}/_search?scroll=1m`, { size: 10_000, _source: ['features.seq'], sort: ['_doc'] });
  if (r.status === 404) return seqs;
  if (r.status !== 200) throw new Error(`search ${index}: ${r.status} ${JSON.stringify(r.body)}`);
  for (let pages = 0; pages < 1000; pages++) {
    const hits = (r.body?.hits?.hits ?? []) as { _source: { features: { seq: number } } }[];
    if (hits.length === 0) break;
    for (const h of hits) seqs.push(h._source.features.seq);
    r = await engine.request('POST', '/_search/scroll', { scroll: '1m', scroll_id: r.body._scroll_id });
  }
  if (r.body?._scroll_id) await engine.request('DELETE', '/_search/scroll', { scroll_id: r.body._scroll_id });
  return seqs;
}
