/**
 * `driftbeat rules explain RULE_FILE -c FILE`: the search body or SQL a rule compiles to
 * (agent/rules/commands.ts), here or in the running agent (agent/remote.ts).
 * Exit 0 printed, 2 an invalid rule or config, 1 a runtime failure.
 */
import type { Command } from 'commander';
import { CONFIG_HELP, subcommand } from './command.ts';

export function registerRulesExplain(program: Command): void {
  subcommand(program, 'rules', 'explain')
    .description('print the query a rule compiles to (Elasticsearch search body, or SQL on the embedded store)')
    .argument('<rule_file>', 'rule file')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--from <iso>', 'window start (UTC)')
    .option('--to <iso>', 'window end (UTC)')
    .addHelpText('after', `
Examples:
  $ driftbeat rules explain rules/fraud-missing-spike.yml -c driftbeat.yml`)
    .action(async (ruleFile: string, opts: { config: string; from?: string; to?: string }) => {
      const { runOrForward } = await import('../remote.ts');
      process.exitCode = await runOrForward(opts.config, { command: 'rules explain', args: { ruleFile, ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) } });
    });
}
