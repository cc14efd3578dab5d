/**
 * `driftbeat rules validate [PATHS...] [-c FILE]`: every problem of the rule files at once
 * (agent/rules/validate-command.ts). Exit 0 all valid, 2 otherwise.
 */
import type { Command } from 'commander';
import { EXIT_INVALID } from '../errors.ts';
import { CONFIG_HELP, subcommand } from './command.ts';

export function registerRulesValidate(program: Command): void {
  subcommand(program, 'rules', 'validate')
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
}
