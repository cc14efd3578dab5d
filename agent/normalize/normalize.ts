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
 * - Arrays are not flattened (an embedding would explode the feature names): an array value is
 *   kept as its JSON text in features_unparsed. Objects nested deeper than MAX_DEPTH likewise.
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
 */
import type { InputConfig } from '../config/schema.ts';
import type { OutEvent } from '../sinks/sink.ts';
import { featuresOverflow, valuesUnparsed } from '../telemetry/metrics.ts';
import type { FeatureValue, PredictionDocument, TextStats } from './document.ts';
import { replaceNonFiniteTokens } from './json.ts';
import { lookupReference, type FeatureType, type ModelReference, type ReferenceInfo } from './reference-info.ts';
import { checkTimestamp, EPOCH_UNIT_NAMES, isCanonicalIsoUtc, type TimestampFormat, type TimestampProblem } from './timestamp.ts';
import { textStats } from './tokenize.ts';

export interface LineMeta {
  /** File identity key from the tailer (device + inode + fingerprint). */
  key: string;
  path: string;
  /** Byte offset of the start of the line in the file. */
  offset: number;
}

export interface Rejection {
  ok: false;
  /** Human-readable, for the dead letter; quotes the offending value (truncated). */
  reason: string;
  /** Stable code (REJECT_CODES), fit as a metric label. */
  code: string;
  /** True for blank lines: acknowledge them, do not dead-letter them. */
  skip?: true;
}

export type NormalizeResult = { ok: true; event: OutEvent } | Rejection;

export const REJECT_CODES = {
  EMPTY: 'ERR_NORMALIZE_EMPTY_LINE',
  JSON: 'ERR_NORMALIZE_INVALID_JSON',
  NOT_OBJECT: 'ERR_NORMALIZE_NOT_OBJECT',
  TIMESTAMP: 'ERR_NORMALIZE_TIMESTAMP',
  TIMESTAMP_FORMAT: 'ERR_NORMALIZE_TIMESTAMP_FORMAT',
  TIMESTAMP_RANGE: 'ERR_NORMALIZE_TIMESTAMP_RANGE',
  MODEL: 'ERR_NORMALIZE_MODEL',
  FEATURES: 'ERR_NORMALIZE_FEATURES',
  LINE_TOO_LONG: 'ERR_NORMALIZE_LINE_TOO_LONG',
  INTERNAL: 'ERR_NORMALIZE_INTERNAL',
} as const;

/** Nesting depth of features/predictions objects that is flattened; deeper objects are kept as JSON text. */
export const MAX_DEPTH = 8;
/** Longest quoted value in a rejection reason or an unparsed value. */
const PREVIEW_CHARS = 80;
const UNPARSED_MAX_CHARS = 1024;

// ---------------------------------------------------------------------------------------------
// context

interface FieldPath {
  name: string;
  /** The dotted name split, or undefined when it has no dot. */
  parts: string[] | undefined;
}

function fieldPath(name: string): FieldPath {
  return { name, parts: name.includes('.') ? name.split('.') : undefined };
}

type Counter = { inc(n?: number): void };

/** The first-seen type of one name of one model (null until a non-NA value is seen). */
interface TypeCell {
  type: FeatureType | null;
}

/**
 * Everything addFeature needs to know about one name under one reference profile, resolved once
 * and cached: one Map lookup per value instead of four (types, reference, text fields, vocabulary).
 */
interface Slot {
  /** Type from the reference, else null (then `cell` holds the first-seen type). */
  refType: FeatureType | null;
  cell: TypeCell;
  isText: boolean;
  vocabulary: ReadonlySet<string> | undefined;
}

/** The slots of one model under one reference profile (or none). */
interface SlotTable {
  features: Map<string, Slot>;
  predictions: Map<string, Slot>;
}

/** What the context learns about one model from its records. */
class ModelState {
  /** Admitted feature names (at most max_features, reference names always) -> first-seen type. */
  readonly cells = new Map<string, TypeCell>();
  readonly predCells = new Map<string, TypeCell>();
  /** Slot tables per reference profile (key null: no profile); dropped when profiles are replaced. */
  readonly tables = new Map<ModelReference | null, SlotTable>();
  refGeneration = -1;
  refVersion: string | undefined = undefined;
  ref: ModelReference | undefined = undefined;
  readonly unparsedMetric: Counter;
  readonly overflowMetric: Counter;
  readonly model: string;
  constructor(model: string) {
    this.model = model;
    // Label children are looked up once per model, not once per value.
    this.unparsedMetric = valuesUnparsed.labels(model);
    this.overflowMetric = featuresOverflow.labels(model);
  }

