/**
 * Elasticsearch Watcher watches generated from the rule files (one source of truth, DESIGN.md §8).
 *
 * A watch per rule, in the format of test/fixtures/elastic/es/watcher/:
 * - trigger: the rule's cron in Watcher's Quartz form (cron.ts), UTC, shifted by the rule's delay.
 * - input: a search with the SAME body that backends/elasticsearch/body.ts compiles for the rule's
 *   current-side queries, the window as date math on the trigger time (search.ts); with a live
 *   reference (offset or segment) a chain of two searches, `current` and `reference`;
 *   distribution_shift adds raw-value searches (shift.ts), model_quality the outcome searches
 *   (quality.ts).
 * - condition: compare/array_compare where they decide the same verdict as the agent, else a short
 *   Painless script (scripts.ts, each documented against evaluate.ts; conditions.ts builds its
 *   params); a transform with the same logic puts the breaches in the payload for the messages.
 * - actions: one per notifier of `notify` (actions.ts).
 * - metadata: rule, type, what is and is not checked, how to regenerate, a content hash (setup
 *   compares it: Watcher returns a watch normalized, e.g. throttle_period_in_millis).
 *
 * What a watch cannot do that the agent does: `for` (consecutive windows; Watcher keeps no state),
 * recovery messages. Fields a watch cannot check (no profile, a profile without the sample or
 * category counts it needs) are listed under metadata.driftbeat.not_checked; a rule with nothing
 * checkable gets no watch. Pure, but for generateWatches' profile lookups (injected).
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { estypes } from '@elastic/elasticsearch';
import { DriftbeatError } from '../../errors.ts';
import type { FieldProfile, ReferenceProfile } from '../../reference/profile.ts';
import { planRule, type RulePlan } from '../../rules/plan.ts';
import type { Rule } from '../../rules/schema.ts';
import { perVersionProfile, versionRule } from '../../rules/segments.ts';
import { toTimeWindow, windowAt } from '../../rules/window.ts';
import { compileSearches } from '../elasticsearch/body.ts';
import { actionsFor } from './actions.ts';
import { conditionParts, type ConditionParts } from './conditions.ts';
import { delayedSchedule, quartzCron, timeValue, triggerMinus } from './cron.ts';
import { qualityInputs } from './quality.ts';
import { conditionScript, transformScript } from './scripts.ts';
import { ANCHOR, searchInput, sideSearch, type SidePlan } from './search.ts';
import { shiftValuesInputs } from './shift.ts';
import type { GeneratedSet, GeneratedWatch, GenerateWatchOptions, ProfileLookup, WatchBody, WatchInput, WatchSearchInput, WatchSource } from './types.ts';

function fieldPlaceholderProfile(rule: Rule, version: string): ReferenceProfile {
  // Only for unseen_categories without a profile: the search names the reference document by
  // model, version and field (a terms lookup), never its values, so this stand-in compiles to the
  // same body as the real profile would.
  const fields: FieldProfile[] = rule.fields.filter((f) => !/[*?]/.test(f)).map((f) => ({
    model: rule.model, version, field: f, kind: f.startsWith('prediction.') ? 'prediction' : 'feature', type: 'cat',
    count: 0, missing_count: 0, missing_share: 0, distinct_count: 0, categories: [],
  }));
  return { model: rule.model, version, built_at: '', source: { path: '', rows: 0, format: 'window' }, fields };
}

function hashOf(body: WatchBody): string {
  const copy = structuredClone(body);
  copy.metadata.driftbeat.hash = '';
  return createHash('sha256').update(JSON.stringify(copy)).digest('hex').slice(0, 16);
}

/** The profile version a rule compares with, as the runner picks it. */
export function versionFor(rule: Rule, profile: ReferenceProfile | undefined): string | undefined {
  const ref = rule.reference;
  return (ref?.kind === 'profile' ? ref.version : undefined) ?? rule.version ?? profile?.version;
}

/** The rule planned at a fixed trigger time (ANCHOR): its instants become date math in the searches. */
function planAtAnchor(rule: Rule, given: ReferenceProfile | undefined): RulePlan {
  // The watch triggers `delay` after the window's end (window.ts), so the trigger time minus the
  // delay is the window's end, as in the agent.
  const window = toTimeWindow(windowAt(rule, ANCHOR - rule.delay));
  let profile = given;
  if (!profile && rule.type === 'unseen_categories' && (!rule.reference || rule.reference.kind === 'profile')) {
    const v = versionFor(rule, undefined);
    if (v !== undefined) profile = fieldPlaceholderProfile(rule, v);
  }
  return planRule(rule, window, profile, 0);
}

