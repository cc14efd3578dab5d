/**
 * `driftbeat reference build -c FILE --model NAME --version V DATA [--out profile.json]`:
 * builds the profile (build.ts), saves it in the configured output's store and, with --out,
 * writes it as JSON (agent/cli/reference-build.ts wires it to commander). Also
 * `openReferenceStore(config)` for the agent and the rule backends.
 */
import { QUALITY_METRICS } from '../rules/quality-schema.ts';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig, resolvePath } from '../config/load.ts';
import type { Config, InputConfig } from '../config/schema.ts';
import { openOutputs } from '../outputs.ts';
import { loadRulesDetailed } from '../rules/load.ts';
import { ConfigError } from '../errors.ts';
import { writeFileAtomicSync } from '../lib/atomic-write.ts';
import type { DataFormat } from './build.ts';
import type { ReferenceProfile, ReferenceStore } from './profile.ts';
import type { ProgressStream } from './progress.ts';
// The builder (DuckDB) and the stores are imported when a command runs, not when the CLI starts:
// `driftbeat run` with the Elasticsearch output never loads DuckDB's native library.

export interface ReferenceBuildCommandOptions {
  configFile: string;
  model: string;
  version: string;
  /** The training data file. */
  data: string;
  /** Also write the profile as JSON here. */
  out?: string;
  /** true: always a progress bar; false: never; undefined: a bar when stderr is a terminal, else phase lines. */
  progress?: boolean;
  format?: DataFormat;
  predictionColumns?: string[];
  /** Build and write --out only, do not save in the configured store. */
  noStore?: boolean;
  /** Quality metrics of this version on validation data, for model_quality rules (`--metrics f1=0.81,recall=0.7`). */
  validationMetrics?: Record<string, number>;
  stdout?: { write(s: string): unknown };
  stderr?: ProgressStream;
  now?: () => Date;
}

export interface ReferenceBuildSummary {
  profile: ReferenceProfile;
  seconds: number;
  /** Where it was saved: `embedded store ./data/driftbeat.duckdb` or `index driftbeat-reference`. */
  savedTo?: string;
}

/** A store opened from the config's output; close() releases it (client or DuckDB file). */
export interface OpenedReferenceStore {
  store: ReferenceStore;
  where: string;
  close(): Promise<void>;
}

export async function openReferenceStore(config: Config): Promise<OpenedReferenceStore> {
  const outputs = openOutputs(config, { name: 'reference' });
  try {
    const store = await outputs.referenceStore();
    const where = outputs.kind === 'embedded' ? outputs.where : `index ${outputs.indexPrefix}-reference`;
    return { store, where, close: () => outputs.close() };
  } catch (err) {
    await outputs.close().catch(() => undefined);
    throw err;
  }
}

/** The input whose model.name is `model`; else the only input that reads the name from a field. */
export function inputForModel(config: Config, model: string, configFile = 'config'): InputConfig {
  const exact = config.inputs.find((i) => i.model.name === model && i.kind !== 'feedback');
  if (exact) return exact;
  const dynamic = config.inputs.filter((i) => i.model.nameField !== undefined);
  if (dynamic.length === 1) return dynamic[0]!;
  const known = config.inputs.map((i) => i.model.name).filter((n): n is string => n !== undefined);
  throw new ConfigError([
    {
      key: '--model',
      message: `no input of ${configFile} has model.name "${model}"${known.length ? ` (models: ${known.join(', ')})` : ''}; ` +
        'add an input for it, or pass the name of one of these models',
    },
  ], 'ERR_REFERENCE_MODEL');
}

/**
 * With an input that reads model names from a field, any --model is accepted; when neither an
 * input nor a rule of rules.path names it, it is probably misspelt: say so (the profile is built).
 */
