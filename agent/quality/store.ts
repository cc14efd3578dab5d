/**
 * Where the join reads predictions and writes outcomes: the embedded store or the search engine.
 * Each implementation owns its table or index mapping (store-embedded.ts, store-elasticsearch.ts).
 */
import type { PredictionDocument } from '../normalize/document.ts';
import type { OutcomeDocument } from './outcome.ts';

export interface OutcomeStore {
  readonly name: string;
  /** Ids per lookup and outcomes per write (joiner.ts LOOKUP_CHUNK when absent). */
  readonly lookupChunk?: number;
  /** Creates the outcomes table or index when missing. */
  init(model: string): Promise<void>;
  /** The stored predictions of `model` among `ids` (one batched lookup); absent ids are not stored yet. */
  findPredictions(model: string, ids: readonly string[]): Promise<Map<string, PredictionDocument>>;
  /**
   * Writes outcomes with the prediction's id as their id: a second one replaces the first unless its
   * label time is earlier (a replayed or late older label never overwrites a correction). Durable
   * when it resolves.
   */
  writeOutcomes(model: string, docs: readonly OutcomeDocument[]): Promise<void>;
  /** Makes every stored prediction visible to lookups now (a search engine's refresh); run --once calls it before joining. */
  refreshPredictions?(model: string): Promise<void>;
  close(): Promise<void>;
}

/** One outcome per prediction id in a write: the latest label time, the later read on a tie. */
export function lastPerId(docs: readonly OutcomeDocument[]): OutcomeDocument[] {
  const m = new Map<string, OutcomeDocument>();
  for (const d of docs) {
    const prev = m.get(d.event.id);
    if (prev && Date.parse(prev.outcome['@timestamp']) > Date.parse(d.outcome['@timestamp'])) continue;
    m.set(d.event.id, d);
  }
  return [...m.values()];
}
