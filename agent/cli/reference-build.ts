/**
 * `driftbeat reference build -c FILE --model NAME --version V DATA`: a reference profile of training
 * data (agent/reference/command.ts), built here or, when the running agent holds the embedded
 * store, in the agent (agent/remote.ts). Exit 0 built, 2 invalid input, 1 a runtime failure.
 */
import type { Command } from 'commander';
import { ConfigError } from '../errors.ts';
import type { DataFormat } from '../reference/build.ts';
import type { ReferenceBuildCommandOptions } from '../reference/command.ts';
import type { ProgressStream } from '../reference/progress.ts';
import { CONFIG_HELP, subcommand } from './command.ts';

interface ReferenceBuildFlags {
  config: string;
  model: string;
  version: string;
  out?: string;
  format?: string;
  predictionColumns?: string;
  progress?: boolean;
  store?: boolean;
  metrics?: string;
}

/** `io` replaces stdout/stderr (tests). */
export function registerReferenceBuild(program: Command, io: { stdout?: ReferenceBuildCommandOptions['stdout']; stderr?: ProgressStream } = {}): void {
  // `--version` belongs to the root (prints driftbeat's version) unless root options are positional:
  // without this, `reference build --version 1.4.2` would print the version and exit.
  program.enablePositionalOptions();
  subcommand(program, 'reference', 'build')
    .description('profile training data (CSV, JSON lines or Parquet) and store it for rules and OOV counting')
    .argument('<data>', 'training data file: .csv, .jsonl or .parquet')
    .requiredOption('-c, --config <file>', CONFIG_HELP)
    .requiredOption('--model <name>', 'model name (model.name of an input in the config)')
    .requiredOption('--version <version>', 'model version the profile belongs to')
    .option('--out <file>', 'also write the profile as JSON')
    .option('--format <format>', 'csv, jsonl or parquet (default: from the extension)')
    .option('--prediction-columns <names>', 'comma-separated prediction columns of a flat file (default: score,label when present)')
    .option('--progress', 'always draw the progress bar (default: only when stderr is a terminal)')
    .option('--no-store', 'do not save in the configured output; only write --out')
    .option('--metrics <name=value,...>', 'validation metrics of this version (accuracy, precision, recall, f1, roc_auc, mae, ...), the reference of model_quality rules with reference: { profile: true }')
    .addHelpText('after', `
Examples:
  $ driftbeat reference build -c driftbeat.yml --model fraud --version 1.4.2 train.parquet
  $ driftbeat reference build -c driftbeat.yml --model fraud --version 1.4.2 train.csv --out fraud-1.4.2.json

With the embedded output held by a running agent, the profile is built in the agent (its HTTP endpoint).`)
    .action(async (data: string, o: ReferenceBuildFlags) => {
      const { parseMetrics, referenceBuildCommand } = await import('../reference/command.ts');
      const metrics = o.metrics === undefined ? undefined : parseMetrics(o.metrics);
      if (o.format !== undefined && !['csv', 'jsonl', 'parquet'].includes(o.format)) {
        throw new ConfigError([{ key: '--format', message: `expected csv, jsonl or parquet, received "${o.format}"` }], 'ERR_REFERENCE_FORMAT');
      }
      const args = {
        model: o.model,
        version: o.version,
        data,
        ...(o.out ? { out: o.out } : {}),
        ...(o.format ? { format: o.format as DataFormat } : {}),
        ...(o.predictionColumns ? { predictionColumns: o.predictionColumns.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        ...(o.store === false ? { noStore: true } : {}),
        ...(metrics ? { validationMetrics: metrics } : {}),
      };
      if (o.progress || o.store === false) {
        // --progress draws on this terminal; --no-store opens no store: both run here.
        await referenceBuildCommand({ configFile: o.config, ...args, ...(o.progress ? { progress: true } : {}), ...(io.stdout ? { stdout: io.stdout } : {}), ...(io.stderr ? { stderr: io.stderr } : {}) });
        return;
      }
      // The embedded store may be held by the running agent: then the profile is built there.
      const { runOrForward } = await import('../remote.ts');
      const code = await runOrForward(o.config, { command: 'reference build', args }, { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr });
      if (code !== 0) process.exitCode = code;
    });
}
