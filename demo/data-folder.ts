/**
 * The demo's data folder: what it contains (driftbeat.yml, the agent's log) and the guard that
 * keeps the demo from wiping a folder it did not make.
 */
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../agent/config/load.ts';
import type { Config } from '../agent/config/schema.ts';
import { DriftbeatError } from '../agent/errors.ts';
import { packagePath } from '../agent/paths.ts';
import { createLogger } from '../agent/telemetry/logger.ts';
import { DEMO_MODEL } from './model.ts';

// realpath: the folder as the user finds it, whatever link the package was installed through.
export const DEMO_RULES_DIR = realpathSync(packagePath('demo', 'rules'));
/** A file the demo leaves in its data folder; without it the demo refuses to wipe a folder. */
export const DEMO_MARKER = '.driftbeat-demo';
const INPUT_ID = 'demo';

/** The demo's own index prefix in a search engine: emptied at every run, so runs do not mix. */
export const DEMO_INDEX_PREFIX = 'driftbeat-demo';

/** The demo's driftbeat.yml: absolute paths, so it works from any working directory. */
export function demoConfigText(dataDir: string, engineUrl?: string): string {
  const q = (s: string) => JSON.stringify(s);
  const output = engineUrl
    ? `output:
  elasticsearch:
    hosts: [${q(engineUrl)}]
    index_prefix: ${DEMO_INDEX_PREFIX}
    flush_interval: 100ms`
    : `output:
  embedded:
    path: ${q(join(dataDir, 'driftbeat.duckdb'))}
    flush_interval: 100ms`;
  return `# Written by \`driftbeat demo\`: the ${engineUrl ? `search engine (${engineUrl})` : 'embedded store'} and logs of the last demo run.
#   driftbeat rules test ${relative(process.cwd(), join(DEMO_RULES_DIR, 'demo-unseen-categories.yml'))} -c ${relative(process.cwd(), join(dataDir, 'driftbeat.yml'))} --from ... --to ...
#   driftbeat run -c ${relative(process.cwd(), join(dataDir, 'driftbeat.yml'))} --once     # ingest again, e.g. after editing the logs
inputs:
  - id: ${INPUT_ID}
    paths: [${q(join(dataDir, 'logs', '*.jsonl'))}]
    model: { name: ${DEMO_MODEL}, version_field: model_version }
    fields:
      timestamp: timestamp
      id: request_id
      features: features
      predictions: prediction
      text: [customer_note]
      latency: latency_ms
    scan_frequency: 1s
  - id: ${INPUT_ID}-labels
    kind: feedback
    paths: [${q(join(dataDir, 'logs', 'labels', '*.jsonl'))}]
    model: { name: ${DEMO_MODEL} }
    fields: { id: request_id, actual: is_fraud, timestamp: labelled_at }
    join: { prediction: label, score: score, positive: fraud, retry_interval: 200ms }
    scan_frequency: 1s
${output}
path:
  data: ${q(dataDir)}
rules:
  path: ${q(DEMO_RULES_DIR)}
notifiers:
  terminal: { type: log }
logging:
  level: info
`;
}

/** Empties `dir` if an earlier demo made it; refuses a folder with anything else in it. */
export function prepareDataDir(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      throw new DriftbeatError('ERR_DEMO_DATA_DIR', `demo data folder ${dir} is not empty and was not made by driftbeat demo; pass another folder with --data DIR (it will be created)`);
    }
    for (const e of entries) rmSync(join(dir, e), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARKER), 'This folder was made by `driftbeat demo`; the next demo run empties it.\n');
}

export type Logger = ReturnType<typeof createLogger>;

export interface Workspace {
  config: Config;
  /** What the agent runs with: no HTTP port, no rules.path. */
  runConfig: Config;
  configFile: string;
  logFile: string;
  logDest: ReturnType<typeof pino.destination>;
  logger: Logger;
  storePath: string | undefined;
}

/** Empties the data folder, writes driftbeat.yml into it and opens the agent's log file. */
export function prepareWorkspace(s: { dataDir: string; engineUrl?: string }): Workspace {
  prepareDataDir(s.dataDir);
  const configFile = join(s.dataDir, 'driftbeat.yml');
  writeFileSync(configFile, demoConfigText(s.dataDir, s.engineUrl));
  const { config } = loadConfig(configFile);
  // The demo prints its own story; the agent's JSON log goes to a file, and no port is bound. The
  // demo evaluates the rules itself on the simulated clock, so the agent gets no rules.path (its
  // runner would evaluate wall-clock windows).
  const { path: _rulesPath, ...agentRules } = config.rules;
  const runConfig: Config = { ...config, http: { ...config.http, enabled: false }, rules: agentRules };
  const logFile = join(s.dataDir, 'driftbeat.log');
  const logDest = pino.destination({ dest: logFile, sync: true });
  const logger = createLogger({ level: 'info', destination: logDest });
  return { config, runConfig, configFile, logFile, logDest, logger, storePath: config.output.embedded?.path };
}
