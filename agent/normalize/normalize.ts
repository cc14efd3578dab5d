/**
 * One raw line -> one document (DESIGN.md section 2), or a rejection for the dead letter.
 *
 * This is the hot path: it runs once per prediction. It is a pure function of the line, its
 * position and a small per-input context (first-seen types and feature names per model, the
 * reference profiles), and it never throws: bad data is a `{ ok: false }` result, not an exception.
 *
 * Decisions (documented in the README):
 * - Types come from the reference profile when one exists for the model + version, else from the
 *   first non-NA value seen per model (number -> num, string -> cat, boolean -> bool). Lossless
 *   coercions are made rather than rejections: numeric strings ("12.5", "-3e2") for a num field are
 *   parsed; numbers and booleans for a cat field become strings (Elasticsearch would index a keyword
 *   that way anyway); "true"/"false"/"True"/"False" for a bool field become booleans. "nan",
 *   "inf", "-inf", "infinity" (any case) for a num field are NA, as Evidently treats ±inf.
 *   Anything else of the wrong type goes to features_unparsed as a string and is counted.
 * - A list of scalars (up to MAX_LIST_ITEMS) is a multi-valued feature, `features.<name>: [...]`,
 *   as Elasticsearch indexes an array: each element typed and coerced like a single value, NA
 *   elements dropped, repeated categories kept once (a keyword array counts a document once per
 *   term), numbers all kept; an empty list is NA. Longer lists (embeddings), nested lists and lists
 *   of mixed types stay JSON text in features_unparsed, as do objects nested deeper than MAX_DEPTH.
 * - A list of numbers as a prediction is class probabilities: `prediction.<name>.<class>` per
 *   element, class names from `fields.prediction_classes` (else the indices 0, 1, ...); a list of
 *   another length than the classes goes to features_unparsed. When the whole prediction field is
 *   the list, it becomes `prediction.proba.<class>` and `prediction.value` is the most probable
 *   class.
 * - Wrong-typed predictions also go to features_unparsed, under `prediction.<name>`.
 * - A wrong-typed value is not NA: it is not listed in `missing`.
 * - max_features counts distinct feature names per model seen in the logs (reference names
 *   included); reference names and configured text fields are always indexed, other new names
 *   beyond the cap go to features_overflow. Prediction names have a cap of the same size, and
 *   overflow as `prediction.<name>`. NA values of overflowed names are not recorded.
 * - Record fields configured with dots (`fields.timestamp: meta.ts`) are looked up as a literal
 *   key first, then as a path into nested objects.
 * - A zone-less ISO timestamp is UTC. A blank line is a `skip` rejection (ack it, do not
 *   dead-letter it).
 * - event.id is the record's id field as a string, else `<file identity key>-<offset in base 36>`:
 *   unique per line, and the same after a restart, so re-reading a line is a 409 duplicate.
 *
 * The steps, each in its own module: parse (here), timestamp (timestamp.ts), model (here),
 * features (features.ts, with text.ts for text fields), predictions (predictions.ts), reference
 * names absent from the record (accumulator.ts), event and document (here). The per-input state
 * they read is context.ts; the rejection codes and reasons are reject.ts.
 */
import type { OutEvent } from '../sinks/sink.ts';
import { addAbsent, newAcc, type Acc } from './accumulator.ts';
import type { NormalizeContext } from './context.ts';
import type { PredictionDocument } from './document.ts';
import { walkFeatures } from './features.ts';
import { replaceNonFiniteTokens } from './json.ts';
import { addPrediction, walkPredictions } from './predictions.ts';
import { kindOf, preview, reject, rejectTooLong, REJECT_CODES, timestampRejection, type Rejection } from './reject.ts';
import { checkTimestamp, isCanonicalIsoUtc } from './timestamp.ts';
import { getField, isPlainObject, parseDecimal, scalarString, type Rec } from './values.ts';

export { createNormalizeContext, NormalizeContext, type NormalizeStats } from './context.ts';
export { MAX_DEPTH, MAX_LIST_ITEMS } from './accumulator.ts';
export { lineTooLongReason, REJECT_CODES, rejectTooLong, type Rejection } from './reject.ts';

export interface LineMeta {
  /** File identity key from the tailer (device + inode + fingerprint). */
  key: string;
  path: string;
  /** Byte offset of the start of the line in the file. */
  offset: number;
}

