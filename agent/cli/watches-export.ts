/**
 * `driftbeat watches export -c FILE [--out DIR]`: the Watcher watches generated from rules.path
 * (agent/assets/watches.ts), one file per watch or one JSON object on stdout.
 * Exit 0 written, 2 an invalid config or rule, 1 anything else.
 */
import type { Command } from 'commander';
import { CONFIG_HELP, printOutput, subcommand } from './command.ts';

export function registerWatchesExport(program: Command): void {
  subcommand(program, 'watches', 'export')
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
      printOutput(await watchesExportCommand({ configFile: opts.config, ...(opts.out ? { out: opts.out } : {}) }));
    });
}