  table(ref: ModelReference | undefined): SlotTable {
    const key = ref ?? null;
    let t = this.tables.get(key);
    if (t === undefined) {
      t = { features: new Map(), predictions: new Map() };
      this.tables.set(key, t);
    }
    return t;
  }
}

export interface NormalizeStats {
  unparsed: number;
  overflow: number;
}

export class NormalizeContext {
  readonly input: InputConfig;
  readonly stats: NormalizeStats = { unparsed: 0, overflow: 0 };
  /** @internal */ readonly hostName: string;
  /** @internal */ readonly host: { name: string };
  /** @internal */ readonly maxLineBytes: number;
  /** @internal */ readonly maxFeatures: number;
  /** @internal */ readonly tsField: FieldPath;
  /** @internal */ readonly tsFormat: TimestampFormat;
  /** @internal timestamp_range: earliest plausible instant (ms, and as canonical ISO) and the allowance past now. */
  readonly tsMinMs: number;
  /** @internal */ readonly tsMinIso: string;
  /** @internal */ readonly tsMaxAheadMs: number;
  /** @internal */ readonly idField: FieldPath | undefined;
  /** @internal */ readonly featuresField: FieldPath;
  /** @internal */ readonly predField: FieldPath;
  /** @internal */ readonly latencyField: FieldPath | undefined;
  /** @internal */ readonly nameField: FieldPath | undefined;
  /** @internal */ readonly versionField: FieldPath | undefined;
  /** @internal */ readonly modelName: string | undefined;
  /** @internal */ readonly modelVersion: string | undefined;
  /** @internal */ readonly textFields: ReadonlySet<string>;
  /** @internal */ readonly naValues: ReadonlySet<string>;
  /** @internal */ readonly naMaxLength: number;
  /** @internal */ readonly labels: Readonly<Record<string, string>> | undefined;
  /** @internal */ readonly overheadBytes: number;
  /** @internal */ readonly now: (() => Date) | undefined;
  /** @internal */ reference: ReferenceInfo | undefined;
  /** @internal */ referenceGeneration = 0;
  /** @internal */ readonly models = new Map<string, ModelState>();
  private ingestedMs = -1;
  private ingestedIso = '';
  private tsMaxSecond = -1;
  private tsMaxMsCached = 0;
  private tsMaxIsoCached = '';

  constructor(input: InputConfig, opts: { hostName: string; now?: () => Date; reference?: ReferenceInfo }) {
    this.input = input;
    this.hostName = opts.hostName;
    // Shared (frozen) by every document of this input: sinks serialize, they must not mutate.
    this.host = Object.freeze({ name: opts.hostName });
    this.maxLineBytes = input.maxLineBytes;
    this.maxFeatures = input.maxFeatures;
    const f = input.fields;
    this.tsField = fieldPath(f.timestamp);
    this.tsFormat = f.timestampFormat;
    this.tsMinMs = f.timestampRange.min;
    this.tsMinIso = new Date(f.timestampRange.min).toISOString();
    this.tsMaxAheadMs = f.timestampRange.maxAhead;
    this.idField = f.id ? fieldPath(f.id) : undefined;
    this.featuresField = fieldPath(f.features);
    this.predField = fieldPath(f.predictions);
    this.latencyField = f.latency ? fieldPath(f.latency) : undefined;
    this.nameField = input.model.nameField ? fieldPath(input.model.nameField) : undefined;
    this.versionField = input.model.versionField ? fieldPath(input.model.versionField) : undefined;
    this.modelName = input.model.name;
    this.modelVersion = input.model.version;
    this.textFields = new Set(f.text);
    this.naValues = new Set(input.naValues);
    this.naMaxLength = input.naValues.reduce((m, x) => Math.max(m, x.length), 0);
    const labelKeys = Object.keys(input.labels);
    this.labels = labelKeys.length ? Object.freeze({ ...input.labels }) : undefined;
    // Fields the document adds to the line (event, host, log, keys): a rough constant.
    this.overheadBytes = 200 + opts.hostName.length + (this.labels ? JSON.stringify(this.labels).length + 10 : 0);
    this.now = opts.now;
    this.reference = opts.reference;
  }

