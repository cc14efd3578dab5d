/**
 * `driftbeat rules test RULE_FILE -c FILE [--from ISO --to ISO] [--json]` and
 * `driftbeat rules explain RULE_FILE -c FILE`. Each returns the text to print and the exit code
 * (0 evaluated, whatever the verdict; 1 a runtime failure or a result in error; 2 an invalid config
 * or rule); agent/cli/rules-test.ts and rules-explain.ts wire them to commander.
 *
 * On the embedded output both open the DuckDB file of output.embedded.path. DuckDB lets only one
 * process open a file, so while the agent holds it the CLI runs them inside the agent, through its
 * HTTP endpoint (agent/remote.ts).
 */
import { ConfigError, DriftbeatError, EXIT_INVALID, EXIT_OK, EXIT_RUNTIME, RuleError, type CommandOutput } from '../errors.ts';
import { loadConfig } from '../config/load.ts';
import { loadRulesDetailed } from './load.ts';
import { planRule, type RulePlan } from './plan.ts';
import type { RuleResult, TimeWindow } from './result.ts';
import { openRuleDeps } from '../outputs.ts';
import { evaluateRules, needsProfile, profileVersion, type Evaluation, type RuleDeps } from './runner.ts';
import type { Rule } from './schema.ts';
import { formatThreshold } from './threshold.ts';
import { perVersionProfile, profileVersions, versionRule } from './segments.ts';
import { toTimeWindow, windowFromBounds } from './window.ts';

export interface RulesTestOptions {
  ruleFile: string;
  configFile: string;
  from?: string;
  to?: string;
  json?: boolean;
  /** Clock for the default window (tests). */
  now?: Date;
}

export interface RulesExplainOptions {
  ruleFile: string;
  configFile: string;
  from?: string;
  to?: string;
  now?: Date;
}

function parseTime(s: string, flag: string): number {
  const t = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || !Number.isFinite(t)) {
    throw new RuleError([{ key: flag, message: `expected an ISO 8601 time such as 2024-05-01T12:00:00Z, received ${JSON.stringify(s)}` }], 'ERR_CLI_TIME');
  }
  return t;
}

/** --from/--to, else the rule's newest window due at `now` (window.ts windowFromBounds). */
export function windowOf(rule: Rule, from: string | undefined, to: string | undefined, now: Date): TimeWindow {
  const f = from !== undefined ? parseTime(from, '--from') : undefined;
  const t = to !== undefined ? parseTime(to, '--to') : undefined;
  const w = windowFromBounds(rule, f, t, now);
  if (!(+w.to > +w.from)) throw new RuleError([{ key: '--to', message: `expected --to after --from, received ${w.from.toISOString()} .. ${w.to.toISOString()}` }], 'ERR_CLI_TIME');
  return toTimeWindow(w);
}

function failure(err: unknown): CommandOutput {
  if (err instanceof ConfigError || err instanceof RuleError) return { text: `${err.message}\n`, exitCode: EXIT_INVALID, stream: 'stderr' };
  let msg = err instanceof Error ? err.message : String(err);
  if (err instanceof DriftbeatError && err.code === 'ERR_EMBEDDED_LOCKED') {
    msg += '\nrules test/explain read the embedded store, which DuckDB lets only one process open: stop the running agent, or run them on a copy of the file.';
  }
  return { text: `${msg}\n`, exitCode: EXIT_RUNTIME, stream: 'stderr' };
}

function load(opts: { ruleFile: string; configFile: string }) {
  const { config } = loadConfig(opts.configFile);
  const r = loadRulesDetailed([opts.ruleFile], { notifiers: Object.keys(config.notifiers) });
  if (r.problems.length) throw new RuleError(r.problems);
  if (!r.rules.length) throw new RuleError([{ key: '', message: `no rule in ${opts.ruleFile}` }]);
  return { config, rules: r.rules };
}

/** The JSON of one evaluation, as `rules test --json` prints it. */
export function evaluationJson(e: Evaluation): Record<string, unknown> {
  return {
    rule: e.rule.name,
    type: e.rule.type,
    window: e.window,
    status: e.status,
    results: e.results.map((r) => ({
      field: r.field, segment: r.segment, ...(r.version !== undefined ? { version: r.version } : {}), reference: r.reference, status: r.status, statistic: r.statistic, value: r.value, threshold: r.threshold,
      drifted: r.drifted, reference_count: r.reference_count, current_count: r.current_count, details: r.details,
      ...(r.error ? { error: r.error } : {}),
    })),
  };
}

function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

/** One line of what a person acts on, per rule type. */
function detailLine(r: RuleResult): string | undefined {
  const d = r.details;
  switch (r.type) {
    case 'unseen_categories': {
      const v = (d.unseen_values as { value: string; count: number }[] | undefined) ?? [];
      return v.length ? `unseen: ${v.map((x) => `${x.value} (${x.count})`).join(', ')}${d.other_unseen_count ? `, +${String(d.other_unseen_count)} more` : ''}` : undefined;
    }
    case 'missing_spike':
      return `NA share ${fmt(d.missing_share)} (${String(d.missing_count)} of ${String(d.documents)}), reference ${d.reference_missing_share === null ? 'n/a' : fmt(d.reference_missing_share)}`;
    case 'oov_rate': {
      const w = (d.top_oov_words as { word: string; documents: number }[] | undefined) ?? [];
      return `${String(d.oov_tokens)} of ${String(d.tokens)} tokens out of vocabulary${w.length ? `; new words: ${w.map((x) => `${x.word} (${x.documents})`).join(', ')}` : ''}`;
    }
    case 'distribution_shift': {
      const c = (d.top_changes as { value: string; reference_share: number; current_share: number }[] | undefined) ?? [];
      const moved = c.slice(0, 3).map((x) => `${x.value} ${fmt(x.reference_share)} -> ${fmt(x.current_share)}`).join(', ');
      return `${String(d.method)} (${String(d.score_kind)})${d.current_sampled || d.reference_sampled ? ', on a sample' : ''}${moved ? `; moved most: ${moved}` : ''}`;
    }
    case 'prediction_stats':
      return Object.entries((d.statistics as Record<string, number | null>) ?? {}).map(([k, v]) => `${k} ${v === null ? 'n/a' : fmt(v)}`).join(', ');
    case 'volume':
      return d.reference_count !== undefined ? `reference ${String(d.reference_count)}, ratio ${d.ratio === null ? 'n/a' : fmt(d.ratio)}` : undefined;
  }
}

