/**
 * The predictions step: the record's prediction (an object flattened like features, or one
 * value as `prediction.value`), typed and coerced like features; a list of numbers is class
 * probabilities (see normalize.ts's module comment).
 */
import { addOverflow, addUnparsed, MAX_DEPTH, MAX_LIST_ITEMS, type Acc } from './accumulator.ts';
import type { Slot } from './context.ts';
import { BAD, coerce, inferType, isNA, NA, put, type Rec } from './values.ts';

export function walkPredictions(acc: Acc, obj: Rec, prefix: string, depth: number): void {
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

export function addPrediction(acc: Acc, name: string, v: unknown): void {
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
    if (!(Array.isArray(v) && addProbabilities(acc, name, v))) addUnparsed(acc, 'prediction.' + name, v);
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

/** Class probabilities (see the module comment); false when the list is not one (then unparsed). */
function addProbabilities(acc: Acc, name: string, list: unknown[]): boolean {
  const classes = acc.ctx.predictionClasses;
  if (list.length === 0 || list.length > MAX_LIST_ITEMS || (classes.length > 0 && list.length !== classes.length)) return false;
  let best = 0;
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    if (typeof p !== 'number' || !Number.isFinite(p)) return false;
    if (p > (list[best] as number)) best = i;
  }
  const whole = name === 'value';
  const base = whole ? 'proba.' : name + '.';
  for (let i = 0; i < list.length; i++) addPrediction(acc, base + (classes[i] ?? String(i)), list[i]);
  if (whole) addPrediction(acc, 'value', classes[best] ?? String(best));
  return true;
}

