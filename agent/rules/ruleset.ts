/**
 * The rules a running agent evaluates, and those it cannot: `loadRuleSet` reads rules.path into a
 * snapshot of the good rules and the invalid files with their problems; `RuleSetWatcher` reloads it
 * when a rule file changes and on SIGHUP. One bad rule never stops the others nor the ship path: it
 * is reported (log, metric, /healthz, an `error` result) and skipped until it is fixed.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { readYaml } from '../config/yaml.ts';
import { formatProblem, type Problem } from '../errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import { loadRulesDetailed, type LoadRulesContext } from './load.ts';
import type { RuleResult, RuleType } from './result.ts';
import type { Rule } from './schema.ts';

export interface InvalidRule {
  file: string;
  /** `name:` of the file when it has one, else the file name. */
  name: string;
  model: string;
  type: string;
  /** Each as `file:line:col: rule "name": key: message`. */
  problems: string[];
}

export interface RuleSet {
  path: string;
  rules: Rule[];
  invalid: InvalidRule[];
  /** Problems of no one file (rules.path does not exist). */
  problems: string[];
  loadedAt: Date;
}

export function loadRuleSet(path: string, ctx: LoadRulesContext = {}, now = new Date()): RuleSet {
  const r = loadRulesDetailed([path], ctx);
  return {
    path,
    rules: r.rules,
    invalid: r.perFile.filter((f) => !f.rule).map((f) => describeInvalid(f.file, f.problems, ctx.env)),
    problems: r.problems.filter((p) => !p.position).map(formatProblem),
    loadedAt: now,
  };
}

function describeInvalid(file: string, problems: Problem[], env?: NodeJS.ProcessEnv): InvalidRule {
  let obj: Record<string, unknown> = {};
  try {
    const v = readYaml(file, env ? { env } : {}).value;
    if (v && typeof v === 'object' && !Array.isArray(v)) obj = v as Record<string, unknown>;
  } catch {
    // Unreadable: the problems say so; name it after the file.
  }
  const str = (v: unknown, d: string) => (typeof v === 'string' && v ? v : d);
  return { file, name: str(obj.name, basename(file, extname(file))), model: str(obj.model, ''), type: str(obj.type, 'unknown'), problems: problems.map(formatProblem) };
}

/** Number of invalid rule files plus path problems: 0 means every rule runs. */
export function ruleSetProblemCount(s: RuleSet): number {
  return s.invalid.length + s.problems.length;
}

/** The `rules` detail of /healthz. */
export function ruleSetHealth(s: RuleSet): Record<string, unknown> {
  return {
    status: ruleSetProblemCount(s) ? 'degraded' : 'ok',
    path: s.path,
    loaded: s.rules.length,
    invalid: s.invalid.map((i) => ({ file: i.file, rule: i.name, problems: i.problems })),
    ...(s.problems.length ? { problems: s.problems } : {}),
    loaded_at: s.loadedAt.toISOString(),
  };
}

/**
 * One `error` result per invalid rule file, stored with the others so Kibana and `driftbeat-results`
 * show that the rule is not running, and why. Its window is the instant of the load (empty); a rule
 * fixed while the agent runs gets its latest window evaluated at the reload.
 */
export function invalidRuleResults(s: RuleSet): RuleResult[] {
  const at = s.loadedAt.toISOString();
  return s.invalid.map((i) => ({
    rule: i.name,
    // The written type (possibly misspelled): these results are stored and shown, never evaluated.
    type: i.type as RuleType,
    model: i.model,
    field: '*',
    segment: '',
    window: { from: at, to: at },
    status: 'error',
    statistic: 'rule_invalid',
    value: null,
    threshold: null,
    drifted: false,
    reference_count: null,
    current_count: 0,
    severity: 'warning',
    details: { rule_status: 'invalid', file: i.file, problems: i.problems },
    reference: '',
    error: `invalid rule, skipped until fixed: ${i.problems.join('; ')}`,
    evaluated_at: at,
  }));
}

export interface RuleSetWatcherOptions {
  path: string;
  load: () => RuleSet;
  onReload: (s: RuleSet, why: string) => void | Promise<void>;
  logger: Logger;
  /** Coalesces the events of one save (editors write, rename, chmod). Default 200 ms. */
  debounceMs?: number;
}

/** Reloads rules.path on file changes (chokidar) and on SIGHUP; start()/stop() as every component. */
export class RuleSetWatcher {
  private readonly o: RuleSetWatcherOptions;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly onHup = () => this.reload('SIGHUP');

  constructor(o: RuleSetWatcherOptions) {
    this.o = o;
  }

  start(): void {
    if (this.stopped || this.watcher) return;
    const target = resolve(this.o.path);
    // A rules folder that does not exist yet is watched from its parent, so creating it is seen.
    const root = existsSync(target) ? target : dirname(target);
    const w = watch(root, { ignoreInitial: true, persistent: false, depth: root === target ? 0 : 1 });
    w.on('all', (_event, p) => {
      if (resolve(p) === target || resolve(p).startsWith(target + '/') || dirname(resolve(p)) === target) this.soon();
    });
    w.on('error', (err) => this.o.logger.warn({ err }, `rules: watching ${this.o.path} failed; send SIGHUP to reload the rules`));
    this.watcher = w;
    process.on('SIGHUP', this.onHup);
  }

  private soon(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('a rule file changed'), this.o.debounceMs ?? 200);
    this.timer.unref();
  }

  /** Reloads now (serially: a reload never overlaps another). */
  reload(why: string): Promise<unknown> {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await this.o.onReload(this.o.load(), why);
      } catch (err) {
        this.o.logger.error({ err }, `rules: reload after ${why} failed; the rules loaded before go on`);
      }
    });
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    process.off('SIGHUP', this.onHup);
    const w = this.watcher;
    this.watcher = undefined;
    await w?.close();
    await this.chain.catch(() => undefined);
  }
}
