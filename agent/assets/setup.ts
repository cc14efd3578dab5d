/**
 * `driftbeat setup`: installs the Elastic stack side, idempotently, saying what each step did.
 *
 *   templates  lifecycle policy, component and index templates, indices, data streams (templates.ts)
 *   kibana     the saved objects of kibana/*.ndjson through POST /api/saved_objects/_import
 *   watches    Watcher watches generated from the rules (a provider passed in by the caller)
 *
 * On OpenSearch (detected at connect, agent/engine/dialect.ts) the lifecycle is ISM when its plugin
 * is installed (said and skipped when not), and the Kibana and Watcher steps are skipped with the
 * reason: the agent's own alerting is the path there.
 *
 * Every resource is read before it is written and written only when absent or different, so a
 * second run sends no write at all. `dryRun` prints every write request (Kibana Dev Tools console
 * format for Elasticsearch) and sends nothing, not even the reads.
 */
import type { Config } from '../config/schema.ts';
import { EngineClient, EngineUnsupportedError } from '../engine/client.ts';
import type { Dialect } from '../engine/dialect.ts';
import { redact } from '../telemetry/redact.ts';
import { applyResources, esRequest, KIND_LABEL } from './setup-apply.ts';
import { setupKibana } from './setup-kibana.ts';
import { indexNames, templatePlanFor, type EsResource, type IndexNames, type ResourceKind } from './templates.ts';

export { applyResources, containsLoose } from './setup-apply.ts';
export { DEFAULT_KIBANA_DIR, importActions, loadSavedObjects, type ImportError, type ImportResponse } from './setup-kibana.ts';

export type SetupStep = 'templates' | 'kibana' | 'watches';
export const SETUP_STEPS: readonly SetupStep[] = ['templates', 'kibana', 'watches'];

export type ActionResult = 'created' | 'updated' | 'unchanged' | 'skipped' | 'failed' | 'planned';

export interface SetupAction {
  step: SetupStep;
  kind: ResourceKind | 'saved_object';
  name: string;
  result: ActionResult;
  detail?: string;
}

export interface SetupReport {
  actions: SetupAction[];
  /** False when any action failed. */
  ok: boolean;
}

/** What a watches provider gets; it returns `PUT _watcher/watch/<id>` resources (kind `watch`). */
export interface WatchesContext {
  config: Config;
  names: IndexNames;
  /** Sends one read request (e.g. GET _license) through the same client; undefined in dry-run. */
  request?: EsRequest;
  /** The engine's dialect (the configured one in dry-run). */
  dialect: Dialect;
}
export type WatchesProvider = (ctx: WatchesContext) => Promise<EsResource[]> | EsResource[];

export interface SetupOptions {
  config: Config;
  /** Default: all three. A step asked for explicitly fails when it cannot run; a defaulted one is skipped. */
  steps?: readonly SetupStep[];
  dryRun?: boolean;
  /** Receives each line of output (no trailing newline). Default: stdout. */
  out?: (line: string) => void;
  /** The engine client; default: built from output.elasticsearch (and closed at the end). */
  client?: EngineClient;
  fetch?: typeof fetch;
  /** Folder of the *.ndjson saved objects; default: the repository's kibana/. */
  kibanaDir?: string;
  watches?: WatchesProvider;
}

export type EsRequest = (method: string, path: string, body?: Record<string, unknown>) => Promise<{ status: number; body: unknown }>;

/** Each line prefixed with `# ` (Kibana Dev Tools comments). */
export function asComment(text: string): string {
  return text.split('\n').map((l) => `# ${l}`).join('\n');
}

export function formatAction(a: SetupAction): string {
  return `${a.step}: ${KIND_LABEL[a.kind]} ${a.name}: ${a.result}${a.detail ? ` (${a.detail})` : ''}`;
}

export async function runSetup(options: SetupOptions): Promise<SetupReport> {
  const { config } = options;
  const out = options.out ?? ((line: string) => void process.stdout.write(line + '\n'));
  const explicit = options.steps !== undefined;
  const steps = SETUP_STEPS.filter((s) => (options.steps ?? SETUP_STEPS).includes(s));
  const actions: SetupAction[] = [];
  const record = (a: SetupAction) => {
    actions.push(a);
    // A dry run's output is pasted into Kibana Dev Tools: every line that is not a request is a comment.
    if (!options.dryRun) out(redact(formatAction(a)));
    else if (a.result !== 'planned') out(asComment(redact(formatAction(a))));
  };
  const es = config.output.elasticsearch;
  const names = indexNames(es?.indexPrefix ?? 'driftbeat');

  if (options.dryRun) {
    out('# driftbeat setup --dry-run: the requests setup sends when nothing is installed yet.');
    out('# (A real run reads each resource first and skips what is already equal.) Nothing was sent.');
  }

  if (!es) {
    const kinds: Record<SetupStep, SetupAction['kind']> = { templates: 'index_template', kibana: 'saved_object', watches: 'watch' };
    for (const step of steps) {
      record({ step, kind: kinds[step], name: '*', result: explicit ? 'failed' : 'skipped', detail: 'output is embedded: there is no Elasticsearch to set up' });
    }
    return { actions, ok: actions.every((a) => a.result !== 'failed') };
  }

  const client = options.client ?? new EngineClient(es, { name: 'setup' });
  try {
    await runSteps(options, { steps, explicit, client, names, out, record });
  } finally {
    if (!options.client) await client.close();
  }
  return { actions, ok: actions.every((a) => a.result !== 'failed') };
}