  /** Installs (or replaces) the reference profiles; later lines use them. */
  setReference(info: ReferenceInfo | undefined): void {
    this.reference = info;
    this.referenceGeneration++;
    for (const state of this.models.values()) state.tables.clear();
  }

  /** @internal */
  modelState(model: string): ModelState {
    let s = this.models.get(model);
    if (s === undefined) {
      s = new ModelState(model);
      this.models.set(model, s);
    }
    return s;
  }

  /** @internal */
  referenceFor(state: ModelState, version: string | undefined): ModelReference | undefined {
    if (state.refGeneration !== this.referenceGeneration || state.refVersion !== version) {
      state.ref = lookupReference(this.reference, state.model, version);
      state.refVersion = version;
      state.refGeneration = this.referenceGeneration;
    }
    return state.ref;
  }

  /**
   * @internal The latest plausible record time (now + max_ahead), as ms and as canonical ISO text
   * (compared as a string on the hot path). Refreshed once per second of the clock: the bound is a
   * day wide, a second of slack is nothing, and one toISOString per second is free.
   */
  tsMax(): number {
    this.refreshTsMax();
    return this.tsMaxMsCached;
  }

  /** @internal */
  tsMaxIso(): string {
    this.refreshTsMax();
    return this.tsMaxIsoCached;
  }

  private refreshTsMax(): void {
    const now = this.now ? this.now().getTime() : Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.tsMaxSecond) {
      this.tsMaxSecond = second;
      this.tsMaxMsCached = Math.min(8.64e15, (second + 1) * 1000 + this.tsMaxAheadMs);
      this.tsMaxIsoCached = new Date(this.tsMaxMsCached).toISOString();
    }
  }

  /** @internal Ingest time; without an injected clock the ISO string is reused within a millisecond. */
  ingested(): string {
    if (this.now) return this.now().toISOString();
    const ms = Date.now();
    if (ms !== this.ingestedMs) {
      this.ingestedMs = ms;
      this.ingestedIso = new Date(ms).toISOString();
    }
    return this.ingestedIso;
  }
}

export function createNormalizeContext(
  input: InputConfig,
  opts: { hostName: string; now?: () => Date; reference?: ReferenceInfo },
): NormalizeContext {
  return new NormalizeContext(input, opts);
}

// ---------------------------------------------------------------------------------------------
// rejections

function reject(code: string, reason: string): Rejection {
  return { ok: false, reason, code };
}

export function lineTooLongReason(lineBytes: number, maxLineBytes: number): string {
  return `line too long: ${lineBytes} bytes, more than max_line_bytes (${maxLineBytes}); raise max_line_bytes in the input if such lines are expected`;
}

/** The rejection for a line longer than max_line_bytes, for callers that never hand such lines to normalizeLine. */
export function rejectTooLong(lineBytes: number, maxLineBytes: number): Rejection {
  return reject(REJECT_CODES.LINE_TOO_LONG, lineTooLongReason(lineBytes, maxLineBytes));
}

function preview(v: unknown): string {
  if (v === undefined) return 'absent';
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > PREVIEW_CHARS ? `${s.slice(0, PREVIEW_CHARS)}...` : s;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

// ---------------------------------------------------------------------------------------------
// value helpers

type Rec = Record<string, unknown>;

function getField(rec: Rec, f: FieldPath): unknown {
  const direct = rec[f.name];
  if (direct !== undefined || f.parts === undefined) return direct;
  let cur: unknown = rec;
  for (let i = 0; i < f.parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Rec)[f.parts[i]!];
  }
  return cur;
}

