/**
 * `driftbeat setup -c FILE [--templates] [--kibana] [--watches] [--dry-run]`: index templates and
 * ILM, Kibana saved objects, Watcher watches (agent/assets/setup.ts). Exit 0 all steps done,
 * 2 an invalid config (or no Elasticsearch output), 1 when a step failed.
 */
import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { CONFIG_HELP } from './command.ts';

interface SetupFlags {
  config: string;
  templates?: boolean;
  kibana?: boolean;
  watches?: boolean;
  dryRun?: boolean;
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('install index templates and ILM, Kibana dashboards and Watcher watches (all by default); idempotent')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--templates', 'ILM policy, index templates and indices')
    .option('--kibana', 'import the Kibana saved objects (setup.kibana in the config)')
    .option('--watches', 'install the Watcher watches generated from the rules (rules.path)')
    .option('--dry-run', 'print every request instead of sending it')
    .addHelpText('after', `
Examples:
  $ driftbeat setup -c driftbeat.yml                 # everything; a second run changes nothing
  $ driftbeat setup -c driftbeat.yml --templates     # only templates and ILM
  $ driftbeat setup -c driftbeat.yml --dry-run       # see the requests first`)
    .action(setupAction);
}

async function setupAction(opts: SetupFlags): Promise<void> {
  const { loadConfig } = await import('../config/load.ts');
  const { config } = loadConfig(opts.config);
  if (!config.output.elasticsearch) {
    throw new ConfigError([{ key: 'output', message: 'setup needs output.elasticsearch (the embedded store needs no setup)' }]);
  }
  if (opts.kibana && !config.setup.kibana?.host) {
    throw new ConfigError([{ key: 'setup.kibana.host', message: `--kibana imports the saved objects into Kibana, and ${opts.config} names no Kibana: add setup: { kibana: { host: "http://127.0.0.1:5601" } }` }], 'ERR_SETUP_NO_KIBANA');
  }
  const { asComment, runSetup, stepsFromFlags, summarizeSetup } = await import('../assets/setup.ts');
  const { watchesSetupProvider } = await import('../assets/setup-watches.ts');
  const steps = stepsFromFlags({ templates: opts.templates, kibana: opts.kibana, watches: opts.watches });
  const write = (l: string) => void process.stdout.write(`${l}\n`);
  const report = await runSetup({
    config,
    ...(steps ? { steps } : {}),
    dryRun: Boolean(opts.dryRun),
    watches: watchesSetupProvider({ ...(opts.dryRun ? { out: (l: string) => write(asComment(l)) } : {}) }),
  });
  process.stdout.write(summarizeSetup(report, Boolean(opts.dryRun)) + '\n');
  if (!report.ok) process.exitCode = 1;
}
