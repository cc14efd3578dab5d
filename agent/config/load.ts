/** Loads `driftbeat.yml`: YAML + `${ENV}` + schema, every problem at once (ConfigError, exit 2). */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { ConfigSchema, type Config } from './schema.ts';
import { readYaml, validateYaml } from './yaml.ts';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file; relative paths in it resolve against the process cwd, as Beats do. */
  file: string;
}

export function loadConfig(file: string, options: { env?: NodeJS.ProcessEnv; text?: string } = {}): LoadedConfig {
  if (options.text === undefined && !existsSync(file)) {
    throw new ConfigError([{ key: '', message: `config file ${file} does not exist (pass one with -c, e.g. -c config.example.yml)` }], 'ERR_CONFIG_NOT_FOUND');
  }
  const parsed = readYaml(file, options);
  const { value, problems } = validateYaml(parsed, ConfigSchema);
  if (!value) throw new ConfigError(problems);
  return { config: value, file: isAbsolute(file) ? file : resolve(file) };
}

/** Resolves a path from the config against the working directory. */
export function resolvePath(p: string, base = process.cwd()): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

export { dirname };
