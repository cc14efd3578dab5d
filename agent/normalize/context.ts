/**
 * What normalize keeps per input (pure data, no I/O): the input's field paths and limits, and what
 * it learns per model from the records (first-seen types, admitted feature names, slot tables per
 * reference profile). The per-line steps (normalize.ts) read it; only the type cells and the slot
 * caches change as lines go by.
 */
import type { InputConfig } from '../config/schema.ts';
import { featuresOverflow, valuesUnparsed } from '../telemetry/metrics.ts';
import { lookupReference, type FeatureType, type ModelReference, type ReferenceInfo } from './reference-info.ts';
import type { TimestampFormat } from './timestamp.ts';

export interface FieldPath {
  name: string;
  /** The dotted name split, or undefined when it has no dot. */
  parts: string[] | undefined;
}

export function fieldPath(name: string): FieldPath {
  return { name, parts: name.includes('.') ? name.split('.') : undefined };
}

type Counter = { inc(n?: number): void };

/** The first-seen type of one name of one model (null until a non-NA value is seen). */
export interface TypeCell {
  type: FeatureType | null;
}

/**
 * Everything addFeature needs to know about one name under one reference profile, resolved once
 * and cached: one Map lookup per value instead of four (types, reference, text fields, vocabulary).
 */
export interface Slot {
  /** Type from the reference, else null (then `cell` holds the first-seen type). */
  refType: FeatureType | null;
  cell: TypeCell;
  isText: boolean;
  vocabulary: ReadonlySet<string> | undefined;
}

/** The slots of one model under one reference profile (or none). */
export interface SlotTable {
  features: Map<string, Slot>;
  predictions: Map<string, Slot>;
}

/** What the context learns about one model from its records. */
export class ModelState {
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
  /** @internal fields.prediction_classes: names of the elements of a probability list. */
  readonly predictionClasses: readonly string[];
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
    this.predictionClasses = f.predictionClasses;
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
