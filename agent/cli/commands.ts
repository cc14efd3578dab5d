/** The subcommands. Each action loads what it needs, runs, and returns; errors go to main(). */
import type { Command } from 'commander';
import { Agent } from '../agent.ts';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../telemetry/logger.ts';

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
}
