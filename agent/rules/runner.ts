/**
 * Scheduling and evaluation of rules.
 *
 * `evaluateRules` is the engine: for a set of (rule, window) pairs it fetches the reference
 * profiles, plans every rule, runs all phase-1 queries of all rules in one backend call
 * (Elasticsearch: one _msearch), then the phase-2 queries (bins that need the phase-1 min/max) in
 * a second, and evaluates. A rule that fails at any step reports status `error`; the others go on.
 *
 * `RuleRunner` is the agent service (`rules.path` set): one timer walks the schedules with
 * window.ts `nextWindow` in UTC (a window is due `delay` after its end), so every rule due at the same second is evaluated in the same tick
 * (one _msearch per phase); results go to the results store and to `onResults` listeners (the
 * alert manager). After a restart, windows missed since the last stored result are evaluated
 * first (at most rules.max_catchup_windows per rule).
 *
 * The engine depends only on interfaces: `Backend` (query.ts), `ReferenceStore`, `ResultsWriter`,
 * reached through `RuleOutputs`. The output that implements them is chosen and opened at the edge
 * (agent/outputs.ts `openRuleDeps`, the agent's own connection in `driftbeat run`).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { resolvePath } from '../config/load.ts';
import { RuleError, formatProblem } from '../errors.ts';
import type { ReferenceProfile, ReferenceStore } from '../reference/profile.ts';
import { ruleDuration, ruleEvaluations } from '../telemetry/metrics.ts';
import type { ResultsWriter } from '../results/writer.ts';
import { evaluatePlan, planErrorResults } from './evaluate.ts';
import { loadRulesDetailed } from './load.ts';
import { planPhase2, planRule, queryId, type Answers, type Backend, type PlanOptions, type Query, type RulePlan } from './plan.ts';
import type { ResultStatus, RuleResult, TimeWindow } from './result.ts';
import type { Rule } from './schema.ts';
import { keepVersionResults, perVersionProfile, probeRule, profileVersions, uncoveredResults, versionRule } from './segments.ts';
import { nextWindow, toTimeWindow, windowFor, windowsBetween } from './window.ts';


export interface EngineDeps {
  backend: Backend;
  references: ReferenceStore;
  planOptions?: PlanOptions;
  logger?: Logger;
  now?: () => Date;
}

export interface Evaluation {
  rule: Rule;
  window: TimeWindow;
  results: RuleResult[];
  /** error > drifted > ok > no_reference > no_data over the rule's results. */
  status: ResultStatus;
}

export interface TickReport {
  evaluations: Evaluation[];
  /** Backend calls made (Elasticsearch: _msearch requests): 1, or 2 when a rule needs bins. */
  roundTrips: number;
  durationMs: number;
}

/**
 * Whether a rule cannot be planned without its reference profile: it compares with the profile
 * (the default reference). volume never reads one; model_quality only for validation metrics.
 */
export function needsProfile(rule: Rule): boolean {
  if (rule.type === 'model_quality') return rule.reference?.kind === 'profile';
  return rule.type !== 'volume' && (rule.reference === undefined || rule.reference.kind === 'profile');
}

/** The profile version a rule compares with (undefined: the newest profile of the model). */
export function profileVersion(rule: Rule): string | undefined {
  const ref = rule.reference;
  if (ref?.kind === 'profile') return ref.version ?? rule.version;
  return rule.version;
}

function overall(results: readonly RuleResult[]): ResultStatus {
  const has = (s: ResultStatus) => results.some((r) => r.status === s);
  return has('error') ? 'error' : has('drifted') ? 'drifted' : has('ok') ? 'ok' : has('no_reference') ? 'no_reference' : 'no_data';
}

/** One plan of a tick: a rule as given, one version of a per-version rule, or the probe of one (segments.ts). */
interface Unit {
  rule: Rule;
  window: TimeWindow;
  /** Index of the item (rule) it belongs to. */
  origin: number;
  probe?: { versions: string[]; rule: Rule };
  /** A version of a per-version rule: it reports only its own segment. */
  perVersion?: boolean;
}