export type NormalizeResult = { ok: true; event: OutEvent } | Rejection;

// ---------------------------------------------------------------------------------------------
// the entry point

/** Turns one raw line into an event, or says why it cannot be one. Never throws. */
export function normalizeLine(line: Buffer | string, meta: LineMeta, ctx: NormalizeContext): NormalizeResult {
  try {
    return normalize(line, meta, ctx);
  } catch (err) {
    // Not expected; a bug must cost one line, never the agent.
    const message = err instanceof Error ? err.message : String(err);
    return reject(REJECT_CODES.INTERNAL, `could not normalize the line (please report this): ${message.slice(0, 200)}`);
  }
}

/** The pipeline: each step either gives its part of the document or the line's rejection. */
function normalize(line: Buffer | string, meta: LineMeta, ctx: NormalizeContext): NormalizeResult {
  // For a string this counts UTF-16 units rather than bytes: close enough for a size bound.
  const lineBytes = line.length;
  if (lineBytes > ctx.maxLineBytes) return rejectTooLong(lineBytes, ctx.maxLineBytes);
  // Decoded once; invalid UTF-8 becomes U+FFFD and then fails JSON.parse or stays inside a string.
  let text = typeof line === 'string' ? line : line.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark on a file's first line
  const rec = parseRecord(text);
  if (rec === undefined) return recordRejection(text);
  const timestamp = readTimestamp(rec, ctx);
  if (typeof timestamp !== 'string') return timestamp;
  const model = readModel(rec, ctx);
  if (isRejection(model)) return model;
  const acc = newAcc(ctx, model.name, model.version);
  const badFeatures = readFeatures(acc, rec);
  if (badFeatures !== undefined) return badFeatures;
  readPredictions(acc, rec);
  if (acc.ref !== undefined) addAbsent(acc);
  const event = readEvent(rec, meta, ctx);
  const doc = toDocument(timestamp, event, model, acc, meta);
  return { ok: true, event: { id: event.id, doc, bytes: lineBytes + meta.path.length + ctx.overheadBytes } };
}

/** Tells a step's own result (never a record of the log) from its rejection. */
function isRejection(x: object): x is Rejection {
  return 'ok' in x;
}

// ---------------------------------------------------------------------------------------------
// the steps

/** JSON.parse, reading Python's bare NaN/Infinity as null (json.ts); throws JSON.parse's own error. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const fixed = text.includes('NaN') || text.includes('Infinity') ? replaceNonFiniteTokens(text) : undefined;
    if (fixed === undefined) throw err;
    try {
      return JSON.parse(fixed);
    } catch {
      throw err;
    }
  }
}

/** parse: the line's JSON object, or undefined (recordRejection says why). */
function parseRecord(text: string): Rec | undefined {
  let rec: unknown;
  try {
    rec = parseJson(text);
  } catch {
    return undefined;
  }
  return isPlainObject(rec) ? rec : undefined;
}

/** Why parseRecord gave nothing (only for rejected lines: it parses the text again). */
function recordRejection(text: string): Rejection {
  let rec: unknown;
  try {
    rec = parseJson(text);
  } catch (err) {
    if (text.trim() === '') return { ok: false, reason: 'empty line', code: REJECT_CODES.EMPTY, skip: true };
    const message = err instanceof Error ? err.message : String(err);
    return reject(REJECT_CODES.JSON, `not valid JSON: ${message.length > 160 ? message.slice(0, 160) + '...' : message}`);
  }
  return reject(REJECT_CODES.NOT_OBJECT, `not a JSON object: the line is ${kindOf(rec)}; each line must be one JSON object (a prediction record)`);
}

/** timestamp: the record's instant as canonical ISO text, checked against timestamp_range. */
function readTimestamp(rec: Rec, ctx: NormalizeContext): string | Rejection {
  const tsRaw = getField(rec, ctx.tsField);
  // A canonical UTC ISO string (what toISOString prints, the common case) is kept as is; canonical
  // strings compare as their instants do, so the range check needs no Date either.
  if (
    typeof tsRaw === 'string' && (ctx.tsFormat === 'auto' || ctx.tsFormat === 'iso8601') && isCanonicalIsoUtc(tsRaw) &&
    tsRaw >= ctx.tsMinIso && tsRaw <= ctx.tsMaxIso()
  ) {
    return tsRaw;
  }
  const ms = checkTimestamp(tsRaw, ctx.tsFormat, ctx.tsMinMs, ctx.tsMax());
  if (typeof ms !== 'number') return timestampRejection(ctx, tsRaw, ms);
  return new Date(ms).toISOString();
}