function isPlainObject(v: unknown): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A decimal number as JSON or Python would print it: `12`, `-3.5`, `.5`, `1e-3`. No hex, no blanks. */
function parseDecimal(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) i++; // + -
  let digits = 0;
  while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) { i++; digits++; }
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) { i++; digits++; }
  }
  if (digits === 0) return undefined;
  if (i < n && (s.charCodeAt(i) | 32) === 101) { // e E
    i++;
    c = s.charCodeAt(i);
    if (c === 43 || c === 45) i++;
    let exp = 0;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) { i++; exp++; }
    if (exp === 0) return undefined;
  }
  return i === n ? Number(s) : undefined;
}

const NON_FINITE_WORDS = new Set(['nan', '+nan', '-nan', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity']);

// Results of coerce() that are not values; symbols so no feature value can collide with them.
const NA = Symbol('na');
const BAD = Symbol('bad');

function coerce(v: string | number | boolean, type: FeatureType): FeatureValue | typeof NA | typeof BAD {
  switch (type) {
    case 'num':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        const x = parseDecimal(v);
        if (x !== undefined) return Number.isFinite(x) ? x : NA;
        return v.length <= 10 && NON_FINITE_WORDS.has(v.toLowerCase()) ? NA : BAD;
      }
      return BAD;
    case 'cat':
    case 'text':
      return typeof v === 'string' ? v : String(v);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'True') return true;
      if (v === 'false' || v === 'False') return false;
      return BAD;
  }
}

function inferType(v: string | number | boolean): FeatureType {
  return typeof v === 'number' ? 'num' : typeof v === 'boolean' ? 'bool' : 'cat';
}

function unparsedText(v: unknown): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > UNPARSED_MAX_CHARS ? s.slice(0, UNPARSED_MAX_CHARS) : s;
}

// ---------------------------------------------------------------------------------------------
// the per-line accumulator: one plain object with a fixed shape instead of closures

interface Acc {
  ctx: NormalizeContext;
  state: ModelState;
  ref: ModelReference | undefined;
  table: SlotTable;
  features: Record<string, FeatureValue>;
  prediction: Record<string, FeatureValue>;
  missing: string[];
  unparsed: Record<string, string> | undefined;
  overflow: Record<string, FeatureValue> | undefined;
  text: Record<string, TextStats> | undefined;
  /** Reference names met in this record (to skip the absent-name scan when all were). */
  refFeaturesSeen: number;
  refPredictionsSeen: number;
}

// `__proto__` as a plain assignment would replace the object's prototype; JSON.parse makes it an
// ordinary own key, and so must we.
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function addUnparsed(acc: Acc, name: string, v: unknown): void {
  if (acc.unparsed === undefined) acc.unparsed = {};
  put(acc.unparsed, name, unparsedText(v));
  acc.ctx.stats.unparsed++;
  acc.state.unparsedMetric.inc();
}

function isNA(ctx: NormalizeContext, v: unknown): boolean {
  if (v === null) return true;
  // The length test spares a hash lookup for nearly every real value: NA strings are short.
  if (typeof v === 'string') return v.length === 0 || (v.length <= ctx.naMaxLength && ctx.naValues.has(v));
  if (typeof v === 'number') return !Number.isFinite(v);
  return false;
}

function walkFeatures(acc: Acc, obj: Rec, prefix: string, depth: number): void {
  for (const k in obj) {
    const v = obj[k];
    const name = prefix === '' ? k : prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < MAX_DEPTH && !acc.ctx.textFields.has(name)) {
      walkFeatures(acc, v as Rec, name + '.', depth + 1);
    } else {
      addFeature(acc, name, v);
    }
  }
}

/** Resolves a feature name under the current profile; undefined when it is beyond max_features. */
function featureSlot(acc: Acc, name: string): Slot | undefined {
  const refType = acc.ref === undefined ? undefined : acc.ref.features.get(name);
  const state = acc.state;
  let cell = state.cells.get(name);
  if (cell === undefined) {
    // Overflowed names get no slot, so a flood of distinct names cannot grow the caches.
    // Reference names and configured text fields are always admitted.
    if (refType === undefined && state.cells.size >= acc.ctx.maxFeatures && !acc.ctx.textFields.has(name)) return undefined;
    cell = { type: null };
    state.cells.set(name, cell);
  }
  const isText = refType === 'text' || acc.ctx.textFields.has(name);
  const vocabularies = acc.ref === undefined ? undefined : acc.ref.vocabularies;
  const slot: Slot = {
    refType: refType ?? null,
    cell,
    isText,
    vocabulary: isText && vocabularies !== undefined ? vocabularies.get(name) : undefined,
  };
  acc.table.features.set(name, slot);
  return slot;
}