/** The plans of a tick: per-version rules become one unit per profiled version plus a probe. */
async function unitsOf(items: readonly { rule: Rule; window: TimeWindow }[], references: ReferenceStore, now: () => Date): Promise<{ units: Unit[]; failed: Map<number, RuleResult[]> }> {
  const units: Unit[] = [];
  const failed = new Map<number, RuleResult[]>();
  for (const [origin, { rule, window }] of items.entries()) {
    if (!perVersionProfile(rule)) {
      units.push({ rule, window, origin });
      continue;
    }
    try {
      const versions = await profileVersions(references, rule.model);
      for (const v of versions) units.push({ rule: versionRule(rule, v), window, origin, perVersion: true });
      units.push({ rule: probeRule(rule), window, origin, probe: { versions, rule } });
    } catch (err) {
      failed.set(origin, errorOnly(rule, window, `listing the reference profiles of model "${rule.model}": ${(err as Error).message}`, now()));
    }
  }
  return { units, failed };
}

/** Plans every unit with its profile; a unit that cannot be planned gets its error results in `failed`. */
async function planUnits(units: readonly Unit[], deps: EngineDeps, now: () => Date, charge: (origin: number, ms: number) => void, failed: Map<number, RuleResult[]>): Promise<(RulePlan | undefined)[]> {
  const profiles = new Map<string, Promise<ReferenceProfile | undefined>>();
  const profileOf = (model: string, version: string | undefined) => {
    const key = `${model}\u0000${version ?? ''}`;
    let p = profiles.get(key);
    if (!p) profiles.set(key, (p = deps.references.get(model, version)));
    return p;
  };
  const plans: (RulePlan | undefined)[] = [];
  for (const [i, { rule, window, origin }] of units.entries()) {
    const t0 = performance.now();
    try {
      const version = profileVersion(rule);
      const required = needsProfile(rule);
      let profile: ReferenceProfile | undefined;
      try {
        profile = rule.type === 'volume' ? undefined : await profileOf(rule.model, version);
      } catch (err) {
        if (required) throw err;
      }
      if (required && !profile) {
        throw new RuleError([{ key: 'reference', message: `no reference profile for model "${rule.model}"${version ? ` version "${version}"` : ''}; build one with: driftbeat reference build --model ${rule.model} --version ${version ?? '<version>'} <training data>` }], 'ERR_RULE_NO_PROFILE');
      }
      plans[i] = planRule(rule, window, profile, i, deps.planOptions);
    } catch (err) {
      plans[i] = undefined;
      failed.set(i, errorOnly(rule, window, (err as Error).message, now()));
    }
    charge(origin, performance.now() - t0);
  }
  return plans;
}

/** Evaluates rules over their windows (see the module comment). Never rejects for a rule's own failure. */
export async function evaluateRules(items: readonly { rule: Rule; window: TimeWindow }[], deps: EngineDeps): Promise<TickReport> {
  const started = Date.now();
  const now = deps.now ?? (() => new Date());
  const { units, failed: itemFailures } = await unitsOf(items, deps.references, now);
  // Time per item (rule): its own planning and evaluation, plus its share of each backend call by query count.
  const spent = new Map<number, number>();
  const charge = (origin: number, ms: number) => spent.set(origin, (spent.get(origin) ?? 0) + ms);
  const failed = new Map<number, RuleResult[]>();
  const plans = await planUnits(units, deps, now, charge, failed);
  let roundTrips = 0;
  const answers: Answers = new Map();
  const run = async (queries: Query[], which: number[], perUnit: Map<number, number>) => {
    if (!queries.length) return;
    roundTrips++;
    const t0 = performance.now();
    try {
      for (const [k, v] of await deps.backend.execute(queries)) answers.set(k, v);
    } catch (err) {
      // The whole request failed (cluster down): every rule of this batch reports it.
      for (const i of which) failed.set(i, planErrorResults(plans[i]!, `${deps.backend.name} backend: ${(err as Error).message}`, now()));
    }
    const ms = performance.now() - t0;
    for (const [i, n] of perUnit) charge(units[i]!.origin, (ms * n) / queries.length);
  };
  const live = plans.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
  await run(live.flatMap((i) => plans[i]!.phase1), live, new Map(live.map((i) => [i, plans[i]!.phase1.length])));
  const phase2: Query[] = [];
  const with2 = new Map<number, number>();
  for (const i of live) {
    if (failed.has(i)) continue;
    try {
      const q = planPhase2(plans[i]!, answers, deps.planOptions);
      if (q.length) with2.set(i, q.length);
      phase2.push(...q);
    } catch (err) {
      failed.set(i, planErrorResults(plans[i]!, (err as Error).message, now()));
    }
  }
  await run(phase2, [...with2.keys()], with2);
  const byItem = new Map<number, RuleResult[]>(itemFailures);
  for (const [i, unit] of units.entries()) {
    const t0 = performance.now();
    const results = unitResults(unit, plans[i], failed.get(i), answers, units, now());
    byItem.set(unit.origin, [...(byItem.get(unit.origin) ?? []), ...results]);
    charge(unit.origin, performance.now() - t0);
  }
  const evaluations: Evaluation[] = items.map(({ rule, window }, i) => {
    const results = byItem.get(i) ?? [];
    return { rule, window, results, status: overall(results) };
  });
  for (const [i, e] of evaluations.entries()) {
    ruleDuration.observe({ rule: e.rule.name, status: e.status }, (spent.get(i) ?? 0) / 1000);
    ruleEvaluations.inc({ rule: e.rule.name, status: e.status });
  }
  return { evaluations, roundTrips, durationMs: Date.now() - started };
}

