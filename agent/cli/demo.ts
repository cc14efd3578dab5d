/**
 * `driftbeat demo`: the whole demo on this machine (demo/run.ts), or only the demo model writing
 * prediction logs (`--write-only --out DIR`, docker-compose.yml's demo-model). Exit 0 done or
 * stopped by SIGINT/SIGTERM, 2 for invalid options, 1 on a runtime failure.
 */
import type { Command } from 'commander';
import type { DemoCommandOptions } from '../../demo/command.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the demo on this machine: a model writes drifting prediction logs, the agent ingests them into DuckDB, rules fire and recover')
    .option('--fast', 'no pacing: the simulated day as fast as the agent ingests it (CI)')
    .option('--data <dir>', 'data folder: logs, store, driftbeat.yml (default ./demo-data; emptied if an earlier demo made it)')
    .option('--write-only', 'only the demo model: write prediction logs in real time (docker compose)')
    .option('--out <dir>', 'with --write-only: folder of the JSON-lines files')
    .option('--duration <d>', 'with --write-only: stop after this long, e.g. 10m (default: until stopped)')
    .option('--rate <n>', 'with --write-only: predictions per second (default 10)')
    .option('--engine [url]', 'into Elasticsearch or OpenSearch at url instead of the embedded store; without url, start a local OpenSearch (Java 17 + Maven)')
    .addHelpText('after', `
Examples:
  $ driftbeat demo                                   # about a minute; leaves ./demo-data
  $ driftbeat demo --fast --data /tmp/demo
  $ driftbeat demo --engine                          # into a local OpenSearch it starts (npm start -- --engine)
  $ driftbeat demo --engine http://127.0.0.1:9200    # into a running Elasticsearch or OpenSearch
  $ driftbeat demo --write-only --out /logs          # the model alone, forever (docker compose)
  $ driftbeat demo --write-only --out logs --duration 10m --rate 50`)
    .action(async (opts: DemoCommandOptions) => {
      const { demoCommand } = await import('../../demo/command.ts');
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        process.exitCode = await demoCommand(opts, { signal: abort.signal });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
