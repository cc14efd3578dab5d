/**
 * The features step: the record's features object flattened to dotted names, each value typed
 * (reference type, else first seen), coerced or kept as unparsed text, lists as multi-valued
 * features, names beyond max_features to features_overflow; text fields go to the text step.
 */
import { addOverflow, addUnparsed, MAX_DEPTH, MAX_LIST_ITEMS, type Acc } from './accumulator.ts';
import type { Slot } from './context.ts';
import type { FeatureValue } from './document.ts';
import { addText } from './text.ts';
import { BAD, coerce, inferType, isNA, NA, put, type Rec } from './values.ts';

export function walkFeatures(acc: Acc, obj: Rec, prefix: string, depth: number): void {
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
    if (Array.isArray(v)) addList(acc, name, v, slot);
    else addUnparsed(acc, name, v); // objects nested beyond MAX_DEPTH
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

/** A list-valued feature (see the module comment); anything else of a list goes to features_unparsed. */
function addList(acc: Acc, name: string, list: unknown[], slot: Slot): void {
  if (list.length > MAX_LIST_ITEMS) {
    addUnparsed(acc, name, list);
    return;
  }
  let type = slot.refType ?? slot.cell.type;
  const out: FeatureValue[] = [];
  for (const x of list) {
    if (isNA(acc.ctx, x)) continue;
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
      addUnparsed(acc, name, list);
      return;
    }
    if (type === null) type = inferType(x);
    const c = coerce(x, type);
    if (c === NA) continue;
    if (c === BAD) {
      addUnparsed(acc, name, list);
      return;
    }
    if (type !== 'num' && out.includes(c)) continue;
    out.push(c);
  }
  if (out.length === 0) {
    acc.missing.push(name);
    return;
  }
  if (slot.refType === null && slot.cell.type === null) slot.cell.type = type;
  put(acc.features, name, out);
}

