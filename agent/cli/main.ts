/**
 * The CLI: `driftbeat run | setup | reference build | rules validate|test|explain | watches export |
 * alerts list|silence | demo | version`, `-c/--config` everywhere.
 * Exit 0 on success, 2 on invalid config or rules (every problem listed), 1 on a runtime failure.
 */
import { Command, CommanderError } from 'commander';
import { DriftbeatError, EXIT_INVALID, EXIT_RUNTIME, exitCodeFor } from '../errors.ts';
import { redact } from '../telemetry/redact.ts';
import { registerCommands } from './commands.ts';
import { driftbeatVersion } from './version.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('driftbeat')
    .description('Watch ML models in production through their prediction logs: ship them to Elasticsearch or an embedded DuckDB store, run drift rules, send alerts.')
    .version(driftbeatVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  program.addHelpText('after', `
Examples:
  $ driftbeat demo                                  # the whole job on this machine, in about a minute
  $ driftbeat run -c driftbeat.yml                  # tail, ship and evaluate rules until Ctrl-C
  $ driftbeat run -c driftbeat.yml --once           # backfill: read every input to its end, deliver, exit
  $ driftbeat rules validate rules/
  $ driftbeat rules test rules/drift.yml -c driftbeat.yml --json

Docs: README.md. Exit codes: 0 ok, 1 runtime failure, 2 invalid config or rules.`);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors are invalid input.
      return err.exitCode === 0 ? 0 : EXIT_INVALID;
    }
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof DriftbeatError ? ` [${err.code}]` : '';
    process.stderr.write(`driftbeat: ${redact(message)}${exitCodeFor(err) === EXIT_INVALID ? '' : code}\n`);
    if (process.env.DRIFTBEAT_DEBUG && err instanceof Error && err.stack) process.stderr.write(redact(err.stack) + '\n');
    return exitCodeFor(err) ?? EXIT_RUNTIME;
  }
}
