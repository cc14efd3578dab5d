/**
 * `driftbeat alerts silence RULE --for DURATION -c FILE [--field F] [--segment S]`: no messages for
 * a while (agent/alerts/commands.ts), here or in the running agent (agent/remote.ts).
 * Exit 0 silenced, 2 an unknown rule or invalid input, 1 a runtime failure.
 */
import type { Command } from 'commander';
import { CONFIG_HELP, subcommand } from './command.ts';

export function registerAlertsSilence(program: Command): void {
  subcommand(program, 'alerts', 'silence')
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
      const { runOrForward } = await import('../remote.ts');
      const args = { rule, for: opts.for, ...(opts.field !== undefined ? { field: opts.field } : {}), ...(opts.segment !== undefined ? { segment: opts.segment } : {}) };
      process.exitCode = await runOrForward(opts.config, { command: 'alerts silence', args });
    });
}
