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
import type { OutEvent } from '../normalize/document.ts';

/** One normalized line, as the sinks take it (declared by normalize, which makes it). */
export type { OutEvent };

export interface Batch {
  events: OutEvent[];
  bytes: number;
  /**
   * The batch already encoded as bulk `create` items (by the pipeline's normalize worker), in
   * place of `events`. Only sinks that declare `acceptsEncoded` are given such batches.
   */
  encoded?: EncodedItems;
}

/**
 * Bulk NDJSON items (action line + source line each) end to end in one buffer: item i is
 * `body[ends[i-1] ?? 0, ends[i])`.
 */
export interface EncodedItems {
  body: Buffer;
  ends: Uint32Array;
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
  /** True when send() takes `batch.encoded` (the Elasticsearch sink); documents are then built off the main thread. */
  readonly acceptsEncoded?: boolean;
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
