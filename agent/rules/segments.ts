/**
 * Per-version references: a rule without `version` but with `group_by: [model.version]` compares
 * each version's segment with that version's own profile, never with the newest profile of the
 * model (a rebuilt challenger profile must not judge the champion). The runner expands such a
 * rule into one rule per version that has a profile (same name, so alert keys stay
 * rule + field + segment), plus one count per segment over all versions (the probe), from which
 * a segment whose version has no profile reports `no_reference` with the reason.
 */
import type { ReferenceStore } from '../reference/profile.ts';
import { parseSegmentKey, type Payload } from './plan.ts';
import type { RuleResult, TimeWindow } from './result.ts';
import type { Rule } from './schema.ts';

const VERSION = 'model.version';

/** Whether the rule's reference is resolved per model.version segment. */
export function perVersionProfile(rule: Rule): boolean {
  if (rule.type === 'volume' || rule.version !== undefined || !rule.groupBy.includes(VERSION)) return false;
  const profileOfEachVersion = rule.reference?.kind === 'profile' && rule.reference.version === undefined;
  // model_quality reads a profile only when asked to (validation metrics); without `reference` its
  // bounds are absolute and every segment is judged alike (needsProfile in runner.ts says the same).
  if (rule.type === 'model_quality') return profileOfEachVersion;
  return rule.reference === undefined || profileOfEachVersion;
}

/** Versions of `model` that have a profile, sorted. */
export async function profileVersions(references: ReferenceStore, model: string): Promise<string[]> {
  return [...new Set((await references.list()).filter((p) => p.model === model).map((p) => p.version))].sort();
}

/** The rule restricted to one version: its segment, its profile. */
export function versionRule(rule: Rule, version: string): Rule {
  return { ...rule, version };
}

/** A count per segment over every version (a volume plan of the rule's model, window and group_by). */
export function probeRule(rule: Rule): Rule {
  return { ...rule, type: 'volume', fields: ['*'], fieldsDefaulted: false, reference: undefined, minSamples: 0 } as unknown as Rule;
}

function resultFor(rule: Rule, window: TimeWindow, field: string, segment: string, count: number, now: Date): RuleResult {
  return {
    rule: rule.name, type: rule.type, model: rule.model, field, segment, window, status: 'no_data', statistic: '',
    value: null, threshold: null, drifted: false, reference_count: null, current_count: count, severity: rule.severity,
    details: {}, reference: '', evaluated_at: now.toISOString(),
  };
}

/**
 * Results of the segments no per-version rule covered: `no_reference` for a segment of a version
 * without a profile (with the command that builds one), `no_data` per field when the window has
 * no documents at all. `counts` is the probe's answer per segment key.
 */
export function uncoveredResults(rule: Rule, window: TimeWindow, counts: ReadonlyMap<string, Payload>, versions: readonly string[], now: Date): RuleResult[] {
  const fields = rule.fieldsDefaulted ? ['*'] : rule.fields;
  const out: RuleResult[] = [];
  const known = new Set(versions);
  if (counts.size === 0) {
    for (const f of fields) {
      const r = resultFor(rule, window, f, '', 0, now);
      r.details = { reason: `no documents of model "${rule.model}" in the window` };
      out.push(r);
    }
    return out;
  }
  for (const [segment, p] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const version = parseSegmentKey(segment)[VERSION];
    if (version === undefined || known.has(version)) continue;
    const n = p.kind === 'count' ? p.count : 0;
    for (const f of fields) {
      const r = resultFor(rule, window, f, segment, n, now);
      r.status = 'no_reference';
      r.version = version;
      r.details = {
        reason: `no reference profile for model "${rule.model}" version "${version}" (profiles: ${versions.length ? versions.join(', ') : 'none'}); this segment is not compared with another version's numbers. Build one with: driftbeat reference build --model ${rule.model} --version ${version} <training data>`,
      };
      out.push(r);
    }
  }
  return out;
}

/** Results of a per-version rule: a version's own plan reports only its segment (an empty one is left to the probe). */
export function keepVersionResults(results: readonly RuleResult[]): RuleResult[] {
  return results.filter((r) => !(r.segment === '' && r.status === 'no_data'));
}