function addFeature(acc: Acc, name: string, v: unknown): void {
  const slot = acc.table.features.get(name) ?? featureSlot(acc, name);
  if (slot === undefined) {
    addOverflow(acc, name, v);
    return;
  }
  if (slot.refType !== null) acc.refFeaturesSeen++;
  if (slot.isText) {
    addText(acc, name, v, slot.vocabulary);
    return;
  }
  if (isNA(acc.ctx, v)) {
    acc.missing.push(name);
    return;
  }
  if (typeof v === 'object' || typeof v === 'function' || v === undefined) {
    addUnparsed(acc, name, v); // arrays, and objects nested beyond MAX_DEPTH
    return;
  }
  const s = v as string | number | boolean;
  let type = slot.refType ?? slot.cell.type;
  if (type === null) type = slot.cell.type = inferType(s);
  // Fast path: the value already has its type (nearly always).
  if ((type === 'num' && typeof s === 'number') || (type === 'cat' && typeof s === 'string') || (type === 'bool' && typeof s === 'boolean')) {
    put(acc.features, name, s);
    return;
  }
  const out = coerce(s, type);
  if (out === NA) acc.missing.push(name);
  else if (out === BAD) addUnparsed(acc, name, v);
  else put(acc.features, name, out);
}

function addText(acc: Acc, name: string, v: unknown, vocabulary: ReadonlySet<string> | undefined): void {
  if (isNA(acc.ctx, v)) {
    acc.missing.push(name);
    return;
  }
  if (typeof v === 'object') {
    addUnparsed(acc, name, v);
    return;
  }
  const stats = textStats(typeof v === 'string' ? v : String(v), vocabulary);
  if (acc.text === undefined) acc.text = {};
  put(acc.text, name, stats);
}

function walkPredictions(acc: Acc, obj: Rec, prefix: string, depth: number): void {
  for (const k in obj) {
    const v = obj[k];
    const name = prefix === '' ? k : prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < MAX_DEPTH) {
      walkPredictions(acc, v as Rec, name + '.', depth + 1);
    } else {
      addPrediction(acc, name, v);
    }
  }
}

/** Like featureSlot: prediction names share the max_features cap (separately counted). */
function predictionSlot(acc: Acc, name: string): Slot | undefined {
  const refType = acc.ref === undefined || acc.ref.predictions === undefined ? undefined : acc.ref.predictions.get(name);
  let cell = acc.state.predCells.get(name);
  if (cell === undefined) {
    if (refType === undefined && acc.state.predCells.size >= acc.ctx.maxFeatures) return undefined;
    cell = { type: null };
    acc.state.predCells.set(name, cell);
  }
  const slot: Slot = { refType: refType ?? null, cell, isText: false, vocabulary: undefined };
  acc.table.predictions.set(name, slot);
  return slot;
}

function addOverflow(acc: Acc, name: string, v: unknown): void {
  if (isNA(acc.ctx, v)) return;
  if (acc.overflow === undefined) acc.overflow = {};
  put(acc.overflow, name, typeof v === 'object' ? unparsedText(v) : v);
  acc.ctx.stats.overflow++;
  acc.state.overflowMetric.inc();
}

function addPrediction(acc: Acc, name: string, v: unknown): void {
  const slot = acc.table.predictions.get(name) ?? predictionSlot(acc, name);
  if (slot === undefined) {
    addOverflow(acc, 'prediction.' + name, v);
    return;
  }
  if (slot.refType !== null) acc.refPredictionsSeen++;
  if (isNA(acc.ctx, v)) {
    acc.missing.push('prediction.' + name);
    return;
  }
  if (typeof v === 'object' || typeof v === 'function' || v === undefined) {
    addUnparsed(acc, 'prediction.' + name, v);
    return;
  }
  const s = v as string | number | boolean;
  let type = slot.refType ?? slot.cell.type;
  if (type === null) type = slot.cell.type = inferType(s);
  const out = coerce(s, type);
  if (out === NA) acc.missing.push('prediction.' + name);
  else if (out === BAD) addUnparsed(acc, 'prediction.' + name, v);
  else put(acc.prediction, name, out);
}

