/**
 * Results in Elasticsearch/OpenSearch: index `<prefix>-results`, one document per result with a
 * deterministic `_id` (a re-evaluated window replaces its result). This file owns the index's
 * mapping; `driftbeat setup` installs it as a template, and the writer creates the index with it
 * when setup has not run (a dynamic mapping would explode on `details`).
 */
import type { estypes } from '@elastic/elasticsearch';
import type { EngineClient } from '../engine/client.ts';
import { EngineResponseError } from '../engine/connection.ts';
import type { Dialect } from '../engine/dialect.ts';
import { bool, date, double, flattened, keyword, long, obj, stringsAsKeywords, text, type Mappings, type Property } from '../engine/mapping.ts';
import { DriftbeatError } from '../errors.ts';
import type { RuleResult } from './result.ts';
import { resultDocument, resultId, type ResultsWriter } from './writer.ts';

/** The fields of a RuleResult (result.ts); alert events embed the same summary. */
/** threshold.ts Threshold: { value, direction, unit }, as results and alert events store it. */
export const thresholdMapping: Property = obj({ value: double, direction: keyword(), unit: keyword() });

export function ruleResultProperties(d: Dialect): Record<string, Property> {
  return {
    rule: keyword(),
    type: keyword(),
    model: keyword(),
    version: keyword(),
    field: keyword(),
    segment: keyword(),
    window: obj({ from: date, to: date }),
    status: keyword(),
    statistic: keyword(),
    value: double,
    threshold: thresholdMapping,
    drifted: bool,
    reference_count: long,
    current_count: long,
    severity: keyword(),
    // Its shape differs per rule type; flattened takes any shape without growing the mapping.
    details: flattened(d),
    reference: keyword(),
    error: text,
    evaluated_at: date,
  };
}

export function resultsMappings(d: Dialect): Mappings {
  return {
    dynamic_templates: [stringsAsKeywords],
    properties: { '@timestamp': date, ...ruleResultProperties(d) },
  };
}

export class ElasticsearchResultsWriter implements ResultsWriter {
  readonly index: string;
  readonly #client: EngineClient;
  #ready?: Promise<void>;

  constructor(client: EngineClient, options: { indexPrefix?: string } = {}) {
    this.#client = client;
    this.index = `${options.indexPrefix ?? 'driftbeat'}-results`;
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      if (await this.#client.indices.exists({ index: this.index })) return;
      try {
        await this.#client.indices.create({ index: this.index, mappings: resultsMappings(await this.#client.dialect()) });
      } catch (err) {
        if (!(err instanceof EngineResponseError && /already_exists/.test(err.type ?? ''))) throw err;
      }
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async write(results: readonly RuleResult[]): Promise<void> {
    if (!results.length) return;
    await this.#init();
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
