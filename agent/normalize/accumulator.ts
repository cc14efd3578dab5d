/**
 * The per-line accumulator of normalize: one plain object with a fixed shape (instead of
 * closures) that the feature, text and prediction steps fill, and the helpers they share.
 */
import type { ModelState, NormalizeContext, SlotTable } from './context.ts';
import type { FeatureValue, FeatureValues, TextStats } from './document.ts';
import type { ModelReference } from './reference-info.ts';
import { isNA, put, unparsedText } from './values.ts';

/** Nesting depth of features/predictions objects that is flattened; deeper objects are kept as JSON text. */
export const MAX_DEPTH = 8;
/** Longest list kept as a multi-valued feature; longer ones (embeddings) go to features_unparsed. */
export const MAX_LIST_ITEMS = 64;

export interface Acc {
  ctx: NormalizeContext;
  state: ModelState;
  ref: ModelReference | undefined;
  table: SlotTable;
  features: Record<string, FeatureValues>;
  prediction: Record<string, FeatureValue>;
  missing: string[];
  unparsed: Record<string, string> | undefined;
  overflow: Record<string, FeatureValue> | undefined;
  text: Record<string, TextStats> | undefined;
  /** Reference names met in this record (to skip the absent-name scan when all were). */
  refFeaturesSeen: number;
  refPredictionsSeen: number;
}

/** An empty accumulator for one record of `model` (version `version`). */
export function newAcc(ctx: NormalizeContext, model: string, version: string | undefined): Acc {
  const state = ctx.modelState(model);
  const ref = ctx.referenceFor(state, version);
  return {
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
}

/** A value whose type disagrees with its name's known type: kept as text, counted. */
export function addUnparsed(acc: Acc, name: string, v: unknown): void {
  if (acc.unparsed === undefined) acc.unparsed = {};
  put(acc.unparsed, name, unparsedText(v));
  acc.ctx.stats.unparsed++;
  acc.state.unparsedMetric.inc();
}

/** A value of a name beyond max_features (NA values of such names are not recorded). */
export function addOverflow(acc: Acc, name: string, v: unknown): void {
  if (isNA(acc.ctx, v)) return;
  if (acc.overflow === undefined) acc.overflow = {};
  put(acc.overflow, name, typeof v === 'object' ? unparsedText(v) : v);
  acc.ctx.stats.overflow++;
  acc.state.overflowMetric.inc();
}

/** Reference names that did not occur in the record at all are NA too. */
export function addAbsent(acc: Acc): void {
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

