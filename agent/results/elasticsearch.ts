/**
 * Results in Elasticsearch: index `<prefix>-results` (mappings in agent/assets/templates.ts), one
 * document per result with a deterministic `_id` (a re-evaluated window replaces its result).
 */
import type { Client, estypes } from '@elastic/elasticsearch';
import { DriftbeatError } from '../errors.ts';
import type { RuleResult } from '../rules/result.ts';
import { resultDocument, resultId, type ResultsWriter } from './writer.ts';

export class ElasticsearchResultsWriter implements ResultsWriter {
  readonly index: string;
  readonly #client: Client;

  constructor(client: Client, options: { indexPrefix?: string } = {}) {
    this.#client = client;
    this.index = `${options.indexPrefix ?? 'driftbeat'}-results`;
  }

  async write(results: readonly RuleResult[]): Promise<void> {
    if (!results.length) return;
    const operations: estypes.BulkRequest['operations'] = [];
    for (const r of results) operations.push({ index: { _index: this.index, _id: resultId(r) } }, resultDocument(r));
    const res = await this.#client.bulk({ operations });
    if (res.errors) {
      const failed = res.items.map((it) => Object.values(it)[0]!).filter((it) => it.error);
      const first = failed[0];
      throw new DriftbeatError('ERR_RESULTS_WRITE', `results index ${this.index}: ${failed.length} of ${res.items.length} results were not written, first: HTTP ${first?.status} ${first?.error?.type ?? ''}: ${first?.error?.reason ?? ''}; check the index mapping (run driftbeat setup)`);
    }
  }

  async lastWindowEnd(rule: string): Promise<Date | undefined> {
    try {
      const res = await this.#client.search({
        index: this.index, size: 1, ignore_unavailable: true,
        query: { term: { rule } }, sort: [{ 'window.to': { order: 'desc' } }], _source: ['window'],
      });
      const w = (res.hits.hits[0]?._source as { window?: { to?: string } } | undefined)?.window?.to;
      return w ? new Date(w) : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {}
}
