/**
 * `driftbeat watches export`: load the config and its rules once, read the reference profiles from
 * the configured store (bounded in time), generate (watch.ts) and write one `<id>.json` per watch
 * or print them. The I/O edge of the watch compiler; agent/cli registers the command and calls
 * watchesExportCommand.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, resolvePath } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { ConfigError, EXIT_INVALID, EXIT_OK, EXIT_RUNTIME, RuleError, type CommandOutput } from '../../errors.ts';
import type { ReferenceStore } from '../../reference/profile.ts';
import { loadRulesDetailed } from '../../rules/load.ts';
import type { Rule } from '../../rules/schema.ts';
import { redact } from '../../telemetry/redact.ts';
import type { GeneratedSet, GeneratedWatch, ProfileLookup, WatchSource } from './types.ts';
import { generateWatches, watchJson } from './watch.ts';

/** The rules of a rules path, checked against the config's notifiers; throws RuleError (exit 2) with every problem. */
export function loadWatchRules(config: Config, path: string, env?: NodeJS.ProcessEnv): Rule[] {
  const r = loadRulesDetailed([resolvePath(path)], { notifiers: Object.keys(config.notifiers), ...(env ? { env } : {}) });
  if (r.problems.length) throw new RuleError(r.problems);
  return r.rules;
}

/** Loads config and rules, each file read once; throws ConfigError / RuleError (exit 2) with every problem. */
export function loadWatchSource(configFile: string, options: { rulesPath?: string; env?: NodeJS.ProcessEnv } = {}): WatchSource {
  const { config } = loadConfig(configFile, options.env ? { env: options.env } : {});
  const path = options.rulesPath ?? config.rules.path;
  if (!path) throw new ConfigError([{ key: 'rules.path', message: 'is not set: watches are generated from the rule files (rules: { path: rules })' }], 'ERR_WATCH_NO_RULES');
  return { config, rules: loadWatchRules(config, path, options.env) };
}

/** Profiles from the configured store, each read bounded in time; failures become warnings. */
export async function storeProfiles(config: Config): Promise<{ lookup: ProfileLookup; close: () => Promise<void> }> {
  const { openRuleDeps: buildDeps } = await import('../../outputs.ts');
  let deps: Awaited<ReturnType<typeof buildDeps>> | undefined;
  const lookup: ProfileLookup = async (model, version) => {
    deps ??= await buildDeps(config);
    const store: ReferenceStore = deps.references;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 10s')), 10_000);
    });
    try {
      return await Promise.race([store.get(model, version), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { lookup, close: async () => { await deps?.close().catch(() => undefined); } };
}

/**
 * Writes `<id>.json` (the PUT body) per watch into `outDir` and removes stale generated ones
 * (files whose metadata says driftbeat generated them). Returns the files written.
 */
export function writeWatches(watches: readonly GeneratedWatch[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const keep = new Set(watches.map((w) => `${w.id}.json`));
  for (const f of readdirSync(outDir)) {
    if (!f.endsWith('.json') || keep.has(f)) continue;
    try {
      const j = JSON.parse(readFileSync(join(outDir, f), 'utf8')) as { metadata?: { driftbeat?: unknown } };
      if (j.metadata?.driftbeat) rmSync(join(outDir, f));
    } catch { /* not ours */ }
  }
  return watches.map((w) => {
    const file = join(outDir, `${w.id}.json`);
    writeFileSync(file, watchJson(w));
    return file;
  });
}

export interface ExportOptions {
  profiles?: ProfileLookup;
  rulesPath?: string;
  generatedBy?: string;
  env?: NodeJS.ProcessEnv;
}

/** `exportWatches(configFile, outDir)`: generate and write; the CLI's core. */
export async function exportWatches(configFile: string, outDir: string, options: ExportOptions = {}): Promise<GeneratedSet & { files: string[] }> {
  const src = loadWatchSource(configFile, options);
  const set = await generateWatches(src, { ...(options.profiles ? { profiles: options.profiles } : {}), generatedBy: options.generatedBy ?? `driftbeat watches export -c ${configFile} --out ${outDir}` });
  return { ...set, files: writeWatches(set.watches, outDir) };
}

/**
 * `driftbeat watches export -c FILE [--out DIR]`: with --out, one `<id>.json` per watch (the body
 * of PUT _watcher/watch/<id>); without, one JSON object `{ "<id>": body }` on stdout.
 * Exit 0 written, 2 invalid config or rules, 1 anything else.
 */
export async function watchesExportCommand(opts: { configFile: string; out?: string; profiles?: ProfileLookup | false }): Promise<CommandOutput> {
  let close: (() => Promise<void>) | undefined;
  try {
    const src = loadWatchSource(opts.configFile);
    let profiles: ProfileLookup | undefined;
    if (opts.profiles) profiles = opts.profiles;
    else if (opts.profiles === undefined) ({ lookup: profiles, close } = await storeProfiles(src.config));
    const generatedBy = `driftbeat watches export -c ${opts.configFile}${opts.out ? ` --out ${opts.out}` : ''}`;
    const set = await generateWatches(src, { ...(profiles ? { profiles } : {}), generatedBy });
    const stderr = set.warnings.length ? `${set.warnings.map(redact).join('\n')}\n` : '';
    if (opts.out) {
      const files = writeWatches(set.watches, opts.out);
      const lines = files.map((f) => `wrote ${f}`);
      lines.push(`${files.length} watch(es) written to ${opts.out}; install with driftbeat setup --watches, or PUT _watcher/watch/<file name> with the file as body`);
      return { text: `${lines.join('\n')}\n`, exitCode: EXIT_OK, ...(stderr ? { stderr } : {}) };
    }
    const all = Object.fromEntries(set.watches.map((w) => [w.id, w.body]));
    return { text: `${JSON.stringify(all, null, 2)}\n`, exitCode: EXIT_OK, ...(stderr ? { stderr } : {}) };
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RuleError) return { text: '', stderr: `${err.message}\n`, exitCode: EXIT_INVALID };
    return { text: '', stderr: `${redact(err instanceof Error ? err.message : String(err))}\n`, exitCode: EXIT_RUNTIME };
  } finally {
    await close?.();
  }
}
