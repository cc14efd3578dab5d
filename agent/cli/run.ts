/**
 * `driftbeat run -c FILE [--once] [--check]`: the agent (agent/run.ts). Exit 0 when it stopped
 * cleanly or `--check` found nothing, 2 for an invalid config or rule file, 1 on a runtime failure.
 */
import type { Command } from 'commander';
import { CONFIG_HELP, printOutput } from './command.ts';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('tail the inputs, ship documents to the output, evaluate rules when rules.path is set')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .option('--once', 'read every input to its current end, deliver everything, and exit (backfills, tests)')
    .option('--check', 'validate the config and the rule files of rules.path, and exit')
    .addHelpText('after', `
Examples:
  $ driftbeat run -c driftbeat.yml
  $ driftbeat run -c driftbeat.yml --once       # backfill, then exit 0
  $ driftbeat run -c driftbeat.yml --check      # exit 2 and list every problem of the config and its rules

Stops on SIGINT/SIGTERM: stops reading, drains in-flight batches, saves acknowledged offsets.
SIGHUP (or editing a rule file) reloads the rules; an invalid rule file is logged and skipped.`)
    .action(async (opts: { config: string; once?: boolean; check?: boolean }) => {
      const { checkCommand, runAgent } = await import('../run.ts');
      if (opts.check) printOutput(await checkCommand(opts.config));
      else await runAgent(opts.config, Boolean(opts.once));
    });
}
