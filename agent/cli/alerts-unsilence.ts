/**
 * `driftbeat alerts unsilence RULE -c FILE [--field F] [--segment S]`: lifts silences
 * (agent/alerts/commands.ts), here or in the running agent (agent/remote.ts).
 * Exit 0 lifted, 1 none was in force, 2 an unknown rule.
 */
import type { Command } from 'commander';
import { CONFIG_HELP, subcommand } from './command.ts';

export function registerAlertsUnsilence(program: Command): void {
  subcommand(program, 'alerts', 'unsilence')
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
      const { runOrForward } = await import('../remote.ts');
      const args = { rule, ...(opts.field !== undefined ? { field: opts.field } : {}), ...(opts.segment !== undefined ? { segment: opts.segment } : {}) };
      process.exitCode = await runOrForward(opts.config, { command: 'alerts unsilence', args });
    });
}
