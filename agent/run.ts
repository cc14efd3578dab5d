/**
 * `driftbeat run -c FILE [--once] [--check]` (wired by agent/cli/run.ts).
 *
 * The rules are loaded and checked before shipping starts; invalid rule files are logged and
 * skipped (the agent ships and runs the good rules). `--check` checks the config and, with
 * rules.path, every rule file with the config (notifier names, fields against the stored reference
 * profile where one is reachable), and exits 2 on any problem. The agent, its outputs and the rule
 * engine are imported when needed: `run` with the Elasticsearch output never loads DuckDB.
 */
import { existsSync } from 'node:fs';
import { loadConfig, resolvePath } from './config/load.ts';
import { positionAt, readYaml } from './config/yaml.ts';
import type { Config } from './config/schema.ts';
import { formatProblem, type CommandOutput } from './errors.ts';
import type { LoadRulesContext } from './rules/load.ts';

const CHECK_REFERENCE_TIMEOUT_MS = 10_000;

/** Runs the agent until SIGINT/SIGTERM (or, with `once`, until every input is read and delivered). */
export async function runAgent(configFile: string, once: boolean): Promise<void> {
  const { config } = loadConfig(configFile);
  const { createLogger } = await import('./telemetry/logger.ts');
  const { Agent } = await import('./agent.ts');
  const logger = createLogger({ level: config.logging.level });
  const services = [];
  // Rules run in the long-running agent only: --once is for backfills. They are loaded (and their
  // problems logged) before the first line is shipped.
  if (config.rules.path && !once) {
    const { RulesAndAlertsService, loadConfiguredRuleSet, logRuleSet } = await import('./alerts/service.ts');
    const ruleSet = loadConfiguredRuleSet(config);
    logRuleSet(logger.child({ component: 'rules' }), ruleSet);
    services.push(new RulesAndAlertsService({ ruleSet }));
  }
  const agent = new Agent({ config, configFile, logger, once, services });
  const onSignal = (sig: string) => {
    logger.info(`${sig} received, stopping`);
    void agent.stop();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  // SIGHUP must never kill the agent (Node's default), also before the rules watcher listens.
  process.on('SIGHUP', () => {
    if (!services.length) logger.info('SIGHUP received: no rules.path, nothing to reload');
  });
  // A backfill on a terminal shows its progress (lines done, lines/s, bytes left); nothing when piped.
  const progress = once
    ? await Promise.all([import('./telemetry/progress.ts'), import('./sources/file/source.ts')]).then(([{ startProgress }, { registryLag }]) =>
      startProgress(process.stderr, () => {
        const s = agent.pipeline?.stats;
        return { lines: s ? s.indexed + s.duplicates + s.deadLettered : 0, bytesLeft: registryLag() };
      }))
    : undefined;
  try {
    await agent.run();
  } finally {
    progress?.stop();
  }
}

/** `run --check`: the config, then the rules of rules.path with the config. Exit 0 or 2. */
export async function checkCommand(configFile: string, env?: NodeJS.ProcessEnv): Promise<CommandOutput> {
  const { config } = loadConfig(configFile, env ? { env } : {});
  const summary = `${config.inputs.length} input(s), output ${config.output.elasticsearch ? 'elasticsearch' : 'embedded'}`;
  if (!config.rules.path) return { text: `${configFile}: OK (${summary}, no rules.path)\n`, exitCode: 0 };
  const rulesPath = resolvePath(config.rules.path);
  if (!existsSync(rulesPath)) {
    const position = positionAt(readYaml(configFile, env ? { env } : {}), ['rules', 'path']);
    const p = formatProblem({ position, key: 'rules.path', message: `${config.rules.path} does not exist (a folder of rule files, one rule per *.yml)` });
    return { text: `${p}\n1 problem\n`, exitCode: 2 };
  }
  const lines: string[] = [];
  const ref = await referenceFields(config);
  if (ref.note) lines.push(`note: ${ref.note}`);
  const { validateRulesCommand } = await import('./rules/validate-command.ts');
  const r = validateRulesCommand([], configFile, { ...(env ? { env } : {}), ...(ref.fields ? { referenceFields: ref.fields } : {}) });
  lines.push(r.output.trimEnd());
  if (r.ok) lines.push(`${configFile}: OK (${summary}, rules from ${config.rules.path})`);
  return { text: lines.join('\n') + '\n', exitCode: r.ok ? 0 : 2 };
}

/**
 * Document paths of the stored profiles, for the field check. The store may be unreachable (the
 * cluster is down, or the agent holds the DuckDB file): then the fields are not checked, and the
 * note says why.
 */
async function referenceFields(config: Config): Promise<{ fields?: LoadRulesContext['referenceFields']; note?: string }> {
  const { openOutputs } = await import('./outputs.ts');
  const { loadReferenceInfo } = await import('./reference/load-info.ts');
  const { referenceKey } = await import('./normalize/reference-info.ts');
  const outputs = openOutputs(config, { name: 'check' });
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      outputs.referenceStore().then((s) => loadReferenceInfo(s)),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_REFERENCE_TIMEOUT_MS / 1000} s`)), CHECK_REFERENCE_TIMEOUT_MS); }),
    ]);
    if (!info) return { note: `no reference profile stored in ${outputs.where}: rule fields were not checked` };
    return {
      fields: (model, version) => {
        // A version without its own profile is not checked against another version's fields.
        const m = info.byKey.get(referenceKey(model, version));
        if (!m) return undefined;
        const text = [...m.features].filter(([, t]) => t === 'text').map(([n]) => `text.${n}`);
        return [...[...m.features.keys()].map((k) => `features.${k}`), ...text, ...[...(m.predictions?.keys() ?? [])].map((k) => `prediction.${k}`)];
      },
    };
  } catch (err) {
    return { note: `reference profiles not readable from ${outputs.where} (${(err as Error).message.split('\n')[0]}): rule fields were not checked` };
  } finally {
    clearTimeout(timer);
    await outputs.close().catch(() => undefined);
  }
}