/** The watch's input: `current`, `reference` with a live reference, then the type's extra searches. */
function watchInput(rule: Rule, plan: RulePlan, indexPrefix: string): { input: WatchInput; cur: SidePlan; ref: SidePlan | undefined } {
  const cur = sideSearch(plan, 'cur', indexPrefix)!;
  const ref = plan.reference ? sideSearch(plan, 'ref', indexPrefix) : undefined;
  const curMap = new Map([[plan.window.from, triggerMinus(rule.delay, rule.window)], [plan.window.to, triggerMinus(rule.delay)]]);
  const chain: Record<string, WatchSearchInput>[] = [{ current: searchInput(cur.search, curMap) }];
  let refMap = new Map<string, string>();
  if (plan.reference) {
    const offset = rule.reference?.kind === 'offset' ? rule.reference.offset : 0;
    refMap = new Map([[plan.reference.from, triggerMinus(rule.delay, rule.window, offset)], [plan.reference.to, triggerMinus(rule.delay, offset)]]);
    if (ref) chain.push({ reference: searchInput(ref.search, refMap) });
  }
  for (const v of [...shiftValuesInputs(plan), ...qualityInputs(plan)]) {
    chain.push({ [v.name]: searchInput(compileSearches([v.query], { indexPrefix })[0]!, v.side === 'cur' ? curMap : refMap) });
  }
  return { input: chain.length === 1 ? chain[0]!.current! : { chain: { inputs: chain } }, cur, ref };
}

/** What the watch does differently from the agent, for metadata.driftbeat.notes. */
function watchNotes(rule: Rule, parts: ConditionParts, options: GenerateWatchOptions, perVersion: boolean): string[] {
  const notes = [...parts.notes];
  if (perVersion) notes.push(`group_by model.version without version: the watch checks only model.version ${rule.version}, the version of the profile it was generated with (the agent compares every version with its own profile)`);
  if (rule.for > 1) notes.push(`for: ${rule.for} is not applied: Watcher keeps no state between runs, so the watch fires on the first breached window`);
  notes.push(rule.realert !== undefined
    ? `actions repeat at most every ${timeValue(rule.realert)} (realert) while the condition holds; no recovery message`
    : 'no realert: every breached run notifies; acknowledge the watch (POST _watcher/watch/<id>/_ack) to silence it until the condition clears; no recovery message');
  if (parts.profileUsed && options.profile) notes.push(`numbers of the profile ${options.profile.model}@${options.profile.version} (built ${options.profile.built_at}) are in the condition: regenerate after rebuilding it`);
  return notes;
}

/** The condition and the transform: the type's script with the params, or never / an empty transform. */
function scriptsOf(rule: Rule, parts: ConditionParts, params: Record<string, unknown>): { condition: estypes.WatcherConditionContainer; transform: estypes.TransformContainer } {
  if (parts.checks.length === 0) {
    return { condition: { never: {} }, transform: { script: { lang: 'painless', source: "return ['breaches': [], 'breach_count': 0]", params: {} } } };
  }
  return {
    condition: parts.simple ?? { script: { lang: 'painless', source: conditionScript(rule.type), params } },
    transform: { script: { lang: 'painless', source: transformScript(rule.type), params } },
  };
}