/** model: the document's `model` (name from the record or the input, version likewise). */
function readModel(rec: Rec, ctx: NormalizeContext): PredictionDocument['model'] | Rejection {
  let name = ctx.modelName;
  if (ctx.nameField !== undefined) {
    const v = scalarString(getField(rec, ctx.nameField));
    if (v !== undefined) name = v;
    else if (name === undefined) {
      return reject(
        REJECT_CODES.MODEL,
        `no model name: field "${ctx.nameField.name}" is ${preview(getField(rec, ctx.nameField))}, expected a non-empty string (or set model.name of the input)`,
      );
    }
  }
  if (name === undefined) return reject(REJECT_CODES.MODEL, 'no model name: set model.name or model.name_field of the input');
  let version = ctx.modelVersion;
  if (ctx.versionField !== undefined) {
    const v = scalarString(getField(rec, ctx.versionField));
    if (v !== undefined) version = v;
  }
  return version === undefined ? { name } : { name, version };
}

/** features (and text): into the accumulator; a features field that is not an object rejects the line. */
function readFeatures(acc: Acc, rec: Rec): Rejection | undefined {
  const ctx = acc.ctx;
  const featuresRaw = getField(rec, ctx.featuresField);
  if (featuresRaw === undefined || featuresRaw === null) return undefined;
  if (!isPlainObject(featuresRaw)) {
    return reject(
      REJECT_CODES.FEATURES,
      `field "${ctx.featuresField.name}" is ${kindOf(featuresRaw)}, expected an object of model inputs (set fields.features of the input)`,
    );
  }
  walkFeatures(acc, featuresRaw, '', 0);
  return undefined;
}

/** predictions: an object is flattened, anything else is `prediction.value`. */
function readPredictions(acc: Acc, rec: Rec): void {
  const predRaw = getField(rec, acc.ctx.predField);
  if (predRaw === undefined) return;
  if (isPlainObject(predRaw)) walkPredictions(acc, predRaw, '', 0);
  else addPrediction(acc, 'value', predRaw);
}

/** event: the id (the record's, else file identity + offset), ingest time, latency in ns. */
function readEvent(rec: Rec, meta: LineMeta, ctx: NormalizeContext): PredictionDocument['event'] {
  let id: string | undefined;
  if (ctx.idField !== undefined) id = scalarString(getField(rec, ctx.idField));
  if (id === undefined) id = meta.key + '-' + meta.offset.toString(36);
  const event: PredictionDocument['event'] = { id, ingested: ctx.ingested() };
  if (ctx.latencyField !== undefined) {
    let lat = getField(rec, ctx.latencyField);
    if (typeof lat === 'string') lat = parseDecimal(lat);
    if (typeof lat === 'number' && Number.isFinite(lat) && lat >= 0) event.duration = Math.round(lat * 1e6);
  }
  return event;
}

/** The document (DESIGN.md section 2), its optional parts present only when the record had them. */
function toDocument(timestamp: string, event: PredictionDocument['event'], model: PredictionDocument['model'], acc: Acc, meta: LineMeta): PredictionDocument {
  const doc: PredictionDocument = {
    '@timestamp': timestamp,
    event,
    model,
    features: acc.features,
    prediction: acc.prediction,
    missing: acc.missing,
    host: acc.ctx.host,
    log: { file: { path: meta.path }, offset: meta.offset },
  };
  if (acc.unparsed !== undefined) doc.features_unparsed = acc.unparsed;
  if (acc.overflow !== undefined) doc.features_overflow = acc.overflow;
  if (acc.text !== undefined) doc.text = acc.text;
  if (acc.ctx.labels !== undefined) doc.labels = acc.ctx.labels as Record<string, string>;
  return doc;
}

/** Approximate encoded size of an event, for batch bounds: the line length plus the fields the agent adds. */
export function eventBytes(event: OutEvent): number {
  return event.bytes > 0 ? event.bytes : JSON.stringify(event.doc).length;
}
