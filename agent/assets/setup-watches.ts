/**
 * The `watches` step of `driftbeat setup`: generate the watches of rules.path (agent/backends/watcher),
 * check the license for Watcher (GET _license), and give runSetup one resource per watch to compare
 * by content hash and PUT, inactive when the license has no Watcher.
 */
import type { estypes } from '@elastic/elasticsearch';
import { DriftbeatError } from '../errors.ts';
import { loadWatchRules, storeProfiles } from '../backends/watcher/export.ts';
import type { GeneratedSet, GeneratedWatch, ProfileLookup, WatchSource } from '../backends/watcher/types.ts';
import { generateWatches } from '../backends/watcher/watch.ts';
import { redact } from '../telemetry/redact.ts';
import type { WatchesContext, WatchesProvider } from './setup.ts';
import type { EsResource } from './templates.ts';

/** License types that include Watcher (Elastic subscriptions: gold and above, and trial). */
const WATCHER_LICENSES = new Set(['standard', 'gold', 'platinum', 'enterprise', 'trial']);

/** Whether a `GET _license` answer allows Watcher: an active license of a type that has it. */
export function licenseHasWatcher(body: unknown): { ok: boolean; type: string; status: string } {
  const l = (body as Partial<estypes.LicenseGetResponse> | undefined)?.license;
  const type = String(l?.type ?? 'unknown');
  const status = String(l?.status ?? 'unknown');
  return { ok: WATCHER_LICENSES.has(type) && status === 'active', type, status };
}

/** The setup resource of a watch: GET to compare (by metadata hash and active state), PUT to write. */
export function watchResource(w: GeneratedWatch, options: { active?: boolean } = {}): EsResource {
  const active = options.active ?? true;
  const path = `/_watcher/watch/${encodeURIComponent(w.id)}`;
  const hash = w.body.metadata.driftbeat.hash;
  return {
    kind: 'watch',
    name: w.id,
    get: { method: 'GET', path },
    put: { method: 'PUT', path: active ? path : `${path}?active=false`, body: w.body as unknown as Record<string, unknown> },
    // Watcher answers with the watch normalized (throttle_period_in_millis, defaults filled in), so
    // the content hash decides; an inactive watch is rewritten once the license allows it.
    current: (b) => {
      const got = b as { found?: boolean; watch?: { metadata?: { driftbeat?: { hash?: string } } }; status?: { state?: { active?: boolean } } } | undefined;
      if (got?.found === false) return undefined;
      const same = got?.watch?.metadata?.driftbeat?.hash === hash && (!active || got?.status?.state?.active !== false);
      return same ? w.body : { stale: true };
    },
  };
}

export interface WatchesProviderOptions {
  /** Where the license message goes (the same `out` as runSetup's). */
  out?: (line: string) => void;
  /** Reference profiles; default: read from the configured store, also in a dry run (failures become warnings). */
  profiles?: ProfileLookup | false;
  rulesPath?: string;
}

/**
 * The `watches` step of `driftbeat setup`: pass `watches: watchesSetupProvider({ out, configFile })`
 * to runSetup. Reads GET _license; without Watcher the watches are created inactive
 * (`PUT ...?active=false`) and a message says why and what to do.
 */
export function watchesSetupProvider(options: WatchesProviderOptions = {}): WatchesProvider {
  return async (ctx: WatchesContext): Promise<EsResource[]> => {
    const out = options.out ?? ((l: string) => void process.stdout.write(`${l}\n`));
    const path = options.rulesPath ?? ctx.config.rules.path;
    if (!path) throw new DriftbeatError('ERR_WATCH_NO_RULES', 'rules.path is not set in the config: watches are generated from the rule files');
    const src: WatchSource = { config: ctx.config, rules: loadWatchRules(ctx.config, path) };
    let close: (() => Promise<void>) | undefined;
    let profiles: ProfileLookup | undefined;
    if (options.profiles) profiles = options.profiles;
    // Also in a dry run: reading the profiles sends no write, and the plan then matches a real run.
    else if (options.profiles === undefined) ({ lookup: profiles, close } = await storeProfiles(ctx.config));
    let set: GeneratedSet;
    try {
      set = await generateWatches(src, { ...(profiles ? { profiles } : {}), generatedBy: 'driftbeat setup --watches' });
    } finally {
      await close?.();
    }
    for (const w of set.warnings) out(`watches: ${redact(w)}`);
    let active = true;
    if (ctx.request) {
      const lic = await ctx.request('GET', '/_license');
      const has = lic.status >= 200 && lic.status < 300 ? licenseHasWatcher(lic.body) : { ok: false, type: `unknown (HTTP ${lic.status})`, status: 'unknown' };
      if (!has.ok) {
        active = false;
        out(`watches: the cluster's license (${has.type}, ${has.status}) does not include Watcher: the ${set.watches.length} watch(es) are created inactive. ` +
          'Start a trial or upgrade (Stack Management > License management), then run driftbeat setup --watches again to activate them. ' +
          'If Elasticsearch refuses Watcher requests under this license, the agent still evaluates every rule itself; driftbeat watches export writes the watches as JSON for later.');
      }
    }
    return set.watches.map((w) => watchResource(w, { active }));
  };
}