/** The watch of one rule (see the module comment). Pure. */
export function generateWatch(written: Rule, options: GenerateWatchOptions): GeneratedWatch {
  // A rule that compares each model.version with its own profile (rules/segments.ts): a watch
  // holds one profile's numbers, so it checks that profile's version only, never the others with it.
  const perVersion = perVersionProfile(written) && options.profile !== undefined;
  const rule = perVersion ? versionRule(written, options.profile!.version) : written;
  const indexPrefix = options.indexPrefix ?? 'driftbeat';
  const id = `${indexPrefix}-${rule.name}`;
  const plan = planAtAnchor(rule, options.profile);
  const { input, cur, ref } = watchInput(rule, plan, indexPrefix);
  const parts = conditionParts(rule, plan, cur, ref, indexPrefix);
  const params = {
    chain: 'chain' in input, group_by: rule.groupBy, ref_group_by: plan.refGroupBy, min_samples: rule.minSamples,
    delay_ms: rule.delay, window_ms: rule.window, ...parts.params,
  };
  const notes = watchNotes(rule, parts, options, perVersion);
  const actions = actionsFor(rule, options.notifiers, notes);
  const body: WatchBody = {
    trigger: { schedule: { cron: quartzCron(delayedSchedule(rule)) } },
    input,
    ...scriptsOf(rule, parts, params),
    actions,
    metadata: {
      name: `driftbeat: ${rule.name}`,
      driftbeat: {
        rule: rule.name, type: rule.type, model: rule.model, version: rule.version ?? null, severity: rule.severity,
        generated_by: `${options.generatedBy ?? 'driftbeat watches export -c <config> --out <dir>'}; generated from the rule file, do not edit by hand`,
        rule_file: basename(rule.source.file),
        profile: parts.profileUsed && options.profile ? `${options.profile.model}@${options.profile.version}` : null,
        checks: parts.checks, not_checked: parts.unchecked, notes, hash: '',
      },
    },
  };
  body.metadata.driftbeat.hash = hashOf(body);
  const out: GeneratedWatch = { id, body };
  if (parts.checks.length === 0) out.skipped = `nothing of rule "${rule.name}" can be checked by a watch: ${parts.unchecked.map((u) => `${u.field}: ${u.reason}`).join('; ') || 'no condition'}`;
  return out;
}

export interface GenerateAllOptions {
  profiles?: ProfileLookup;
  generatedBy?: string;
}

/** The profile of a rule from the lookup; once the store failed, the error (the next rules do not wait for it again). */
async function profileOf(rule: Rule, lookup: ProfileLookup | undefined, failed: { message?: string }): Promise<ReferenceProfile | undefined> {
  if (rule.type === 'volume' || !lookup || failed.message !== undefined) return undefined;
  try {
    return await lookup(rule.model, versionFor(rule, undefined));
  } catch (err) {
    failed.message = err instanceof Error ? err.message : String(err);
    return undefined;
  }
}

/** Watches of every enabled rule; rules with nothing checkable are reported, not generated. */
export async function generateWatches(src: WatchSource, options: GenerateAllOptions = {}): Promise<GeneratedSet> {
  const warnings: string[] = [];
  const watches: GeneratedWatch[] = [];
  const indexPrefix = src.config.output.elasticsearch?.indexPrefix ?? 'driftbeat';
  // Once the store failed (unreachable cluster), the other rules are not made to wait for it again.
  const failed: { message?: string } = {};
  for (const rule of src.rules) {
    if (!rule.enabled) {
      warnings.push(`rule ${rule.name}: disabled, no watch`);
      continue;
    }
    const profile = await profileOf(rule, options.profiles, failed);
    const notRead = rule.type !== 'volume' && options.profiles ? failed.message : undefined;
    try {
      const w = generateWatch(rule, { notifiers: src.config.notifiers, indexPrefix, ...(profile ? { profile } : {}), ...(options.generatedBy ? { generatedBy: options.generatedBy } : {}) });
      // Without a readable store the profile may well exist: say that, not "build a profile".
      if (w.skipped) {
        warnings.push(notRead
          ? `rule ${rule.name}: no watch: its reference profile could not be read (${notRead}) and the watch needs it; run again when the cluster is reachable`
          : `rule ${rule.name}: no watch: ${w.skipped}`);
        continue;
      }
      const unchecked = w.body.metadata.driftbeat.not_checked;
      if (notRead && unchecked.length) warnings.push(`rule ${rule.name}: generated without its reference profile, which could not be read (${notRead}): ${unchecked.map((u) => u.field).join(', ')} not checked by the watch; run again when the cluster is reachable`);
      else for (const u of unchecked) warnings.push(`rule ${rule.name}: ${u.field} not checked by the watch: ${u.reason}`);
      watches.push(w);
    } catch (err) {
      if (!(err instanceof DriftbeatError)) throw err;
      warnings.push(`rule ${rule.name}: no watch: ${err.message}`);
    }
  }
  return { watches, warnings };
}

/** A watch as the file `<id>.json` holds it (the body of PUT _watcher/watch/<id>). */
export function watchJson(w: GeneratedWatch): string {
  return `${JSON.stringify(w.body, null, 2)}\n`;
}
