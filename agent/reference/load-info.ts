/**
 * What normalize needs from the stored profiles (types and text vocabularies), so that the agent
 * fills `text.<name>.oov_count` / `oov_tokens` at ingest and types features as the reference does.
 *
 * For each model: one ModelReference per stored version, plus the most recently built profile
 * registered without a version, which applies to versions that have no profile of their own
 * (a new model version starts being watched against the last reference until it gets its own).
 */
import { createReferenceInfo, type FeatureType, type ModelReference, type ReferenceInfo } from '../normalize/reference-info.ts';
import type { ReferenceProfile, ReferenceStore } from './profile.ts';

/** The normalize view of one profile (pure). */
export function modelReference(profile: ReferenceProfile, version: string | undefined = profile.version): ModelReference {
  const features = new Map<string, FeatureType>();
  const predictions = new Map<string, FeatureType>();
  const vocabularies = new Map<string, ReadonlySet<string>>();
  for (const f of profile.fields) {
    if (f.kind === 'prediction') predictions.set(stripPrefix(f.field, 'prediction.'), f.type);
    else if (f.kind === 'text') {
      const name = stripPrefix(f.field, 'text.');
      features.set(name, 'text');
      if (f.vocabulary) vocabularies.set(name, new Set(f.vocabulary.map((v) => v.token)));
    } else features.set(stripPrefix(f.field, 'features.'), f.type);
  }
  const m: ModelReference = { model: profile.model, features, predictions, vocabularies };
  if (version !== undefined) m.version = version;
  return m;
}

function stripPrefix(field: string, prefix: string): string {
  return field.startsWith(prefix) ? field.slice(prefix.length) : field;
}

/**
 * Loads every stored profile of `models` (all models in the store when omitted) into a
 * ReferenceInfo. Returns undefined when there is none, so normalize runs as without a reference.
 */
export async function loadReferenceInfo(store: ReferenceStore, models?: Iterable<string>): Promise<ReferenceInfo | undefined> {
  const wanted = models === undefined ? undefined : new Set(models);
  const listed = (await store.list()).filter((p) => wanted === undefined || wanted.has(p.model));
  if (listed.length === 0) return undefined;
  const refs: ModelReference[] = [];
  const latest = new Map<string, { version: string; built_at: string }>();
  for (const p of listed) {
    const profile = await store.get(p.model, p.version);
    if (profile === undefined) continue;
    refs.push(modelReference(profile));
    const cur = latest.get(p.model);
    if (cur === undefined || p.built_at > cur.built_at || (p.built_at === cur.built_at && p.version > cur.version)) {
      latest.set(p.model, { version: p.version, built_at: p.built_at });
    }
  }
  for (const ref of [...refs]) {
    if (latest.get(ref.model)?.version === ref.version) refs.push(withoutVersion(ref));
  }
  return createReferenceInfo(refs);
}

function withoutVersion(ref: ModelReference): ModelReference {
  const { version: _ignored, ...rest } = ref;
  return rest;
}