/** The results of one unit: its verdicts, or for a probe the segments no version covered. */
function unitResults(unit: Unit, plan: RulePlan | undefined, failure: RuleResult[] | undefined, answers: Answers, units: readonly Unit[], now: Date): RuleResult[] {
  if (unit.probe) {
    const covered = units.some((u) => u.origin === unit.origin && u.perVersion);
    const counts = plan ? answers.get(queryId(plan, 'cur', 'count')) : undefined;
    if (failure || !(counts instanceof Map)) {
      // The versions' own plans report the failure; alone, the probe reports it for the rule.
      if (covered) return [];
      const message = counts instanceof Error ? counts.message : failure?.[0]?.error ?? 'the backend gave no answer';
      return errorOnly(unit.probe.rule, unit.window, message, now);
    }
    return uncoveredResults(unit.probe.rule, unit.window, counts, unit.probe.versions, now);
  }
  let results = failure;
  if (!results) {
    try {
      results = evaluatePlan(plan!, answers, now);
    } catch (err) {
      results = planErrorResults(plan!, (err as Error).message, now);
    }
  }
  return unit.perVersion ? keepVersionResults(results) : results;
}

function errorOnly(rule: Rule, window: TimeWindow, message: string, now: Date): RuleResult[] {
  const fields = rule.type === 'volume' ? ['*'] : rule.fields;
  return fields.map((field) => {
    const r: RuleResult = {
      rule: rule.name, type: rule.type, model: rule.model, field, segment: '', window, status: 'error',
      statistic: '', value: null, threshold: null, drifted: false, reference_count: null, current_count: 0,
      severity: rule.severity, details: {}, reference: '', error: message, evaluated_at: now.toISOString(),
    };
    if (rule.version !== undefined) r.version = rule.version;
    return r;
  });
}

// ---------------------------------------------------------------------------------------------
// the agent service

export type ResultsListener = (results: RuleResult[], rules: Rule[]) => void | Promise<void>;

export interface RuleRunnerOptions {
  /** Rules to run; default: loaded from config.rules.path at start. */
  rules?: Rule[];
  /** Default: built from the agent's output (embedded store or Elasticsearch client). */
  backend?: Backend;
  references?: ReferenceStore;
  results?: ResultsWriter;
  planOptions?: PlanOptions;
  /** Clock (tests). */
  now?: () => Date;
  /** Windows evaluated per rule after a restart; default config.rules.max_catchup_windows. */
  maxCatchupWindows?: number;
  /** With several agents, only the lease holder evaluates; the others stand by (alerts/lease.ts). */
  shouldEvaluate?: () => boolean;
}

