/**
 * What every command file of agent/cli shares. A command file exports one `register(program)`
 * that adds the command (its options, its help with examples, its action: a lazy import of the
 * component that does the work, then the exit code); agent/cli/commands.ts lists them in the order
 * of the help. An action imports what it needs when it runs, not when the CLI starts, so
 * `driftbeat version` loads no config code and `driftbeat run` with the Elasticsearch output never
 * loads DuckDB.
 */
import type { Command } from 'commander';
import type { CommandOutput } from '../errors.ts';

/** Adds one command to the program (and its group, e.g. `rules`, the first time). */
export type RegisterCommand = (program: Command) => void;

/** The help of every -c/--config option. */
export const CONFIG_HELP = 'config file (YAML)';

/** The command groups (`driftbeat rules ...`): their description and examples. */
const GROUPS = {
  reference: {
    description: 'reference profiles of training data',
    help: `
Examples:
  $ driftbeat reference build -c driftbeat.yml --model fraud --version 1.4.2 train.parquet`,
  },
  rules: {
    description: 'check, try and explain rule files',
    help: `
Examples:
  $ driftbeat rules validate rules/
  $ driftbeat rules test rules/fraud-unseen-categories.yml -c driftbeat.yml --json
  $ driftbeat rules explain rules/fraud-missing-spike.yml -c driftbeat.yml`,
  },
  alerts: {
    description: 'see and silence alerts (state in the configured output)',
    help: `
Examples:
  $ driftbeat alerts list -c driftbeat.yml
  $ driftbeat alerts silence fraud-input-drift --for 2h -c driftbeat.yml
  $ driftbeat alerts unsilence fraud-input-drift -c driftbeat.yml`,
  },
  watches: {
    description: 'Watcher watches generated from the rule files',
    help: `
Examples:
  $ driftbeat watches export -c driftbeat.yml --out kibana/watches`,
  },
} as const;

/** `driftbeat <group> <name>`: the group is created on first use, with its help. */
export function subcommand(program: Command, group: keyof typeof GROUPS, name: string): Command {
  const g = program.commands.find((c) => c.name() === group)
    ?? program.command(group).description(GROUPS[group].description).addHelpText('after', GROUPS[group].help);
  return g.command(name);
}

function nl(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/** Prints a command's output (warnings to stderr first) and sets the exit code. */
export function printOutput(r: CommandOutput): void {
  if (r.stderr) process.stderr.write(nl(r.stderr));
  const stream = r.stream ?? (r.exitCode === 0 ? 'stdout' : 'stderr');
  (stream === 'stdout' ? process.stdout : process.stderr).write(nl(r.text));
  process.exitCode = r.exitCode;
}
