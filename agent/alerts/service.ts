/**
 * Rules and alerts inside `driftbeat run` (when rules.path is set): the RuleRunner evaluates on
 * schedule, its results feed the AlertManager, and with Elasticsearch a lease lets one of several
 * agents evaluate while the others stand by. Both are AgentServices of agent/agent.ts.
 *
 * Neither a bad rule nor an unreachable cluster stops the agent: invalid rule files are reported
 * (log, `driftbeat_rules_invalid`, /healthz `rules`, an `error` result) and skipped; the alert
 * state store is connected in the background, with backoff, while the ship path runs; rules are
 * reloaded when a rule file changes and on SIGHUP.
 */
import type { Agent, AgentService } from '../agent.ts';
import { resolvePath } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { backoffDelay } from '../lib/backoff.ts';
import { RuleRunner } from '../rules/runner.ts';
import { invalidRuleResults, loadRuleSet, ruleSetHealth, ruleSetProblemCount, RuleSetWatcher, type RuleSet } from '../rules/ruleset.ts';
import { rulesInvalid, rulesLoaded } from '../telemetry/metrics.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Lease } from './lease.ts';
import { AlertManager } from './manager.ts';

export interface RulesAndAlertsOptions {
  /** Rules already loaded (and logged) before the agent started shipping; default: loaded at start. */
  ruleSet?: RuleSet;
  /** Backoff of the state store connection: first wait, doubled up to max. Default output.elasticsearch.backoff (1 s to 60 s). */
  connectBackoff?: { initialMs: number; maxMs: number };
}

/** Loads config.rules.path with the config's notifier names. */
export function loadConfiguredRuleSet(config: Config): RuleSet {
  return loadRuleSet(resolvePath(config.rules.path!), { notifiers: Object.keys(config.notifiers) });
}

/** Logs every problem of a rule set, one line each, and a summary. */
export function logRuleSet(logger: Logger, s: RuleSet, why?: string): void {
  for (const p of s.problems) logger.error({ 'rules.path': s.path }, `rules: ${p}`);
  for (const i of s.invalid) {
    for (const p of i.problems) logger.error({ 'rule.name': i.name, 'file.path': i.file }, `rules: ${p}`);
  }
  const bad = ruleSetProblemCount(s);
  const head = why ? `rules reloaded (${why})` : 'rules loaded';
  const msg = `${head}: ${s.rules.length} rule(s) from ${s.path}${bad ? `; ${s.invalid.length} invalid rule file(s) skipped until fixed (see the errors above)` : ''}`;
  if (bad) logger.warn({ 'rules.loaded': s.rules.length, 'rules.invalid': s.invalid.length }, msg);
  else logger.info({ 'rules.loaded': s.rules.length }, msg);
}

export class RulesAndAlertsService implements AgentService {
  readonly name = 'rules';
  private readonly options: RulesAndAlertsOptions;
  private runner: RuleRunner | undefined;
  private manager: AlertManager | undefined;
  private lease: Lease | undefined;
  private watcher: RuleSetWatcher | undefined;
  private connecting: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private ruleSet: RuleSet | undefined;

  constructor(options: RulesAndAlertsOptions = {}) {
    this.options = options;
  }

  async start(agent: Agent): Promise<void> {
    const { config, logger, outputs } = agent;
    const log = logger.child({ component: 'rules' });
    let ruleSet = this.options.ruleSet;
    if (!ruleSet) {
      ruleSet = loadConfiguredRuleSet(config);
      logRuleSet(log, ruleSet);
    }
    const apply = async (s: RuleSet) => {
      rulesLoaded.set(s.rules.length);
      rulesInvalid.set(ruleSetProblemCount(s));
      agent.setHealthDetail('rules', ruleSetHealth(s) as { status: 'ok' | 'degraded' });
      const invalid = invalidRuleResults(s);
      // Not awaited: with the cluster away the write waits for it, and start-up must not.
      if (invalid.length) {
        void outputs.resultsWriter()
          .then((w) => w.write(invalid))
          .catch((err: unknown) => log.warn({ err }, `rules: storing the ${invalid.length} invalid-rule result(s) failed: ${(err as Error).message}`));
      }
    };
    // The agent's own connection (or DuckDB handle): one process, one connection to the output.
    const store = await outputs.stateStore();
    this.lease = await outputs.lease(logger.child({ component: 'lease' }));
    this.manager = new AlertManager({ config, store, logger: logger.child({ component: 'alerts' }), lease: this.lease });
    const lease = this.lease;
    const runner = (this.runner = new RuleRunner({ rules: ruleSet.rules, shouldEvaluate: () => lease.isLeader() }));
    const manager = this.manager;
    runner.onResults(async (results, rules) => {
      await manager.process(results, rules);
    });
    this.ruleSet = ruleSet;
    await apply(ruleSet).catch((err: unknown) => log.warn({ err }, 'rules: reporting the rule set failed'));
    this.watcher = new RuleSetWatcher({
      path: ruleSet.path,
      load: () => loadConfiguredRuleSet(config),
      logger: log,
      onReload: async (s, why) => {
        logRuleSet(log, s, why);
        runner.setRules(s.rules);
        this.ruleSet = s;
        await apply(s);
        if (this.manager?.isStarted) await this.retireGone(s, log);
      },
    });
    this.watcher.start();
    // The alert state must be loaded before the first evaluation; an unreachable cluster at start
    // must not stop the ship path (a DaemonSet starting before its cluster), so connect in the background.
    this.connecting = this.connect(agent, log);
  }

  private async connect(agent: Agent, log: Logger): Promise<void> {
    const es = agent.config.output.elasticsearch;
    const { initialMs, maxMs } = this.options.connectBackoff ?? (es ? { initialMs: es.backoff.initial, maxMs: es.backoff.max } : { initialMs: 1000, maxMs: 30_000 });
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.manager!.start();
        if (attempt > 1) log.info(`alert state store reachable again (${agent.outputs.where}); rules start`);
        break;
      } catch (err) {
        const wait = backoffDelay(attempt - 1, { initial: initialMs, max: maxMs, jitter: 0 });
        log.warn({ err }, `alert state store not reachable (${(err as Error).message}); rules wait for it, shipping goes on; retrying in ${Math.round(wait / 1000)} s`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.wake = () => { clearTimeout(t); resolve(); };
        });
        this.wake = undefined;
      }
    }
    if (this.stopped) return;
    // Taken after the store answered, so the first evaluation (the latest window) is not skipped
    // for want of a lease whose first attempt failed while the cluster was away.
    await this.lease!.start();
    if (this.stopped) return;
    await this.runner!.start(agent);
    if (this.ruleSet) await this.retireGone(this.ruleSet, log);
  }

  /** Alerts of rules gone from rules.path end with reason "rule removed"; an invalid rule file still counts as its rule. */
  private async retireGone(s: RuleSet, log: Logger): Promise<void> {
    const names = [...s.rules.map((r) => r.name), ...s.invalid.map((i) => i.name)];
    await this.manager?.retireRemoved(names).catch((err: unknown) => log.error({ err }, 'resolving the alerts of removed rules failed'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.connecting?.catch(() => undefined);
    await this.watcher?.stop();
    await this.runner?.stop();
    await this.manager?.stop();
    await this.lease?.stop();
  }
}
