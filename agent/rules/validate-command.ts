/**
 * `driftbeat rules validate [PATHS]`: loads rule files and prints each rule as OK, or every problem
 * of every file at once. With a config, notifier names are checked and PATHS defaults to rules.path.
 * The CLI prints `output` and exits 0 when `ok`, else 2 (EXIT_INVALID).
 */
import { isAbsolute, relative } from 'node:path';
import { ConfigError, formatProblem, type Problem } from '../errors.ts';
import { loadConfig } from '../config/load.ts';
import { formatDuration } from '../config/units.ts';
import { loadRulesDetailed, type LoadRulesContext } from './load.ts';
import type { Rule } from './schema.ts';

export interface ValidateOptions {
  env?: NodeJS.ProcessEnv;
  referenceFields?: LoadRulesContext['referenceFields'];
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
  if (options.env) ctx.env = options.env;
  const result = loadRulesDetailed(rulePaths, ctx);
  const rel = (p: Problem): Problem => (p.position ? { ...p, position: { ...p.position, file: show(p.position.file) } } : p);

  for (const p of result.problems.filter((p) => !p.position)) lines.push(formatProblem(p));
  let bad = 0;
  for (const f of result.perFile) {
    if (f.rule) {
      lines.push(`OK   ${show(f.file)}: rule "${f.rule.name}" (${summary(f.rule)})`);
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
  if (!notifiers) lines.push('note: notifier names were not checked (pass the config with -c to check them)');
  lines.push(ok
    ? `${n} rule${n === 1 ? '' : 's'} OK`
    : `${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${bad} of ${n} rule file${n === 1 ? '' : 's'}`);
  return { ok, output: lines.join('\n') + '\n' };
}
