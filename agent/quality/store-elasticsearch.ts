/**
 * Outcomes in Elasticsearch/OpenSearch: one plain index per model, `<prefix>-outcomes-<model>`
 * (a data stream would refuse the replace-by-id). This file owns its mapping; `driftbeat setup`
 * installs it as the template of `<prefix>-outcomes-*` (agent/assets/templates.ts), and the store
 * creates a model's index with it when setup has not run.
 *
 * Lookups are one `terms` search on event.id per batch of ids against the model's predictions data
 * stream (`_mget` does not take a data stream). A prediction becomes visible to search after the
 * engine's refresh (1 s by default): until then its outcome waits in the pending set.
 * Writes are `_bulk` `index` with `_id` = the prediction's id and `version` = the label time with
 * `version_type: external_gte`: a replayed or older label gets a 409 and leaves the newer in place.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { EngineClient } from '../engine/client.ts';
import { EngineResponseError } from '../engine/connection.ts';
import { bool, date, double, integer, keyword, long, obj, type Mappings } from '../engine/mapping.ts';
import { DriftbeatError } from '../errors.ts';
import { predictionsStream, type PredictionDocument } from '../normalize/document.ts';
import { outcomesIndex, type OutcomeDocument } from './outcome.ts';
import { lastPerId, type OutcomeStore } from './store.ts';

type DynamicTemplate = Partial<Record<string, estypes.MappingDynamicTemplate>>;

function valueTemplates(path: 'prediction' | 'actual'): DynamicTemplate[] {
  return [
    { [`${path}_strings`]: { path_match: `${path}.*`, match_mapping_type: 'string', mapping: keyword() } },
    { [`${path}_booleans`]: { path_match: `${path}.*`, match_mapping_type: 'boolean', mapping: keyword() } },
    { [`${path}_longs`]: { path_match: `${path}.*`, match_mapping_type: 'long', mapping: double } },
    { [`${path}_doubles`]: { path_match: `${path}.*`, match_mapping_type: 'double', mapping: double } },
  ];
}

export function outcomesMappings(): Mappings {
  return {
    date_detection: false,
    numeric_detection: false,
    dynamic_templates: [
      ...valueTemplates('prediction'),
      ...valueTemplates('actual'),
      { labels: { path_match: 'labels.*', mapping: keyword() } },
      { strings_as_keywords: { match_mapping_type: 'string', mapping: keyword() } },
    ],
    properties: {
      '@timestamp': date,
      event: obj({ id: keyword(), ingested: date }),
      model: obj({ name: keyword(), version: keyword() }),
      labels: { type: 'object' },
      host: obj({ name: keyword() }),
      prediction: { type: 'object' },
      actual: { type: 'object' },
      outcome: obj({ '@timestamp': date, label_delay_ms: long, timestamp_from_record: bool }),
      quality: obj({
        task: keyword(),
        actual_class: keyword(),
        predicted_class: keyword(),
        correct: integer,
        actual_positive: integer,
        predicted_positive: integer,
        score: double,
        score_bin: integer,
        log_loss: double,
        actual_value: double,
        predicted_value: double,
        error: double,
        abs_error: double,
        squared_error: double,
        abs_pct_error: double,
        actual_squared: double,
      }),
    },
  };
}

export class ElasticsearchOutcomeStore implements OutcomeStore {
  readonly name = 'search engine';
  readonly #client: EngineClient;
  readonly #prefix: string;
  readonly #ready = new Map<string, Promise<void>>();

  constructor(client: EngineClient, options: { indexPrefix?: string } = {}) {
    this.#client = client;
    this.#prefix = options.indexPrefix ?? 'driftbeat';
  }

  index(model: string): string {
    return outcomesIndex(this.#prefix, model);
  }

  init(model: string): Promise<void> {
    const index = this.index(model);
    let p = this.#ready.get(index);
    if (!p) {
      p = (async () => {
        if (await this.#client.indices.exists({ index })) return;
        try {
          await this.#client.indices.create({ index, mappings: outcomesMappings() });
        } catch (err) {
          if (!(err instanceof EngineResponseError && /already_exists/.test(err.type ?? ''))) throw err;
        }
      })();
      p.catch(() => this.#ready.delete(index));
      this.#ready.set(index, p);
    }
    return p;
  }

  async findPredictions(model: string, ids: readonly string[]): Promise<Map<string, PredictionDocument>> {
    const out = new Map<string, PredictionDocument>();
    if (!ids.length) return out;
    const res = await this.#client.search<PredictionDocument>({
      index: predictionsStream(this.#prefix, model),
      ignore_unavailable: true,
      size: ids.length,
      track_total_hits: false,
      query: { terms: { 'event.id': [...ids] } },
      _source: ['@timestamp', 'event', 'model', 'prediction', 'labels', 'host'],
    });
    for (const h of res.hits.hits) if (h._source) out.set(h._source.event.id, h._source);
    return out;
  }

  async writeOutcomes(model: string, docs: readonly OutcomeDocument[]): Promise<void> {
    if (!docs.length) return;
    await this.init(model);
    const index = this.index(model);
    const operations: unknown[] = [];
    for (const d of lastPerId(docs)) {
      operations.push({ index: { _index: index, _id: d.event.id, version: Date.parse(d.outcome['@timestamp']), version_type: 'external_gte' } }, d);
    }
    const res = await this.#client.bulk({ operations, filter_path: 'errors,items.*.status,items.*.error' });
    if (!res.errors) return;
    // 409: the stored outcome has a later label time (external_gte): it stays, which is what we want.
    const failed = res.items.map((it) => Object.values(it)[0]!).filter((it) => it.error && it.status !== 409);
    if (failed.length) {
      const f = failed[0]!;
      throw new DriftbeatError('ERR_OUTCOMES_WRITE', `outcomes index ${index}: ${failed.length} of ${res.items.length} outcomes not written, first: HTTP ${f.status} ${f.error?.type ?? ''}: ${f.error?.reason ?? ''}`);
    }
  }

  async refreshPredictions(model: string): Promise<void> {
    await this.#client.indices.refresh({ index: predictionsStream(this.#prefix, model) });
  }

  async close(): Promise<void> {}
}
