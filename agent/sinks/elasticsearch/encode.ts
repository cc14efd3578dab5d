/**
 * Bulk encoding and bulk-response classification (pure; the hot path of the Elasticsearch sink).
 *
 * A batch becomes one NDJSON body of `create` actions with the deterministic `_id`, so a resend
 * after a lost response answers 409 instead of indexing twice. Each event is encoded once into its
 * own two-line string; a retry resends the failed items' strings without stringifying again.
 */
import { predictionsStream } from '../../normalize/document.ts';
import type { OutEvent } from '../sink.ts';

/** Encodes events to bulk `create` lines, caching the action prefix per model. */
export class BulkEncoder {
  readonly prefix: string;
  // Model name -> `{"create":{"_index":"<stream>","_id":` : models are few, events many.
  private readonly actionHeads = new Map<string, string>();

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** The two NDJSON lines (action + source), each ending in a newline. */
  encode(ev: OutEvent): string {
    const model = ev.doc.model.name;
    let head = this.actionHeads.get(model);
    if (head === undefined) {
      head = `{"create":{"_index":${JSON.stringify(predictionsStream(this.prefix, model))},"_id":`;
      this.actionHeads.set(model, head);
    }
    // String concatenation beats building an action object and stringifying it: one
    // JSON.stringify per document, plus a cheap one for the id (ids may hold quotes).
    return head + JSON.stringify(ev.id) + '}}\n' + JSON.stringify(ev.doc) + '\n';
  }

  encodeAll(events: readonly OutEvent[]): string[] {
    const out = new Array<string>(events.length);
    for (let i = 0; i < events.length; i++) out[i] = this.encode(events[i]!);
    return out;
  }
}

/** The bulk NDJSON body of a batch (ends with the newline Elasticsearch requires). */
export function encodeBulk(events: readonly OutEvent[], prefix: string): string {
  return new BulkEncoder(prefix).encodeAll(events).join('');
}

// ---------------------------------------------------------------------------------------------
// responses

export type ItemKind = 'created' | 'duplicate' | 'retryable' | 'permanent' | 'fatal';

export interface ItemOutcome {
  kind: ItemKind;
  /** HTTP status of the item (0 when the response did not say). */
  status: number;
  /** error.type and error.reason when the item failed. */
  errorType?: string;
  errorReason?: string;
}

interface BulkItemBody {
  status?: number;
  error?: { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } } | string;
}

/**
 * Error types that say "try again later" whatever their status: thread pool full, circuit breaker,
 * or an index blocked while the disk is over the flood-stage watermark (403 before 7.x, 429 since).
 */
const RETRYABLE_TYPES = new Set([
  'es_rejected_execution_exception',
  'circuit_breaking_exception',
  'cluster_block_exception',
  'unavailable_shards_exception',
  'node_not_connected_exception',
  'node_closed_exception',
  'no_shard_available_action_exception',
  'process_cluster_event_timeout_exception',
]);

/** Error types where retrying cannot help and dead-lettering every document would hide a setup problem. */
const FATAL_TYPES = new Set(['security_exception']);

/** Classifies one bulk item (`{ "<op>": { status, error } }`). */
export function classifyItem(item: unknown): ItemOutcome {
  const body = firstValue(item) as BulkItemBody | undefined;
  if (!body || typeof body !== 'object') {
    return { kind: 'retryable', status: 0, errorType: 'malformed_item', errorReason: 'bulk response item without an operation' };
  }
  const status = typeof body.status === 'number' ? body.status : 0;
  const err = body.error;
  const errorType = typeof err === 'string' ? err : err?.type;
  const errorReason = typeof err === 'string' ? undefined : (err?.reason ?? err?.caused_by?.reason ?? undefined);
  const withError = (kind: ItemKind): ItemOutcome => {
    const o: ItemOutcome = { kind, status };
    if (errorType !== undefined) o.errorType = errorType;
    if (errorReason !== undefined) o.errorReason = errorReason;
    return o;
  };
  // Elasticsearch reports every failed item with an `error` object; an item without one succeeded
  // (a `delete` of a missing document answers 404 `not_found` and is not an error either).
  if (err === undefined) return { kind: 'created', status };
  if (status === 409 || errorType === 'version_conflict_engine_exception') return withError('duplicate');
  if (errorType !== undefined && FATAL_TYPES.has(errorType)) return withError('fatal');
  if (status === 401 || status === 403) {
    return errorType !== undefined && RETRYABLE_TYPES.has(errorType) ? withError('retryable') : withError('fatal');
  }
  if (status === 429 || status >= 500) return withError('retryable');
  if (errorType !== undefined && RETRYABLE_TYPES.has(errorType)) return withError('retryable');
  // 400 mapping / parsing / illegal argument, 404 index_not_found, and other 4xx.
  return withError('permanent');
}