export function unknownModelWarning(config: Config, model: string, configFile: string): string[] {
  if (config.inputs.some((i) => i.model.name === model)) return [];
  const dynamic = config.inputs.find((i) => i.model.nameField !== undefined);
  if (!dynamic) return [];
  let ruleModels: string[] = [];
  if (config.rules.path) {
    try {
      ruleModels = [...new Set(loadRulesDetailed([resolvePath(config.rules.path)]).rules.map((r) => r.model))];
    } catch {
      return [];
    }
    if (ruleModels.includes(model)) return [];
  }
  const named = [...new Set([...config.inputs.map((i) => i.model.name).filter((n): n is string => n !== undefined), ...ruleModels])];
  return [
    `${configFile} does not know model "${model}": no input names it (an input reads model names from the field "${dynamic.model.nameField}")${config.rules.path ? ' and no rule of rules.path watches it' : ''}` +
      `${named.length ? ` (known: ${named.join(', ')})` : ''}; check the spelling: the profile only applies to records whose model is exactly "${model}"`,
  ];
}

export async function referenceBuildCommand(opts: ReferenceBuildCommandOptions): Promise<ReferenceBuildSummary> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const { config } = loadConfig(opts.configFile);
  const input = inputForModel(config, opts.model, opts.configFile);
  const t0 = performance.now();
  const progress = opts.progress === false
    ? (await import('./progress.ts')).createProgressReporter({ stream: { write: () => true }, bar: false })
    : (await import('./progress.ts')).createProgressReporter({ stream: stderr, bar: opts.progress === true || stderr.isTTY === true });
  const { buildReferenceDetailed } = await import('./build.ts');
  const built = await buildReferenceDetailed({
    input,
    model: opts.model,
    version: opts.version,
    dataPath: opts.data,
    progress,
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.predictionColumns ? { predictionColumns: opts.predictionColumns } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const profile = built.profile;
  if (opts.validationMetrics) profile.source.validation_metrics = opts.validationMetrics;
  for (const s of built.skipped) stderr.write(`reference: skipped "${s.name}": ${s.reason}\n`);
  const { reviewProfile } = await import('./review.ts');
  const warnings = [
    ...unknownModelWarning(config, opts.model, opts.configFile),
    ...reviewProfile(profile, { dataPath: opts.data, layout: built.layout, predictionColumnsGiven: opts.predictionColumns !== undefined }),
  ];
  for (const w of warnings) stderr.write(`reference: warning: ${w}\n`);

  let savedTo: string | undefined;
  if (!opts.noStore) {
    const opened = await openReferenceStore(config);
    try {
      await opened.store.save(profile);
      savedTo = opened.where;
    } finally {
      await opened.close();
    }
  }
  if (opts.out) writeJsonAtomic(resolve(opts.out), profile);
  const seconds = (performance.now() - t0) / 1000;

  const kinds = (k: string) => profile.fields.filter((f) => f.kind === k).length;
  stdout.write(
    `reference ${profile.model}@${profile.version}: ${profile.fields.length} fields (${kinds('feature')} features, ${kinds('text')} text, ${kinds('prediction')} predictions) ` +
      `from ${profile.source.rows} rows of ${opts.data} (${built.layout} layout) in ${seconds.toFixed(2)} s` +
      `${savedTo ? `; saved to ${savedTo}` : ''}${opts.out ? `; written to ${opts.out}` : ''}\n`,
  );
  return { profile, seconds, ...(savedTo ? { savedTo } : {}) };
}

function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomicSync(path, JSON.stringify(value, null, 2) + '\n');
}

/** `accuracy=0.93,f1=0.81` -> { accuracy: 0.93, f1: 0.81 }; names are model_quality metrics. */
export function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [name, value, ...rest] = part.split('=');
    const v = Number(value);
    if (!name || value === undefined || rest.length || value.trim() === '' || !Number.isFinite(v)) {
      throw new ConfigError([{ key: '--metrics', message: `expected name=number pairs separated by commas, e.g. f1=0.81,recall=0.7, received "${part}"` }], 'ERR_REFERENCE_METRICS');
    }
    if (!(QUALITY_METRICS as readonly string[]).includes(name.trim())) {
      throw new ConfigError([{ key: '--metrics', message: `expected one of ${QUALITY_METRICS.join(', ')}, received "${name}"` }], 'ERR_REFERENCE_METRICS');
    }
    out[name.trim()] = v;
  }
  return out;
}
