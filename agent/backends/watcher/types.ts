/**
 * The shapes of a generated watch: the body of `PUT _watcher/watch/<id>` (estypes' types where they
 * fit, narrowed where estypes lacks or over-requires a field), and what generation returns.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { Config, NotifierConfig } from '../../config/schema.ts';
import type { ReferenceProfile } from '../../reference/profile.ts';
import type { Rule } from '../../rules/schema.ts';

export type SearchBody = estypes.MsearchMultisearchBody;

/** A search input. `body` is the agent's search body (estypes' WatcherSearchInputRequestBody knows only `query`). */
export interface WatchSearchInput {
  /** Watcher's search input (estypes.WatcherSearchInputRequestDefinition), indices_options as the agent's _msearch header. */
  search: { request: { indices: string[]; indices_options: estypes.IndicesOptions; rest_total_hits_as_int: true; body: SearchBody } };
}

/**
 * One search, or a chain: `current`, then `reference` with a live reference, then for
 * distribution_shift the raw-value searches `values_<k>` / `reference_values_<k>`.
 */
export type WatchInput = WatchSearchInput | { chain: { inputs: Record<string, WatchSearchInput>[] } };

/**
 * Watcher's action with the two fields estypes lacks or over-requires: `email.account` and a Slack
 * message without `to` (the account's default channel) or attachment author.
 */
export type WatchAction = Omit<estypes.WatcherAction, 'email' | 'slack'> & {
  email?: estypes.WatcherEmailAction & { account: string };
  slack?: { account: string; message: { from: string; to?: string[]; text: string; attachments: { title: string; text: string; color: string }[] } };
};

/** The body of `PUT _watcher/watch/<id>` (estypes.WatcherPutWatchRequest's body fields). */
export interface WatchBody {
  trigger: estypes.WatcherTriggerContainer;
  input: WatchInput;
  condition: estypes.WatcherConditionContainer;
  transform: estypes.TransformContainer;
  actions: Record<string, WatchAction>;
  metadata: { name: string; driftbeat: WatchMetadata };
}

export interface WatchMetadata {
  rule: string;
  type: Rule['type'];
  model: string;
  version: string | null;
  severity: Rule['severity'];
  /** How to regenerate; JSON has no comments, so the "do not edit" header lives here. */
  generated_by: string;
  rule_file: string;
  /** `fraud@1.5.0` when numbers of a profile are baked into the condition. */
  profile: string | null;
  checks: string[];
  not_checked: { field: string; reason: string }[];
  notes: string[];
  /** sha256 of the body without this field: setup's change detection. */
  hash: string;
}

export interface GenerateWatchOptions {
  /** The rule's reference profile (thresholds that compare with reference shares and means need it). */
  profile?: ReferenceProfile;
  indexPrefix?: string;
  /** The config's notifiers (already interpolated). */
  notifiers: Record<string, NotifierConfig>;
  /** The command written into metadata.driftbeat.generated_by. */
  generatedBy?: string;
}

export interface GeneratedWatch {
  id: string;
  body: WatchBody;
  /** Set when nothing of the rule can be checked by a watch: then no watch should be installed. */
  skipped?: string;
}

/** Reads a rule's reference profile (setup and `watches export` read the configured store). */
export type ProfileLookup = (model: string, version: string | undefined) => Promise<ReferenceProfile | undefined>;

export interface GeneratedSet {
  watches: GeneratedWatch[];
  /** One line per rule left out or generated without its profile. */
  warnings: string[];
}

/** The config and its rules, loaded once (export.ts). */
export interface WatchSource {
  config: Config;
  rules: Rule[];
}