export interface BulkOutcome {
  /** Top-level `errors` flag as sent by Elasticsearch. */
  errors: boolean;
  items: ItemOutcome[];
}

/**
 * Classifies every item of a bulk response. `expected` is the number of actions sent: items are
 * matched by position, and any the response lacks are retried (never assumed delivered).
 * Accepts the parsed body or its JSON text.
 */
export function parseBulkResponse(body: unknown, expected: number): BulkOutcome {
  const parsed = typeof body === 'string' ? safeParse(body) : body;
  const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as { errors?: unknown; items?: unknown };
  const raw = Array.isArray(obj.items) ? obj.items : [];
  const errors = obj.errors === true;
  const items = new Array<ItemOutcome>(expected);
  for (let i = 0; i < expected; i++) {
    if (i >= raw.length) {
      items[i] = { kind: 'retryable', status: 0, errorType: 'missing_item', errorReason: 'bulk response has fewer items than actions sent' };
    } else if (!errors && isPlainSuccess(raw[i])) {
      // Fast path: with `errors: false` every item succeeded; skip the full classification.
      items[i] = { kind: 'created', status: 201 };
    } else {
      items[i] = classifyItem(raw[i]);
    }
  }
  return { errors, items };
}

function isPlainSuccess(item: unknown): boolean {
  const b = firstValue(item) as BulkItemBody | undefined;
  return !!b && typeof b === 'object' && b.error === undefined;
}

function firstValue(item: unknown): unknown {
  if (!item || typeof item !== 'object') return undefined;
  for (const k in item as Record<string, unknown>) return (item as Record<string, unknown>)[k];
  return undefined;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `error.type: error.reason` of a failed item, for the dead letter. */
export function itemReason(o: ItemOutcome): string {
  const type = o.errorType ?? `http_${o.status}`;
  return o.errorReason ? `${type}: ${o.errorReason}` : type;
}

/** What one bulk answer means for the items of its request (classifyResponse). */
export interface ResponsePlan {
  indexed: number;
  duplicates: number;
  /**
   * The failed items in request order (index into the send, outcome): kind `permanent` goes to
   * the dead letter now, kind `retryable` is sent again if its retry budget allows.
   */
  failed: Array<{ item: number; outcome: ItemOutcome }>;
  /** The first item refused for lack of rights: the send stops (offsets kept). */
  fatal: ItemOutcome | undefined;
}

/**
 * Sorts the items of one request by what their bulk answer says (pure: no retry budget, no I/O).
 * `chunk[j]` is the send's index of the request's j-th item; `parsed` its parseBulkResponse.
 */
export function classifyResponse(chunk: readonly number[], parsed: BulkOutcome): ResponsePlan {
  const plan: ResponsePlan = { indexed: 0, duplicates: 0, failed: [], fatal: undefined };
  for (let j = 0; j < chunk.length; j++) {
    const o = parsed.items[j]!;
    switch (o.kind) {
      case 'created': plan.indexed++; break;
      case 'duplicate': plan.duplicates++; break;
      case 'fatal': plan.fatal ??= o; break;
      case 'permanent':
      case 'retryable': plan.failed.push({ item: chunk[j]!, outcome: o }); break;
    }
  }
  return plan;
}
