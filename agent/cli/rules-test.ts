/**
 * `driftbeat rules test RULE_FILE -c FILE [--from ISO --to ISO] [--json]`: one evaluation of a rule
 * (agent/rules/commands.ts), here or in the running agent that holds the embedded store
 * (agent/remote.ts). Exit 0 evaluated, 1 a result in error, 2 an invalid rule or config.
 */
import type { Command } from 'commander';
import { CONFIG_HELP, subcommand } from './command.ts';

export function registerRulesTest(program: Command): void {
  subcommand(program, 'rules', 'test')
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
      const { runOrForward } = await import('../remote.ts');
      process.exitCode = await runOrForward(opts.config, { command: 'rules test', args: { ruleFile, ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}), json: Boolean(opts.json) } });
    });
}
