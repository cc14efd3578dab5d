/**
 * `driftbeat alerts list -c FILE [--all]`: firing and pending alerts with silences
 * (agent/alerts/commands.ts), here or in the running agent (agent/remote.ts). Exit 0 listed,
 * 2 an invalid config, 1 a runtime failure.
 */
import type { Command } from 'commander';
import { CONFIG_HELP, subcommand } from './command.ts';

export function registerAlertsList(program: Command): void {
  subcommand(program, 'alerts', 'list')
    .description('firing and pending alerts (all with --all), with silences')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--all', 'include ok and recovered alerts')
    .addHelpText('after', `
Examples:
  $ driftbeat alerts list -c driftbeat.yml
  $ driftbeat alerts list -c driftbeat.yml --all

With the embedded output held by a running agent, the command runs in the agent (its HTTP endpoint).`)
    .action(async (opts: { config: string; all?: boolean }) => {
      const { runOrForward } = await import('../remote.ts');
      process.exitCode = await runOrForward(opts.config, { command: 'alerts list', args: { all: Boolean(opts.all) } });
    });
}