/** The longest a single setTimeout may wait (Node clamps larger values to 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the rule engine needs of an output; agent/outputs.ts `Outputs` implements it. */
export interface RuleOutputs {
  ruleBackend(): Promise<Backend>;
  referenceStore(): Promise<ReferenceStore>;
  resultsWriter(): Promise<ResultsWriter>;
}

/** What the runner is started in: the running agent (agent/agent.ts `Agent`). */
export interface RuleHost {
  config: Config;
  logger: Logger;
  /** The agent's own connection to the output, left open by the runner's stop(). */
  outputs: RuleOutputs;
}

/** Started by the rules-and-alerts service of the agent (agent/alerts/service.ts). */
export class RuleRunner {
  readonly name = 'rules';
  readonly #opts: RuleRunnerOptions;
  readonly #listeners: ResultsListener[] = [];
  #rules: Rule[] = [];
  #deps: { backend: Backend; references: ReferenceStore; results: ResultsWriter } | undefined;
  #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #started = false;
  #config: Config | undefined;
  /** setRules() was called before start(): its rules win over options.rules. */
  #replaced = false;

  constructor(options: RuleRunnerOptions = {}) {
    this.#opts = options;
  }

  /** Called with every tick's results (after they are stored), e.g. AlertManager.process. */
  onResults(cb: ResultsListener): void {
    this.#listeners.push(cb);
  }

  get rules(): readonly Rule[] {
    return this.#rules;
  }

  /** Resolves when the evaluation in progress (the catch-up at start, or a tick) is done. */
  async whenIdle(): Promise<void> {
    await this.#running.catch(() => undefined);
  }

  async start(host: RuleHost): Promise<void> {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#logger = host.logger.child({ component: 'rules' });
    const config = host.config;
    this.#config = config;
    if (!this.#replaced) this.#rules = this.#opts.rules ?? (config.rules.path ? loadRulesOrThrow(config, this.#logger) : []);
    this.#rules = this.#rules.filter((r) => r.enabled);
    this.#deps = {
      backend: this.#opts.backend ?? await host.outputs.ruleBackend(),
      references: this.#opts.references ?? await host.outputs.referenceStore(),
      results: this.#opts.results ?? await host.outputs.resultsWriter(),
    };
    this.#logger.info({ rules: this.#rules.length }, `rule runner: ${this.#rules.length} rule(s) on the ${this.#deps.backend.name} backend`);
    // Catch-up runs in the background: start() must not wait for a long evaluation.
    this.#running = this.#catchUp(config).catch((err: unknown) => this.#logger?.error({ error: err }, 'rule catch-up failed')).then(() => this.#schedule());
  }