export function formatEvaluation(e: Evaluation): string {
  const lines = [`rule ${e.rule.name} (${e.rule.type}) window [${e.window.from}, ${e.window.to}): ${e.status.toUpperCase()}`];
  for (const r of e.results) {
    const where = `${r.field}${r.segment ? ` [${r.segment}]` : ''}`;
    const head = r.status === 'error'
      ? `  ERROR    ${where}: ${r.error}`
      : r.status === 'no_data' || r.status === 'no_reference'
        ? `  ${r.status === 'no_data' ? 'no_data ' : 'no_ref  '} ${where}: ${String(r.details.reason ?? 'not enough data')}`
        : `  ${r.drifted ? 'DRIFTED' : 'ok     '}  ${where}: ${r.statistic} = ${r.value === null ? 'n/a' : fmt(r.value)} (threshold ${formatThreshold(r.threshold)}; ${r.current_count} current, ${r.reference_count ?? 'n/a'} reference)`;
    lines.push(head);
    const more = r.status === 'ok' || r.status === 'drifted' ? detailLine(r) : undefined;
    if (more) lines.push(`           ${more}`);
  }
  return lines.join('\n');
}

export async function rulesTestCommand(opts: RulesTestOptions): Promise<CommandOutput> {
  let deps: RuleDeps | undefined;
  try {
    const { config, rules } = load(opts);
    const now = opts.now ?? new Date();
    const items = rules.map((rule) => ({ rule, window: windowOf(rule, opts.from, opts.to, now) }));
    deps = await openRuleDeps(config);
    const report = await evaluateRules(items, { backend: deps.backend, references: deps.references });
    const failed = report.evaluations.some((e) => e.status === 'error');
    const text = opts.json
      ? `${JSON.stringify(report.evaluations.length === 1 ? evaluationJson(report.evaluations[0]!) : report.evaluations.map(evaluationJson), null, 2)}\n`
      : `${report.evaluations.map(formatEvaluation).join('\n\n')}\n`;
    return { text, exitCode: failed ? EXIT_RUNTIME : EXIT_OK, stream: 'stdout' };
  } catch (err) {
    return failure(err);
  } finally {
    await deps?.close().catch(() => undefined);
  }
}

function phase2Note(plan: RulePlan): string | undefined {
  if (plan.rule.type !== 'distribution_shift') return undefined;
  const binned = plan.fields.filter((f) => f.route === 'bins' || (plan.reference && !f.route && !f.problem));
  if (!binned.length) return undefined;
  return `phase 2 (after phase 1 answers): counts per Sturges bin over reference + current min/max of ${binned.map((f) => f.path).join(', ')} ` +
    '(a range aggregation / count(*) FILTER per bin), or raw values when the data turn out to need them';
}

export async function rulesExplainCommand(opts: RulesExplainOptions): Promise<CommandOutput> {
  let deps: RuleDeps | undefined;
  try {
    const { config, rules } = load(opts);
    const now = opts.now ?? new Date();
    deps = await openRuleDeps(config);
    const out: string[] = [];
    for (const [i, written] of rules.entries()) {
      const window = windowOf(written, opts.from, opts.to, now);
      // A per-version rule runs one plan per profiled version (segments.ts): show each.
      const variants = perVersionProfile(written) ? (await profileVersions(deps.references, written.model)).map((v) => versionRule(written, v)) : [written];
      if (!variants.length) out.push(`# rule ${written.name}: no profile of model "${written.model}" yet; every model.version segment would report no_reference`);
      for (const rule of variants) {
        const version = profileVersion(rule);
        const profile = rule.type === 'volume' ? undefined : await deps.references.get(rule.model, version).catch(() => undefined);
        if (!profile && needsProfile(rule)) {
          throw new DriftbeatError('ERR_RULE_NO_PROFILE', `rule "${rule.name}": no reference profile for model "${rule.model}"${version ? ` version "${version}"` : ''}; build one with: driftbeat reference build --model ${rule.model} --version ${version ?? '<version>'} <training data>`);
        }
        const plan = planRule(rule, window, profile, i);
        out.push(`# rule ${rule.name} (${rule.type})${rule !== written ? ` for model.version ${rule.version} against profile:${rule.model}@${rule.version}` : ''} on the ${deps.backend.name} backend, window [${window.from}, ${window.to})`);
        for (const f of plan.fields.filter((x) => x.problem)) out.push(`# field ${f.field}: ${f.problem}`);
        out.push(deps.backend.explain(plan.phase1));
        const note = phase2Note(plan);
        if (note) out.push(`# ${note}`);
      }
    }
    return { text: `${out.join('\n')}\n`, exitCode: EXIT_OK, stream: 'stdout' };
  } catch (err) {
    return failure(err);
  } finally {
    await deps?.close().catch(() => undefined);
  }
}

