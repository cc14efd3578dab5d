/**
 * Every `driftbeat` command, one file each, in the order `driftbeat --help` lists them. To add a
 * command: a file beside these (options, help with examples, an action that imports its component
 * when it runs, the exit code), then one line here.
 */
import type { Command } from 'commander';
import { registerAlertsList } from './alerts-list.ts';
import { registerAlertsSilence } from './alerts-silence.ts';
import { registerAlertsUnsilence } from './alerts-unsilence.ts';
import type { RegisterCommand } from './command.ts';
import { registerDemo } from './demo.ts';
import { registerReferenceBuild } from './reference-build.ts';
import { registerRulesExplain } from './rules-explain.ts';
import { registerRulesTest } from './rules-test.ts';
import { registerRulesValidate } from './rules-validate.ts';
import { registerRun } from './run.ts';
import { registerSetup } from './setup.ts';
import { registerVersion } from './version.ts';
import { registerWatchesExport } from './watches-export.ts';

export const COMMANDS: readonly RegisterCommand[] = [
  registerVersion,
  registerRun,
  registerReferenceBuild,
  registerDemo,
  registerRulesValidate,
  registerRulesTest,
  registerRulesExplain,
  registerAlertsList,
  registerAlertsSilence,
  registerAlertsUnsilence,
  registerSetup,
  registerWatchesExport,
];

export function registerCommands(program: Command): void {
  for (const register of COMMANDS) register(program);
}
