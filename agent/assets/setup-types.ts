/**
 * The types of `driftbeat setup` (setup.ts runs the steps): steps, actions and their results, the
 * options, and what the watches step's provider gets. Apart so that the step modules
 * (setup-apply.ts, setup-kibana.ts, setup-watches.ts) and setup.ts import no one another in a circle.
 */
import type { Config } from '../config/schema.ts';
import type { EngineClient } from '../engine/client.ts';
import type { Dialect } from '../engine/dialect.ts';
import type { EsResource, IndexNames, ResourceKind } from './templates.ts';

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
