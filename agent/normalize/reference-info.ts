/**
 * What normalizing needs to know from a reference profile (DESIGN.md sections 2 and 4): per model
 * version, the feature (and prediction) names with their types, and the vocabulary of each text
 * field. The reference component builds these from a profile; normalize only reads them.
 *
 * Names are the flattened document names (nested objects joined with dots), without the
 * `features.` / `prediction.` prefix. Vocabulary entries must be tokens as `tokenize()` produces
 * them (ASCII letters and digits, lower case), or they will never match.
 */
export type FeatureType = 'num' | 'cat' | 'bool' | 'text';

export interface ModelReference {
  model: string;
  /** Absent: the profile applies to every version of the model that has no profile of its own. */
  version?: string;
  /** Feature name -> type. A name listed here and absent from a record is NA in that record. */
  features: ReadonlyMap<string, FeatureType>;
  /** Prediction name -> type (e.g. `score` -> num, `value` for a scalar prediction). */
  predictions?: ReadonlyMap<string, FeatureType>;
  /** Text feature name -> vocabulary (the tokens seen in the training data). */
  vocabularies?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** All known profiles, looked up by model + version. Build it with `createReferenceInfo`. */
export interface ReferenceInfo {
  readonly byKey: ReadonlyMap<string, ModelReference>;
}

// A separator that cannot occur in a model name written in YAML or JSON by accident.
const SEP = '\u0000';

export function referenceKey(model: string, version: string | undefined): string {
  return version === undefined ? model : model + SEP + version;
}

export function createReferenceInfo(models: Iterable<ModelReference>): ReferenceInfo {
  const byKey = new Map<string, ModelReference>();
  for (const m of models) byKey.set(referenceKey(m.model, m.version), m);
  return { byKey };
}

/** The profile of this exact version, else the model-wide one (no version), else undefined. */
export function lookupReference(info: ReferenceInfo | undefined, model: string, version: string | undefined): ModelReference | undefined {
  if (!info) return undefined;
  if (version !== undefined) {
    const exact = info.byKey.get(model + SEP + version);
    if (exact) return exact;
  }
  return info.byKey.get(model);
}
