/** `driftbeat version`: the version of driftbeat and of Node.js. Exit 0. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { packagePath } from '../paths.ts';

let version: string | undefined;

/** package.json's version (read once). */
export function driftbeatVersion(): string {
  version ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return version;
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the version')
    .addHelpText('after', `
Examples:
  $ driftbeat version`)
    .action(() => {
      process.stdout.write(`driftbeat ${driftbeatVersion()} (node ${process.version})\n`);
    });
}
