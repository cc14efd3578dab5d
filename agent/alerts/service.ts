/**
 * Rules and alerts inside `driftbeat run` (when rules.path is set): the RuleRunner evaluates on
 * schedule, its results feed the AlertManager, and with Elasticsearch a lease lets one of several
 * agents evaluate while the others stand by. Both are AgentServices of agent/agent.ts.
 */
import type { Agent, AgentService } from '../agent.ts';
import { RuleRunner } from '../rules/runner.ts';
import { createElasticsearchClient } from '../sinks/elasticsearch/client.ts';
import { createLease } from './commands.ts';
import type { Lease } from './lease.ts';
import { AlertManager } from './manager.ts';
import { ElasticsearchStateStore } from './state-es.ts';
import { EmbeddedStateStore } from './state-embedded.ts';
import type { StateStore } from './state.ts';

export class RulesAndAlertsService implements AgentService {
  readonly name = 'rules';
  private runner: RuleRunner | undefined;
  private manager: AlertManager | undefined;
  private lease: Lease | undefined;
  private closeClient: (() => Promise<void>) | undefined;

  async start(agent: Agent): Promise<void> {
    const { config, logger } = agent;
    let store: StateStore;
    const es = config.output.elasticsearch;
    let client: ReturnType<typeof createElasticsearchClient> | undefined;
    if (es) {
      client = createElasticsearchClient(es, { name: 'driftbeat-alerts' });
      store = new ElasticsearchStateStore(client, { indexPrefix: es.indexPrefix });
      this.closeClient = () => client!.close();
    } else {
      // The agent's own DuckDB handle: one process, one database file.
      const s = new EmbeddedStateStore(agent.store!, { owned: false });
      await s.init();
      store = s;
    }
    this.lease = createLease(config, client ? { store, client, close: async () => {} } : { store, close: async () => {} }, logger.child({ component: 'lease' }));
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
  }

  async stop(): Promise<void> {
    await this.runner?.stop();
    await this.manager?.stop();
    await this.lease?.stop();
    await this.closeClient?.();
  }
}
