/**
 * What a sink holds, by line id, for the rotation tests: the embedded store's DuckDB file (read
 * once the agent released it) and the real engine's data stream under a test's prefix.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import type { TestEngine } from './engine.ts';

/** event_id of every row of the embedded store's predictions table (duplicates kept). */
export async function embeddedIds(dbPath: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(dbPath);
  try {
    const con = await inst.connect();
    try {
      const rows = (await con.runAndReadAll('SELECT event_id FROM predictions')).getRowObjects();
      return rows.map((r) => String(r.event_id));
    } finally {
      con.closeSync();
    }
  } finally {
    inst.closeSync();
  }
}

/** _id of every document under `index` on the real engine (duplicates across backing indices kept). */
export async function engineIds(engine: TestEngine, index: string): Promise<string[]> {
  await engine.request('POST', `/${index}/_refresh`);
  const ids: string[] = [];
  let r = await engine.request('POST', `/${index}/_search?scroll=1m`, { size: 10_000, _source: false, sort: ['_doc'] });
  if (r.status === 404) return ids;
  for (let pages = 0; pages < 1000; pages++) {
    const hits = (r.body?.hits?.hits ?? []) as { _id: string }[];
    if (hits.length === 0) break;
    for (const h of hits) ids.push(h._id);
    r = await engine.request('POST', '/_search/scroll', { scroll: '1m', scroll_id: r.body._scroll_id });
  }
  if (r.body?._scroll_id) await engine.request('DELETE', '/_search/scroll', { scroll_id: r.body._scroll_id });
  return ids;
}

/** Ids missing from `got`, and ids present more than once, against the expected set. */
export function compareIds(expected: Iterable<string>, got: string[]): { missing: string[]; duplicated: string[]; unexpected: string[] } {
  const want = new Set(expected);
  const seen = new Map<string, number>();
  for (const id of got) seen.set(id, (seen.get(id) ?? 0) + 1);
  const missing = [...want].filter((id) => !seen.has(id));
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const unexpected = [...seen.keys()].filter((id) => !want.has(id));
  return { missing, duplicated, unexpected };
}
