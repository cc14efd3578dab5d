/** The subcommands. Each action loads what it needs, runs, and returns; errors go to main(). */
import type { Command } from 'commander';
import { Agent } from '../agent.ts';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../telemetry/logger.ts';
import { validateRulesCommand } from '../rules/validate-command.ts';
import { ConfigError, EXIT_INVALID } from '../errors.ts';
import { registerReferenceCommands } from '../reference/command.ts';
import { runSetup, stepsFromFlags, summarizeSetup } from '../assets/setup.ts';
import { alertsList, alertsSilence, describeSilence, formatAlertList, openStateStore } from '../alerts/commands.ts';

const CONFIG_HELP = 'config file (YAML)';

export function registerCommands(program: Command): void {
  program
    .command('run')
    .description('tail the inputs, ship documents to the output, evaluate rules when rules.path is set')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--once', 'read every input to its current end, deliver everything, and exit (backfills, tests)')
    .option('--check', 'validate the config and exit')
    .addHelpText('after', `
Examples:
  $ driftbeat run -c driftbeat.yml
  $ driftbeat run -c driftbeat.yml --once       # backfill, then exit 0
  $ driftbeat run -c driftbeat.yml --check      # exit 2 and list every problem if the config is invalid

Stops on SIGINT/SIGTERM: stops reading, drains in-flight batches, saves acknowledged offsets.`)
    .action(async (opts: { config: string; once?: boolean; check?: boolean }) => {
      const { config } = loadConfig(opts.config);
      if (opts.check) {
        process.stdout.write(`${opts.config}: OK (${config.inputs.length} input(s), output ${config.output.elasticsearch ? 'elasticsearch' : 'embedded'})\n`);
        return;
      }
      const logger = createLogger({ level: config.logging.level });
      const agent = new Agent({ config, logger, once: Boolean(opts.once) });
      const onSignal = (sig: string) => {
        logger.info(`${sig} received, stopping`);
        void agent.stop();
      };
      process.once('SIGINT', () => onSignal('SIGINT'));
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      await agent.run();
    });

  registerReferenceCommands(program);
  const rules = program.command('rules').description('check, try and explain rule files');
  rules
    .command('validate')
    .description('check rule files (schema, cron, windows, notifiers, fields); every problem at once')
    .argument('[paths...]', 'rule files or folders (default: rules.path of the config)')
    .option('-c, --config <file>', `${CONFIG_HELP}: checks notifier names and finds rules.path`)
    .addHelpText('after', `
Examples:
  $ driftbeat rules validate rules/
  $ driftbeat rules validate -c driftbeat.yml          # the config's rules.path, notifiers checked too

Exit 0 when every rule is valid, 2 otherwise (each problem as file:line:col: rule "name": key: message).`)
    .action((paths: string[], opts: { config?: string }) => {
      const r = validateRulesCommand(paths, opts.config);
      (r.ok ? process.stdout : process.stderr).write(r.output);
      if (!r.ok) process.exitCode = EXIT_INVALID;
    });

  const alerts = program.command('alerts').description('see and silence alerts (state in the configured output)');
  alerts
    .command('list')
    .description('firing and pending alerts (all with --all), with silences')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--all', 'include ok and recovered alerts')
    .addHelpText('after', `
Examples:
  $ driftbeat alerts list -c driftbeat.yml
  $ driftbeat alerts list -c driftbeat.yml --all

With the embedded output, stop the agent first: DuckDB allows one process per database file.`)
    .action(async (opts: { config: string; all?: boolean }) => {
      const { config } = loadConfig(opts.config);
      const opened = await openStateStore(config);
      try {
        const rows = await alertsList(opened.store, { all: Boolean(opts.all) });
        process.stdout.write(formatAlertList(rows, await opened.store.loadSilences()) + '\n');
      } finally {
        await opened.close();
      }
    });
  alerts
    .command('silence')
    .description('send no messages for a rule for a while (state changes are still recorded)')
    .argument('<rule>', 'rule name')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
    .addHelpText('after', `
Examples:
  $ driftbeat alerts silence fraud-input-drift --for 2h -c driftbeat.yml`)
    .action(async (rule: string, opts: { config: string; for: string }) => {
      const { config } = loadConfig(opts.config);
      const opened = await openStateStore(config);
      try {
        const s = await alertsSilence(opened.store, rule, opts.for);
        process.stdout.write(describeSilence(s) + '\n');
      } finally {
        await opened.close();
      }
    });

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
    .action(async (opts: { config: string; templates?: boolean; kibana?: boolean; watches?: boolean; dryRun?: boolean }) => {
      const { config } = loadConfig(opts.config);
      if (!config.output.elasticsearch) {
        throw new ConfigError([{ key: 'output', message: 'setup needs output.elasticsearch (the embedded store needs no setup)' }]);
      }
      const steps = stepsFromFlags({ templates: opts.templates, kibana: opts.kibana, watches: opts.watches });
      const report = await runSetup({ config, ...(steps ? { steps } : {}), dryRun: Boolean(opts.dryRun) });
      process.stdout.write(summarizeSetup(report, Boolean(opts.dryRun)) + '\n');
      if (!report.ok) process.exitCode = 1;
    });
}
