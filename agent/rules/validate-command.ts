/**
 * `driftbeat rules validate [PATHS]`: loads rule files and prints each rule as OK, or every problem
 * of every file at once. With a config, notifier names are checked and PATHS defaults to rules.path;
 * validateRulesWithConfig also checks models and fields against the output's reference profiles.
 * The CLI prints `output` and exits 0 when `ok`, else 2 (EXIT_INVALID).
 */
import { isAbsolute, relative } from 'node:path';
import { ConfigError, formatProblem, type Problem } from '../errors.ts';
import { existsSync } from 'node:fs';
import { loadConfig, resolvePath } from '../config/load.ts';
import { formatDuration } from '../config/units.ts';
import { loadRulesDetailed, type LoadRulesContext } from './load.ts';
import type { Rule } from './schema.ts';
import type { Config } from '../config/schema.ts';
import { openOutputs } from '../outputs.ts';
import type { ReferenceProfile } from '../reference/profile.ts';
import { profilePaths } from './plan.ts';

export interface ValidateOptions {
  env?: NodeJS.ProcessEnv;
  referenceFields?: LoadRulesContext['referenceFields'];
  /** Model names rules may use (the config's inputs and the stored profiles); undefined skips the check. */
  models?: readonly string[];
  /** Said at the end when fields could not be checked (no store, store unreachable). */
  fieldsNote?: string;
  /** Paths in the output are shown relative to this (default: the working directory). */
  cwd?: string;
}

function summary(r: Rule): string {
  const version = r.version ? `@${r.version}` : '';
  const off = r.enabled ? '' : ', disabled';
  return `${r.type}, ${r.model}${version}, window ${formatDuration(r.window)}, schedule "${r.schedule}"${off}`;
}

export function validateRulesCommand(paths: readonly string[], configFile?: string, options: ValidateOptions = {}): { ok: boolean; output: string } {
  const cwd = options.cwd ?? process.cwd();
  const show = (f: string) => {
    const r = relative(cwd, f);
    return r && !r.startsWith('..') && !isAbsolute(r) ? r : f;
  };
  const lines: string[] = [];
  let notifiers: string[] | undefined;
  let rulePaths = [...paths];
  if (configFile !== undefined) {
    try {
      const { config } = loadConfig(configFile, options.env ? { env: options.env } : {});
      notifiers = Object.keys(config.notifiers);
      if (rulePaths.length === 0 && config.rules.path) rulePaths = [config.rules.path];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return { ok: false, output: `config ${configFile} is invalid, so the rules were not checked:\n${err.message}\n` };
    }
  }
  if (rulePaths.length === 0) {
    return { ok: false, output: 'no rule paths given: pass rule files or folders (e.g. driftbeat rules validate rules/), or a config with rules.path\n' };
  }

  const ctx: LoadRulesContext = {};
  if (notifiers) ctx.notifiers = notifiers;
  if (options.referenceFields) ctx.referenceFields = options.referenceFields;
  if (options.models) ctx.models = options.models;
  if (options.env) ctx.env = options.env;
  const result = loadRulesDetailed(rulePaths, ctx);
  const rel = (p: Problem): Problem => (p.position ? { ...p, position: { ...p.position, file: show(p.position.file) } } : p);

  for (const p of result.problems.filter((p) => !p.position)) lines.push(formatProblem(p));
  let bad = 0;
  for (const f of result.perFile) {
    if (f.rule) {
      lines.push(`OK   ${show(f.file)}: rule "${f.rule.name}" (${summary(f.rule)})`);
      for (const w of f.warnings) lines.push(`warning: ${formatProblem(rel(w))}`);
    } else {
      bad++;
      for (const p of f.problems) lines.push(formatProblem(rel(p)));
    }
  }
  const n = result.perFile.length;
  if (n === 0 && result.problems.length === 0) {
    lines.push(`no rule files (*.yml, *.yaml) in ${rulePaths.join(', ')}`);
  }
  const ok = result.problems.length === 0;
  if (!notifiers) lines.push('note: notifier names, models and fields were not checked (pass the config with -c to check them)');
  else if (options.fieldsNote) lines.push(`note: ${options.fieldsNote}`);
  lines.push(ok
    ? `${n} rule${n === 1 ? '' : 's'} OK`
    : `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${bad} of ${n} rule file${n === 1 ? '' : 's'}`);
  return { ok, output: lines.join('\n') + '\n' };
}

/**
 * `rules validate -c FILE`: as validateRulesCommand, with the models of the config's inputs and the
 * fields of the reference profiles in its output (read once here) checked too. When the output
 * cannot be read (cluster down, store held by a running agent), the fields are not checked and the
 * output says why.
 */
export async function validateRulesWithConfig(paths: readonly string[], configFile: string, options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ ok: boolean; output: string }> {
  let config: Config;
  try {
    config = loadConfig(configFile, options.env ? { env: options.env } : {}).config;
  } catch (err) {
    if (err instanceof ConfigError) return validateRulesCommand(paths, configFile, options);
    throw err;
  }
  const embedded = config.output.embedded ? resolvePath(config.output.embedded.path) : undefined;
  // No store yet (nothing shipped, no profile built): nothing to read, and nothing to create here.
  const known = embedded && !existsSync(embedded) ? { profiles: [] } : await readProfiles(config, options.timeoutMs ?? 10_000);
  const opts: ValidateOptions = { ...options };
  const inputModels = config.inputs.map((i) => i.model.name);
  // A model named by a record field can be anything, and a config without inputs names none: then models are not checked.
  if (inputModels.length && inputModels.every((m): m is string => m !== undefined) && !('error' in known)) opts.models = [...new Set([...inputModels, ...known.profiles.map((p) => p.model)])];
  if ('error' in known) {
    opts.fieldsNote = `fields and models were not checked against the reference profiles: ${known.error}`;
  } else {
    opts.referenceFields = (model, version) => {
      const of = known.profiles.filter((p) => p.model === model && (version === undefined || p.version === version));
      const newest = of.sort((a, b) => b.built_at.localeCompare(a.built_at))[0];
      return newest ? profilePaths(newest) : undefined;
    };
  }
  return validateRulesCommand(paths, configFile, opts);
}

async function readProfiles(config: Config, timeoutMs: number): Promise<{ profiles: ReferenceProfile[] } | { error: string }> {
  const out = openOutputs(config, { name: 'rules-validate' });
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = (async () => {
      const store = await out.referenceStore();
      const list = await store.list();
      const profiles = await Promise.all(list.map((p) => store.get(p.model, p.version)));
      return { profiles: profiles.filter((p): p is ReferenceProfile => p !== undefined) };
    })();
    const timeout = new Promise<{ error: string }>((resolve) => { timer = setTimeout(() => resolve({ error: `the output did not answer within ${timeoutMs / 1000} s` }), timeoutMs); });
    return await Promise.race([work, timeout]);
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  } finally {
    clearTimeout(timer);
    await out.close().catch(() => undefined);
  }
}
