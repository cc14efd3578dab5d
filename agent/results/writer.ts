/**
 * Where rule results go (DESIGN.md section 7): one document per rule x field x segment x window,
 * in `<prefix>-results` (Elasticsearch) or the `results` table (embedded), so Kibana and SQL can
 * chart drift over time. Writing the same result again (a re-evaluated window) replaces it.
 */
import type { RuleResult } from './result.ts';

export interface ResultsWriter {
  write(results: readonly RuleResult[]): Promise<void>;
  /** End of the newest window evaluated for a rule, for catching up after a restart. */
  lastWindowEnd(rule: string): Promise<Date | undefined>;
  close(): Promise<void>;
}

/** Deterministic id: a re-evaluated window overwrites its earlier result instead of duplicating it. */
export function resultId(r: Pick<RuleResult, 'rule' | 'field' | 'segment' | 'window'>): string {
  return `${r.rule}|${r.field}|${r.segment}|${r.window.from}|${r.window.to}`;
}

/** The Elasticsearch document of a result: the result itself plus `@timestamp` = end of the window. */
export function resultDocument(r: RuleResult): Record<string, unknown> {
  return { '@timestamp': r.window.to, ...r };
}

/** A writer that keeps results in memory (tests, `rules test`). */
export class MemoryResultsWriter implements ResultsWriter {
  readonly results: RuleResult[] = [];
  async write(results: readonly RuleResult[]): Promise<void> {
    this.results.push(...results);
  }
  async lastWindowEnd(rule: string): Promise<Date | undefined> {
    const ends = this.results.filter((r) => r.rule === rule).map((r) => Date.parse(r.window.to));
    return ends.length ? new Date(Math.max(...ends)) : undefined;
  }
  async close(): Promise<void> {}
}
