/**
 * What the pipeline needs from `output.elasticsearch` (the schema itself lives in
 * agent/config/schema.ts): batch bounds and concurrency are enforced by the pipeline, not the sink.
 */
import type { ElasticsearchOutputConfig } from '../../config/schema.ts';

export interface BatchLimits {
  /** A batch is sent once it holds this many bytes (encoded size, approximately)... */
  maxBytes: number;
  /** ...or this many documents... */
  maxDocs: number;
  /** ...or when its oldest document has waited this long (ms). */
  flushIntervalMs: number;
  /** Batches in flight at once. */
  maxInFlight: number;
}

export function batchLimits(config: ElasticsearchOutputConfig): BatchLimits {
  return {
    maxBytes: config.bulkMaxBytes,
    maxDocs: config.bulkMaxDocs,
    flushIntervalMs: config.flushInterval,
    maxInFlight: config.maxInFlight,
  };
}

/** The plain index that receives documents Elasticsearch refused for good (best effort). */
export function deadLetterIndex(prefix: string): string {
  return `${prefix}-deadletter`;
}