  /**
   * Replaces the rules (a reload of rules.path): a new or changed rule gets its latest window
   * evaluated now, as at start; a removed one is no longer scheduled.
   */
  setRules(rules: readonly Rule[]): void {
    const before = new Map(this.#rules.map((r) => [r.name, JSON.stringify(r)]));
    this.#rules = rules.filter((r) => r.enabled);
    this.#replaced = true;
    const config = this.#config;
    if (!config || this.#stopped) return;
    const changed = this.#rules.filter((r) => before.get(r.name) !== JSON.stringify(r));
    clearTimeout(this.#timer);
    this.#running = this.#running
      .catch(() => undefined)
      .then(() => this.#catchUp(config, changed, true))
      .catch((err: unknown) => this.#logger?.error({ error: err }, 'rule catch-up after a reload failed'))
      .then(() => this.#schedule());
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running.catch(() => undefined);
  }

  /**
   * Evaluates `rules` (default: those with a window due exactly at `dueAt`) over their newest window
   * due at `dueAt` (window.ts windowFor); stores and publishes the results.
   */
  async tick(dueAt: Date, rules?: readonly Rule[]): Promise<TickReport> {
    const chosen = rules ?? this.#rules.filter((r) => +windowFor(r, dueAt).dueAt === +dueAt);
    const items = chosen.map((rule) => ({ rule, window: toTimeWindow(windowFor(rule, dueAt)) }));
    return this.#evaluate(items);
  }

  async #evaluate(items: { rule: Rule; window: TimeWindow }[]): Promise<TickReport> {
    const deps = this.#deps;
    if (!deps || !items.length) return { evaluations: [], roundTrips: 0, durationMs: 0 };
    if (this.#opts.shouldEvaluate && !this.#opts.shouldEvaluate()) {
      this.#logger?.debug(`standing by: another agent holds the rules lease (${items.length} evaluation(s) left to it)`);
      return { evaluations: [], roundTrips: 0, durationMs: 0 };
    }
    const engine: EngineDeps = { backend: deps.backend, references: deps.references };
    if (this.#opts.planOptions) engine.planOptions = this.#opts.planOptions;
    if (this.#logger) engine.logger = this.#logger;
    if (this.#opts.now) engine.now = this.#opts.now;
    const report = await evaluateRules(items, engine);
    const results = report.evaluations.flatMap((e) => e.results);
    for (const e of report.evaluations) {
      const errors = e.results.filter((r) => r.status === 'error');
      if (errors.length) this.#logger?.warn({ rule: e.rule.name, errors: errors.map((r) => `${r.field}: ${r.error}`) }, `rule "${e.rule.name}": ${errors.length} result(s) in error`);
    }
    try {
      await deps.results.write(results);
    } catch (err) {
      this.#logger?.error({ error: err }, `writing ${results.length} rule result(s) failed`);
    }
    for (const cb of this.#listeners) {
      try {
        await cb(results, report.evaluations.map((e) => e.rule));
      } catch (err) {
        this.#logger?.error({ error: err }, 'a rule results listener failed');
      }
    }
    return report;
  }

  /** `latestOnly`: the latest window of each rule, whatever was stored before (a new or edited rule). */
  async #catchUp(config: Config, rules: readonly Rule[] = this.#rules, latestOnly = false): Promise<void> {
    const now = this.#now();
    const max = this.#opts.maxCatchupWindows ?? config.rules.maxCatchupWindows;
    const items: { rule: Rule; window: TimeWindow }[] = [];
    for (const rule of rules) {
      const last = latestOnly ? undefined : await this.#deps!.results.lastWindowEnd(rule.name).catch(() => undefined);
      const { windows, skipped } = windowsBetween(rule, last, now, max);
      if (skipped) this.#logger?.warn({ rule: rule.name, skipped }, `rule "${rule.name}": ${skipped} missed window(s) skipped (rules.max_catchup_windows is ${max})`);
      for (const w of windows) items.push({ rule, window: toTimeWindow(w) });
    }
    if (items.length && !this.#stopped) await this.#evaluate(items);
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date();
  }

  #schedule(): void {
    // A reload reschedules while a tick may be finishing: one timer at a time.
    clearTimeout(this.#timer);
    if (this.#stopped || !this.#rules.length) return;
    const now = this.#now();
    let next: number | undefined;
    for (const r of this.#rules) {
      const t = nextWindow(r, now)?.dueAt;
      if (t && (next === undefined || +t < next)) next = +t;
    }
    if (next === undefined) return;
    const fire = new Date(next);
    this.#timer = setTimeout(() => {
      if (+this.#now() + 999 < next) return this.#schedule(); // a clamped long wait: not yet
      this.#running = this.tick(fire).catch((err: unknown) => this.#logger?.error({ error: err }, 'rule tick failed')).then(() => this.#schedule());
    }, Math.min(Math.max(0, next - +now), MAX_TIMER_MS));
    this.#timer.unref?.();
  }
}

function loadRulesOrThrow(config: Config, logger: Logger | undefined): Rule[] {
  const r = loadRulesDetailed([resolvePath(config.rules.path!)], { notifiers: Object.keys(config.notifiers) });
  if (r.problems.length) throw new RuleError(r.problems);
  for (const w of r.warnings) logger?.warn({ 'rule.name': w.subject }, `rule warning: ${formatProblem(w)}`);
  return r.rules;
}

/** A backend, reference store and results writer, and how to let them go (agent/outputs.ts `openRuleDeps`). */
export interface RuleDeps {
  backend: Backend;
  references: ReferenceStore;
  results: ResultsWriter;
  close: () => Promise<void>;
}
