/**
 * Rules and alerts inside `driftbeat run` (when rules.path is set): the RuleRunner evaluates on
 * schedule, its results feed the AlertManager, and with Elasticsearch a lease lets one of several
 * agents evaluate while the others stand by. Both are AgentServices of agent/agent.ts.
 */
import type { Agent, AgentService } from '../agent.ts';
import { RuleRunner } from '../rules/runner.ts';
import type { Lease } from './lease.ts';
import { AlertManager } from './manager.ts';

export class RulesAndAlertsService implements AgentService {
  readonly name = 'rules';
  private runner: RuleRunner | undefined;
  private manager: AlertManager | undefined;
  private lease: Lease | undefined;

  async start(agent: Agent): Promise<void> {
    const { config, logger, outputs } = agent;
    // The agent's own connection (or DuckDB handle): one process, one connection to the output.
    const store = await outputs.stateStore();
    this.lease = await outputs.lease(logger.child({ component: 'lease' }));
    await this.lease.start();
    this.manager = new AlertManager({ config, store, logger: logger.child({ component: 'alerts' }), lease: this.lease });
    await this.manager.start();
    const lease = this.lease;
    this.runner = new RuleRunner({ shouldEvaluate: () => lease.isLeader() });
    const manager = this.manager;
    this.runner.onResults(async (results, rules) => {
      await manager.process(results, rules);
    });
    await this.runner.start(agent);
    // Alerts of rules that are gone from rules.path end now, with reason "rule removed".
    await manager.retireRemoved(this.runner.rules.map((r) => r.name)).catch((err: unknown) => logger.error({ error: err }, 'resolving the alerts of removed rules failed'));
  }

  async stop(): Promise<void> {
    await this.runner?.stop();
    await this.manager?.stop();
    await this.lease?.stop();
  }
}