/** Reference names that did not occur in the record at all are NA too. */
function addAbsent(acc: Acc): void {
  const ref = acc.ref!;
  if (acc.refFeaturesSeen < ref.features.size) {
    for (const name of ref.features.keys()) {
      if (
        !Object.hasOwn(acc.features, name) &&
        !(acc.text !== undefined && Object.hasOwn(acc.text, name)) &&
        !(acc.unparsed !== undefined && Object.hasOwn(acc.unparsed, name)) &&
        !acc.missing.includes(name)
      ) {
        acc.missing.push(name);
      }
    }
  }
  if (ref.predictions !== undefined && acc.refPredictionsSeen < ref.predictions.size) {
    for (const name of ref.predictions.keys()) {
      if (Object.hasOwn(acc.prediction, name)) continue;
      const full = 'prediction.' + name;
      if (!(acc.unparsed !== undefined && Object.hasOwn(acc.unparsed, full)) && !acc.missing.includes(full)) acc.missing.push(full);
    }
  }
}

function scalarString(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function timestampRejection(ctx: NormalizeContext, raw: unknown, p: TimestampProblem): Rejection {
  const field = `field "${ctx.tsField.name}" is ${preview(raw)}`;
  switch (p.problem) {
    case 'unusable': {
      const expected = ctx.tsFormat === 'auto' ? 'ISO 8601 or epoch seconds, milliseconds, microseconds or nanoseconds' : ctx.tsFormat;
      return reject(REJECT_CODES.TIMESTAMP, `no usable timestamp: ${field}, expected ${expected} (set fields.timestamp / fields.timestamp_format of the input)`);
    }
    case 'mismatch':
      return reject(
        REJECT_CODES.TIMESTAMP_FORMAT,
        `timestamp format mismatch: ${field}, which by its magnitude is ${EPOCH_UNIT_NAMES[p.unit]}, not ${ctx.tsFormat} (fields.timestamp_format of the input; auto reads the unit from the magnitude)`,
      );
    case 'range': {
      const read = p.unit === undefined ? '' : ` (read as ${EPOCH_UNIT_NAMES[p.unit]})`;
      const when = Math.abs(p.ms) <= 8.64e15 ? new Date(p.ms).toISOString() : String(p.ms);
      return reject(
        REJECT_CODES.TIMESTAMP_RANGE,
        `timestamp out of range: ${field}${read} = ${when}, outside ${ctx.tsMinIso} .. now + ${ctx.tsMaxAheadMs / 3_600_000} h (fields.timestamp_range of the input)`,
      );
    }
  }
}

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

function normalize(line: Buffer | string, meta: LineMeta, ctx: NormalizeContext): NormalizeResult {
  // For a string this counts UTF-16 units rather than bytes: close enough for a size bound.
  const lineBytes = line.length;
  if (lineBytes > ctx.maxLineBytes) return rejectTooLong(lineBytes, ctx.maxLineBytes);
  // Decoded once; invalid UTF-8 becomes U+FFFD and then fails JSON.parse or stays inside a string.
  let text = typeof line === 'string' ? line : line.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark on a file's first line

  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (err) {
    const fixed = text.includes('NaN') || text.includes('Infinity') ? replaceNonFiniteTokens(text) : undefined;
    try {
      if (fixed === undefined) throw err;
      rec = JSON.parse(fixed);
    } catch {
      if (text.trim() === '') return { ok: false, reason: 'empty line', code: REJECT_CODES.EMPTY, skip: true };
      const message = err instanceof Error ? err.message : String(err);
      return reject(REJECT_CODES.JSON, `not valid JSON: ${message.length > 160 ? message.slice(0, 160) + '...' : message}`);
    }
  }
  if (!isPlainObject(rec)) {
    return reject(REJECT_CODES.NOT_OBJECT, `not a JSON object: the line is ${kindOf(rec)}; each line must be one JSON object (a prediction record)`);
  }

  // @timestamp
  const tsRaw = getField(rec, ctx.tsField);
  let timestamp: string;
  // A canonical UTC ISO string (what toISOString prints, the common case) is kept as is; canonical
  // strings compare as their instants do, so the range check needs no Date either.
  if (
    typeof tsRaw === 'string' && (ctx.tsFormat === 'auto' || ctx.tsFormat === 'iso8601') && isCanonicalIsoUtc(tsRaw) &&
    tsRaw >= ctx.tsMinIso && tsRaw <= ctx.tsMaxIso()
  ) {
    timestamp = tsRaw;
  } else {
    const ms = checkTimestamp(tsRaw, ctx.tsFormat, ctx.tsMinMs, ctx.tsMax());
    if (typeof ms !== 'number') return timestampRejection(ctx, tsRaw, ms);
    timestamp = new Date(ms).toISOString();
  }

  // model
  let modelName = ctx.modelName;
  if (ctx.nameField !== undefined) {
    const v = scalarString(getField(rec, ctx.nameField));
    if (v !== undefined) modelName = v;
    else if (modelName === undefined) {
      return reject(
        REJECT_CODES.MODEL,
        `no model name: field "${ctx.nameField.name}" is ${preview(getField(rec, ctx.nameField))}, expected a non-empty string (or set model.name of the input)`,
      );
    }
  }
  if (modelName === undefined) return reject(REJECT_CODES.MODEL, 'no model name: set model.name or model.name_field of the input');
  let version = ctx.modelVersion;
  if (ctx.versionField !== undefined) {
    const v = scalarString(getField(rec, ctx.versionField));
    if (v !== undefined) version = v;
  }

  const state = ctx.modelState(modelName);
  const ref = ctx.referenceFor(state, version);
  const acc: Acc = {
    ctx,
    state,
    ref,
    table: state.table(ref),
    features: {},
    prediction: {},
    missing: [],
    unparsed: undefined,
    overflow: undefined,
    text: undefined,
    refFeaturesSeen: 0,
    refPredictionsSeen: 0,
  };

  const featuresRaw = getField(rec, ctx.featuresField);
  if (featuresRaw !== undefined && featuresRaw !== null) {
    if (!isPlainObject(featuresRaw)) {
      return reject(
        REJECT_CODES.FEATURES,
        `field "${ctx.featuresField.name}" is ${kindOf(featuresRaw)}, expected an object of model inputs (set fields.features of the input)`,
      );
    }
    walkFeatures(acc, featuresRaw, '', 0);
  }
  const predRaw = getField(rec, ctx.predField);
  if (predRaw !== undefined) {
    if (isPlainObject(predRaw)) walkPredictions(acc, predRaw, '', 0);
    else addPrediction(acc, 'value', predRaw);
  }
  if (ref !== undefined) addAbsent(acc);

  // event
  let id: string | undefined;
  if (ctx.idField !== undefined) id = scalarString(getField(rec, ctx.idField));
  if (id === undefined) id = meta.key + '-' + meta.offset.toString(36);
  const event: PredictionDocument['event'] = { id, ingested: ctx.ingested() };
  if (ctx.latencyField !== undefined) {
    let lat = getField(rec, ctx.latencyField);
    if (typeof lat === 'string') lat = parseDecimal(lat);
    if (typeof lat === 'number' && Number.isFinite(lat) && lat >= 0) event.duration = Math.round(lat * 1e6);
  }

  const doc: PredictionDocument = {
    '@timestamp': timestamp,
    event,
    model: version === undefined ? { name: modelName } : { name: modelName, version },
    features: acc.features,
    prediction: acc.prediction,
    missing: acc.missing,
    host: ctx.host,
    log: { file: { path: meta.path }, offset: meta.offset },
  };
  if (acc.unparsed !== undefined) doc.features_unparsed = acc.unparsed;
  if (acc.overflow !== undefined) doc.features_overflow = acc.overflow;
  if (acc.text !== undefined) doc.text = acc.text;
  if (ctx.labels !== undefined) doc.labels = ctx.labels as Record<string, string>;

  return { ok: true, event: { id, doc, bytes: lineBytes + meta.path.length + ctx.overheadBytes } };
}

/** Approximate encoded size of an event, for batch bounds: the line length plus the fields the agent adds. */
export function eventBytes(event: OutEvent): number {
  return event.bytes > 0 ? event.bytes : JSON.stringify(event.doc).length;
}
