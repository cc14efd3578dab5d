/**
 * A feedback (ground-truth) line -> the outcome it carries. Pure.
 *
 *   {"request_id": "r-17", "actual": 1, "timestamp": "2026-05-01T10:02:00Z"}
 *     -> { id: "r-17", actual: { value: 1 }, ts: "2026-05-01T10:02:00.000Z" }
 *
 * `fields.id` names the prediction's id (the prediction log's `fields.id`, stored as event.id).
 * `fields.actual` names one field (an object becomes actual.<key>, a scalar actual.value) or a list
 * of fields (actual.<field>). The timestamp is optional: without one, the time the line was read
 * stands for the label time (the label delay is then an upper bound). Bad lines are rejected with a
 * reason for the dead letter, never thrown.
 */
import type { InputConfig } from '../config/schema.ts';
import type { FeatureValue } from '../normalize/document.ts';
import { replaceNonFiniteTokens } from '../normalize/json.ts';
import { parseTimestamp, type TimestampFormat } from '../normalize/timestamp.ts';

export interface FeedbackEvent {
  /** The prediction's event.id this outcome is for. */
  id: string;
  actual: Record<string, FeatureValue>;
  /** Label time, epoch ms. */
  ts: number;
  /** Whether ts came from the record (false: the time the line was read). */
  tsFromRecord: boolean;
  /** Where the line is (registry key, file, byte offset of its start): the join holds its ack back while it waits. */
  key: string;
  path: string;
  offset: number;
}

export type FeedbackResult = { ok: true; event: FeedbackEvent } | { ok: false; reason: string; code: string; skip?: boolean };

export interface FeedbackContext {
  idField: string;
  actual: string | string[];
  tsField: string;
  tsFormat: TimestampFormat;
  maxLineBytes: number;
  now: () => number;
}

export function feedbackContext(input: InputConfig, now: () => number = Date.now): FeedbackContext {
  return {
    idField: input.fields.id!,
    actual: input.fields.actual!,
    tsField: input.fields.timestamp,
    tsFormat: input.fields.timestampFormat,
    maxLineBytes: input.maxLineBytes,
    now,
  };
}

function getPath(rec: Record<string, unknown>, path: string): unknown {
  if (path in rec) return rec[path];
  let cur: unknown = rec;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const isScalar = (v: unknown): v is FeatureValue =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function flatten(prefix: string, v: unknown, out: Record<string, FeatureValue>): void {
  if (isScalar(v)) out[prefix] = v;
  else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, out);
  }
}

const reject = (code: string, reason: string): FeedbackResult => ({ ok: false, code, reason });

export function parseFeedback(line: Buffer | string, meta: { key: string; path: string; offset: number }, ctx: FeedbackContext): FeedbackResult {
  if (line.length > ctx.maxLineBytes) return reject('ERR_LINE_TOO_LONG', 'line longer than max_line_bytes');
  const text = typeof line === 'string' ? line : line.toString('utf8');
  if (text.trim() === '') return { ok: false, reason: 'empty line', code: 'ERR_LINE_EMPTY', skip: true };
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (err) {
    const fixed = replaceNonFiniteTokens(text);
    try {
      if (fixed === undefined) throw err;
      rec = JSON.parse(fixed);
    } catch {
      return reject('ERR_LINE_JSON', `not valid JSON: ${(err instanceof Error ? err.message : String(err)).slice(0, 160)}`);
    }
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return reject('ERR_LINE_NOT_OBJECT', 'not a JSON object: each feedback line must be one JSON object (an outcome)');
  const r = rec as Record<string, unknown>;
  const idRaw = getPath(r, ctx.idField);
  if (!(typeof idRaw === 'string' && idRaw !== '') && !(typeof idRaw === 'number' && Number.isFinite(idRaw))) {
    return reject('ERR_FEEDBACK_ID', `no prediction id: field "${ctx.idField}" is ${idRaw === undefined ? 'absent' : JSON.stringify(idRaw)}, expected a non-empty string or a number`);
  }
  const actual: Record<string, FeatureValue> = {};
  if (typeof ctx.actual === 'string') {
    const v = getPath(r, ctx.actual);
    if (isScalar(v)) actual.value = v;
    else flatten('', v, actual);
  } else {
    for (const f of ctx.actual) {
      const v = getPath(r, f);
      if (isScalar(v)) actual[f] = v;
    }
  }
  if (Object.keys(actual).length === 0) {
    return reject('ERR_FEEDBACK_ACTUAL', `no actual value: field(s) ${JSON.stringify(ctx.actual)} absent, null or not a string, number or boolean`);
  }
  const tsRaw = getPath(r, ctx.tsField);
  let ts: number | undefined;
  if (tsRaw !== undefined && tsRaw !== null) {
    ts = parseTimestamp(tsRaw, ctx.tsFormat);
    if (ts === undefined) return reject('ERR_TIMESTAMP', `unusable timestamp in field "${ctx.tsField}": ${JSON.stringify(tsRaw).slice(0, 80)}`);
  }
  return {
    ok: true,
    event: { id: String(idRaw), actual, ts: ts ?? ctx.now(), tsFromRecord: ts !== undefined, key: meta.key, path: meta.path, offset: meta.offset },
  };
}
