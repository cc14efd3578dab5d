/**
 * Turns a batch into the rows the embedded sink stages (pure). Only scalar columns and the JSON
 * text of the parts the long tables need are taken out here; the long-table rows are derived
 * from that JSON inside DuckDB (sink.ts), several times faster than appending one row per value
 * from JavaScript. The parts are serialized apart from the whole document (V8's stringify is
 * fast; cheaper than DuckDB parsing the whole document once per part).
 */
import { timeSlice } from '../../lib/time-slice.ts';
import type { OutEvent } from '../sink.ts';

export interface StagedRow {
  model_name: string;
  event_id: string;
  /** ISO 8601 text DuckDB casts to TIMESTAMPTZ. */
  ts: string;
  model_version: string | null;
  ingested: string | null;
  host: string | null;
  file_path: string | null;
  file_offset: number | null;
  duration_ns: number | null;
  /** JSON text of doc.labels, .features, .prediction, .missing, .text (null when absent). */
  labels: string | null;
  features: string | null;
  prediction: string | null;
  missing: string | null;
  text: string | null;
  /** The whole document, byte for byte what JSON.stringify(doc) gives. */
  doc: string;
}

function part(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

export interface Rejected {
  event: OutEvent;
  reason: string;
}

export interface EncodedBatch {
  rows: StagedRow[];
  /** Events whose (model, id) appeared earlier in the same batch. */
  duplicatesInBatch: number;
  /** Events that can never be stored (no model name, no id, unusable timestamp): dead letter. */
  rejected: Rejected[];
}

// What DuckDB's TIMESTAMPTZ cast reads unchanged; anything else Date can parse is re-rendered.
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** ISO text for DuckDB, or undefined when the value is not a usable time. */
export function timestampText(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && Math.abs(v) < 8.64e15 ? new Date(v).toISOString() : undefined;
  if (typeof v !== 'string' || v === '') return undefined;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) return undefined;
  return ISO.test(v) ? v : new Date(ms).toISOString();
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * Encodes a batch for the store, giving the event loop a turn every `sliceMs` (checked every 256
 * events), so that a batch encoded while the store writes the previous one does not hold up that
 * write's statements.
 */
export async function encodeBatch(events: readonly OutEvent[], sliceMs = 2): Promise<EncodedBatch> {
  const out: EncodedBatch = { rows: [], duplicatesInBatch: 0, rejected: [] };
  const seen = new Set<string>();
  const turn = timeSlice(sliceMs);
  for (let i = 0; i < events.length; i++) {
    encodeInto(out, seen, events[i]!);
    if ((i & 255) === 255) await turn();
  }
  return out;
}

function encodeInto(out: EncodedBatch, seen: Set<string>, event: OutEvent): void {
  const doc = event.doc;
  const model = doc?.model?.name;
  const id = event.id;
  if (typeof model !== 'string' || model === '') {
    out.rejected.push({ event, reason: 'document has no model.name' });
    return;
  }
  if (typeof id !== 'string' || id === '') {
    out.rejected.push({ event, reason: 'document has no event id' });
    return;
  }
  const ts = timestampText(doc['@timestamp']);
  if (ts === undefined) {
    out.rejected.push({ event, reason: `document ${id}: @timestamp ${JSON.stringify(doc['@timestamp'])} is not a valid time` });
    return;
  }
  // Length-prefixed so that no (model, id) pair can collide with another.
  const key = `${model.length}:${model}${id}`;
  if (seen.has(key)) {
    out.duplicatesInBatch++;
    return;
  }
  seen.add(key);
  out.rows.push({
    model_name: model,
    event_id: id,
    ts,
    model_version: stringOrNull(doc.model.version),
    ingested: timestampText(doc.event?.ingested) ?? null,
    host: stringOrNull(doc.host?.name),
    file_path: stringOrNull(doc.log?.file?.path),
    file_offset: finiteOrNull(doc.log?.offset),
    duration_ns: finiteOrNull(doc.event?.duration),
    labels: part(doc.labels),
    features: part(doc.features),
    prediction: part(doc.prediction),
    missing: part(doc.missing),
    text: part(doc.text),
    doc: JSON.stringify(doc),
  });
}
