/**
 * The subcommands. Each action imports what it needs when it runs (not when the CLI starts), so
 * `driftbeat run` with the Elasticsearch output never loads DuckDB, the rule engine unless rules
 * are configured, or the setup assets: less memory and a quicker start.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { ConfigError, EXIT_INVALID } from '../errors.ts';
import { registerReferenceCommands } from '../reference/command.ts';
import { registerRunCommand } from './run.ts';
import { registerDemoCommand } from '../../demo/command.ts';

const CONFIG_HELP = 'config file (YAML)';

export function registerCommands(program: Command): void {
  registerRunCommand(program, CONFIG_HELP);
  registerReferenceCommands(program);
  registerDemoCommand(program);
  const rules = program.command('rules').description('check, try and explain rule files').addHelpText('after', `
Examples:
  $ driftbeat rules validate rules/
  $ driftbeat rules test rules/fraud-unseen-categories.yml -c driftbeat.yml --json
  $ driftbeat rules explain rules/fraud-missing-spike.yml -c driftbeat.yml`);
  rules
    .command('validate')
    .description('check rule files (schema, cron, windows, notifiers, fields); every problem at once')
    .argument('[paths...]', 'rule files or folders (default: rules.path of the config)')
    .option('-c, --config <file>', `${CONFIG_HELP}: checks notifier names, models and fields (against the reference profiles in its output) and finds rules.path`)
    .addHelpText('after', `
Examples:
  $ driftbeat rules validate rules/
  $ driftbeat rules validate -c driftbeat.yml          # the config's rules.path; notifiers, models and fields checked too

Exit 0 when every rule is valid, 2 otherwise (each problem as file:line:col: rule "name": key: message).`)
    .action(async (paths: string[], opts: { config?: string }) => {
      const { validateRulesCommand, validateRulesWithConfig } = await import('../rules/validate-command.ts');
      const r = opts.config !== undefined ? await validateRulesWithConfig(paths, opts.config) : validateRulesCommand(paths);
      (r.ok ? process.stdout : process.stderr).write(r.output);
      if (!r.ok) process.exitCode = EXIT_INVALID;
    });
  rules
    .command('test')
    .description('evaluate a rule once over a window (default: its last complete window) and print the verdicts')
    .argument('<rule_file>', 'rule file')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--from <iso>', 'window start (UTC, inclusive), e.g. 2026-11-01T00:00:00Z')
    .option('--to <iso>', 'window end (UTC, exclusive)')
    .option('--json', 'print one JSON object: { rule, type, window, status, results: [...] }')
    .addHelpText('after', `
Examples:
  $ driftbeat rules test rules/fraud-unseen-categories.yml -c driftbeat.yml
  $ driftbeat rules test rules/fraud-input-drift.yml -c driftbeat.yml --from 2026-11-01T00:00:00Z --to 2026-11-02T00:00:00Z --json

The report goes to stdout, results in error included (status: error). Exit 0 when every result
was evaluated (drifted or not), 1 when a result is in error, 2 for an invalid rule or config.
With the embedded output held by a running agent, the command runs in the agent (its HTTP endpoint).`)
    .action(async (ruleFile: string, opts: { config: string; from?: string; to?: string; json?: boolean }) => {
      const { runOrForward } = await import('./remote.ts');
      process.exitCode = await runOrForward(opts.config, { command: 'rules test', args: { ruleFile, ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}), json: Boolean(opts.json) } });
    });
  rules
    .command('explain')
    .description('print the query a rule compiles to (Elasticsearch search body, or SQL on the embedded store)')
    .argument('<rule_file>', 'rule file')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--from <iso>', 'window start (UTC)')
    .option('--to <iso>', 'window end (UTC)')
    .addHelpText('after', `
Examples:
  $ driftbeat rules explain rules/fraud-missing-spike.yml -c driftbeat.yml`)
    .action(async (ruleFile: string, opts: { config: string; from?: string; to?: string }) => {
      const { runOrForward } = await import('./remote.ts');
      process.exitCode = await runOrForward(opts.config, { command: 'rules explain', args: { ruleFile, ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) } });
    });

  const alerts = program.command('alerts').description('see and silence alerts (state in the configured output)').addHelpText('after', `
Examples:
  $ driftbeat alerts list -c driftbeat.yml
  $ driftbeat alerts silence fraud-input-drift --for 2h -c driftbeat.yml
  $ driftbeat alerts unsilence fraud-input-drift -c driftbeat.yml`);
  alerts
    .command('list')
    .description('firing and pending alerts (all with --all), with silences')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--all', 'include ok and recovered alerts')
    .addHelpText('after', `
Examples:
  $ driftbeat alerts list -c driftbeat.yml
  $ driftbeat alerts list -c driftbeat.yml --all

With the embedded output held by a running agent, the command runs in the agent (its HTTP endpoint).`)
    .action(async (opts: { config: string; all?: boolean }) => {
      const { runOrForward } = await import('./remote.ts');
      process.exitCode = await runOrForward(opts.config, { command: 'alerts list', args: { all: Boolean(opts.all) } });
    });
  alerts
    .command('silence')
    .description('send no messages for a rule, or one field or segment of it, for a while (state changes are still recorded)')
    .argument('<rule>', 'rule name (of rules.path, or with stored alerts)')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
    .option('--field <field>', 'only the alerts of this field, e.g. features.country (a bare name is a feature)')
    .option('--segment <segment>', 'only the alerts of this segment, e.g. model.version=1.4.2')
    .addHelpText('after', `
Examples:
  $ driftbeat alerts silence fraud-input-drift --for 2h -c driftbeat.yml
  $ driftbeat alerts silence fraud-input-drift --field country --segment model.version=1.5.0 --for 1d -c driftbeat.yml

An unknown rule name exits 2 with the known ones. Lift a silence with: driftbeat alerts unsilence.
With the embedded output held by a running agent, the command runs in the agent (its HTTP endpoint).`)
    .action(async (rule: string, opts: { config: string; for: string; field?: string; segment?: string }) => {
      const { runOrForward } = await import('./remote.ts');
      const args = { rule, for: opts.for, ...(opts.field !== undefined ? { field: opts.field } : {}), ...(opts.segment !== undefined ? { segment: opts.segment } : {}) };
      process.exitCode = await runOrForward(opts.config, { command: 'alerts silence', args });
    });
  alerts
    .command('unsilence')
    .description('lift the silences of a rule (all of them), or of one field or segment of it')
    .argument('<rule>', 'rule name')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--field <field>', 'only the silence of this field')
    .option('--segment <segment>', 'only the silence of this segment')
    .addHelpText('after', `
Examples:
  $ driftbeat alerts unsilence fraud-input-drift -c driftbeat.yml
  $ driftbeat alerts unsilence fraud-input-drift --field country -c driftbeat.yml

Exit 0 when a silence was lifted, 1 when none was in force, 2 for an unknown rule.`)
    .action(async (rule: string, opts: { config: string; field?: string; segment?: string }) => {
      const { runOrForward } = await import('./remote.ts');
      const args = { rule, ...(opts.field !== undefined ? { field: opts.field } : {}), ...(opts.segment !== undefined ? { segment: opts.segment } : {}) };
      process.exitCode = await runOrForward(opts.config, { command: 'alerts unsilence', args });
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
    });

  program
    .command('watches')
    .description('Watcher watches generated from the rule files')
    .addHelpText('after', `
Examples:
  $ driftbeat watches export -c driftbeat.yml --out kibana/watches`)
    .command('export')
    .description('write the watches generated from rules.path as JSON (one file per watch), or print them')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--out <dir>', 'folder to write <watch id>.json files into (default: print to stdout)')
    .addHelpText('after', `
Examples:
  $ driftbeat watches export -c driftbeat.yml --out kibana/watches
  $ driftbeat watches export -c driftbeat.yml | jq .

Thresholds that compare with the training data use the stored reference profiles when reachable.`)
    .action(async (opts: { config: string; out?: string }) => {
      const { watchesExportCommand } = await import('../backends/watcher/export.ts');
      const r = await watchesExportCommand({ configFile: opts.config, ...(opts.out ? { out: opts.out } : {}) });
      if (r.stderr) process.stderr.write(r.stderr.endsWith('\n') ? r.stderr : r.stderr + '\n');
      (r.exitCode === 0 ? process.stdout : process.stderr).write(r.text.endsWith('\n') ? r.text : r.text + '\n');
      process.exitCode = r.exitCode;
    });
}
