/**
 * The sink contract shared by Elasticsearch and the embedded store.
 *
 * The pipeline builds batches and hands each to `send()`. `send()` resolves only when every event
 * of the batch is settled: indexed, a duplicate (409 / already stored: counts as delivered), or
 * dead-lettered (permanent per-document failure, e.g. a 400 mapping error). Retryable failures
 * (429, 5xx, network) are retried inside `send()` with backoff, forever by default. `send()`
 * rejects only with a permanent SinkError (401/403, bad TLS): the agent then stops and the
 * registry keeps the offsets of unsettled lines, so nothing is lost.
 * Only after `send()` resolves does the pipeline acknowledge the batch's offsets.
 */
import type { PredictionDocument } from '../normalize/document.ts';

export interface OutEvent {
  /** Deterministic id: `_id` in Elasticsearch, primary key in DuckDB. Equals doc.event.id. */
  id: string;
  doc: PredictionDocument;
  /** Approximate encoded size, for batch bounds. */
  bytes: number;
}

export interface Batch {
  events: OutEvent[];
  bytes: number;
}

export interface DeliveryReport {
  indexed: number;
  duplicates: number;
  deadLettered: number;
  /** Attempts beyond the first (request- or item-level). */
  retries: number;
}

export interface Sink {
  readonly name: string;
  /** Connects and checks the destination; long checks run in the background. */
  start(): Promise<void>;
  send(batch: Batch, signal?: AbortSignal): Promise<DeliveryReport>;
  /** Safe without start and safe twice. */
  stop(): Promise<void>;
}

/** A document that can never be delivered, with the reason, for the dead letter. */
export interface DeadLetterEntry {
  reason: string;
  /** Source file and byte offset of the line. */
  file?: string;
  offset?: number;
  /** The raw line (truncated) or the document. */
  line?: string;
  doc?: unknown;
  model?: string;
}

export interface DeadLetterWriter {
  write(entry: DeadLetterEntry): void;
}
