/**
 * The dependencies of rule evaluation on an output: backend, reference store and results writer.
 * A plain module so that the runner, `rules test | explain` and the watches (which read only
 * reference profiles) open them the same way without importing the runner.
 */
import type { Config } from '../config/schema.ts';
import { openOutputs, type Outputs } from '../outputs.ts';
import type { ReferenceStore } from '../reference/profile.ts';
import type { ResultsWriter } from '../results/writer.ts';
import type { Backend } from './plan.ts';

export interface RuleDeps {
  backend: Backend;
  references: ReferenceStore;
  results: ResultsWriter;
  close: () => Promise<void>;
}

/**
 * Backend, reference store and results writer of an output: the agent's own (`outputs`, left open
 * by close()), or a connection opened here for one command and closed by close().
 */
export async function buildDeps(config: Pick<Config, 'output'>, outputs?: Outputs): Promise<RuleDeps> {
  const out = outputs ?? openOutputs(config, { name: 'rules' });
  try {
    return {
      backend: await out.ruleBackend(),
      references: await out.referenceStore(),
      results: await out.resultsWriter(),
      close: async () => {
        if (!outputs) await out.close();
      },
    };
  } catch (err) {
    if (!outputs) await out.close().catch(() => undefined);
    throw err;
  }
}