interface StepsContext {
  steps: SetupStep[];
  explicit: boolean;
  client: EngineClient;
  names: IndexNames;
  out: (line: string) => void;
  record: (a: SetupAction) => void;
}

async function runSteps(options: SetupOptions, ctx: StepsContext): Promise<void> {
  const { config } = options;
  const { steps, explicit, client, names, out, record } = ctx;
  const request: EsRequest = (method, path, body) => esRequest(client, method, path, body);
  // Which engine: asked once (a dry run sends nothing, so it plans for the configured one).
  let dialect = client.knownDialect;
  if (options.dryRun) {
    out(`# engine: ${dialect.label} (output.elasticsearch.engine: ${client.configured}${client.configured === 'auto' ? '; set it to opensearch for an OpenSearch plan' : ''})`);
  } else {
    try {
      const info = await client.info();
      dialect = client.knownDialect;
      out(`setup: ${dialect.label} ${info.version} at ${config.output.elasticsearch!.hosts.join(', ')}`);
    } catch (err) {
      if (err instanceof EngineUnsupportedError) {
        for (const step of steps) record({ step, kind: step === 'watches' ? 'watch' : step === 'kibana' ? 'saved_object' : 'index_template', name: '*', result: 'failed', detail: err.message });
        return;
      }
      // Unreachable: the first request of each step says so and skips the rest.
    }
  }

  for (const step of steps) {
    if (step === 'templates') {
      await applyResources('templates', templatePlanFor(config, dialect), { request, dryRun: options.dryRun ?? false, out, record });
    } else if (step === 'kibana') {
      if (!dialect.kibana) {
        record({ step, kind: 'saved_object', name: '*', result: explicit ? 'failed' : 'skipped', detail: `the saved objects are for Kibana; ${dialect.label} Dashboards has its own formats (not generated)` });
        continue;
      }
      await setupKibana(options, names, out, record, explicit);
    } else if (step === 'watches') {
      if (!dialect.watcher) {
        record({ step, kind: 'watch', name: '*', result: explicit ? 'failed' : 'skipped', detail: `Watcher is Elasticsearch-only; on ${dialect.label} the agent's own alerting (driftbeat run with rules.path) evaluates the rules and sends the alerts` });
        continue;
      }
      if (!options.watches) {
        record({ step, kind: 'watch', name: '*', result: explicit ? 'failed' : 'skipped', detail: 'watch generation is not available in this build' });
        continue;
      }
      let resources: EsResource[];
      try {
        resources = await options.watches({ config, names, dialect, ...(options.dryRun ? {} : { request }) });
      } catch (err) {
        // No rules configured is not a failure of a default run (all steps), only of an explicit --watches.
        const noRules = (err as { code?: string }).code === 'ERR_WATCH_NO_RULES';
        record({ step, kind: 'watch', name: '*', result: noRules && !explicit ? 'skipped' : 'failed', detail: err instanceof Error ? err.message : String(err) });
        continue;
      }
      await applyResources('watches', resources, { request, dryRun: options.dryRun ?? false, out, record });
    }
  }
}


// ---------------------------------------------------------------------------------------------
// for the CLI

/** `--templates --kibana --watches`: none given means all three (defaulted, so unconfigured ones are skipped). */
export function stepsFromFlags(flags: { templates?: boolean; kibana?: boolean; watches?: boolean }): SetupStep[] | undefined {
  const steps = SETUP_STEPS.filter((s) => flags[s]);
  return steps.length > 0 ? steps : undefined;
}

/** The closing line, e.g. `setup: 3 created, 1 updated, 30 unchanged, 1 skipped, 0 failed`. */
export function summarizeSetup(report: SetupReport, dryRun = false): string {
  if (dryRun) return `# setup --dry-run: ${report.actions.filter((a) => a.result === 'planned').length} resources planned, nothing sent`;
  const n = (r: ActionResult) => report.actions.filter((a) => a.result === r).length;
  return `setup: ${n('created')} created, ${n('updated')} updated, ${n('unchanged')} unchanged, ${n('skipped')} skipped, ${n('failed')} failed`;
}
