/**
 * Setup's read-compare-write loop on Elasticsearch: each resource is read, compared (loosely:
 * Elasticsearch hands settings back as strings) and written only when absent or different; a dry
 * run prints the requests instead. Used by the templates and watches steps.
 */
import type { EngineClient } from '../engine/client.ts';
import { EngineResponseError } from '../engine/connection.ts';
import { redact } from '../telemetry/redact.ts';
import type { EsRequest, SetupAction, SetupStep } from './setup.ts';
import type { EsResource } from './templates.ts';

export const KIND_LABEL: Record<SetupAction['kind'], string> = {
  ilm_policy: 'ILM policy',
  ism_policy: 'ISM policy',
  component_template: 'component template',
  index_template: 'index template',
  index: 'index',
  data_stream: 'data stream',
  watch: 'watch',
  saved_object: 'saved object',
};


/** One request whose HTTP status is an answer, not an error (setup reads 404 as "absent"). */
export async function esRequest(client: EngineClient, method: string, path: string, body?: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  try {
    const res = await client.request({ method: method as 'GET', path, ...(body !== undefined ? { body } : {}) });
    return { status: res.statusCode, body: res.body };
  } catch (err) {
    if (err instanceof EngineResponseError) return { status: err.statusCode, body: err.body };
    throw err;
  }
}

/** The engine has no such API (a plugin that is not installed): OpenSearch's "no handler found". */
function apiAbsent(status: number, body: unknown): boolean {
  return (status === 400 || status === 404 || status === 405) && /no handler found/i.test(JSON.stringify(body ?? ''));
}

/** Loose containment: every key of `desired` is in `actual` with an equal value; scalars compare as strings because Elasticsearch stores settings (and some mapping flags) as strings. */
export function containsLoose(actual: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') {
    // Elasticsearch may hand back a one-element list for a scalar it accepted (e.g. copy_to).
    if (Array.isArray(actual) && actual.length === 1) return containsLoose(actual[0], desired);
    if (actual === null || actual === undefined || typeof actual === 'object') return actual === desired;
    return String(actual) === String(desired);
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(actual)) return desired.length === 1 && containsLoose(actual, desired[0]);
    return actual.length === desired.length && desired.every((d, i) => containsLoose(actual[i], d));
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => containsLoose(a[k], v));
}

function esErrorDetail(status: number, body: unknown): string {
  const e = (body as { error?: { type?: string; reason?: string } | string } | undefined)?.error;
  const what = typeof e === 'string' ? e : e ? [e.type, e.reason].filter(Boolean).join(': ') : '';
  return `HTTP ${status}${what ? ` ${what}` : ''}`;
}

function printRequest(out: (l: string) => void, method: string, path: string, body?: Record<string, unknown>): void {
  out(`${method} ${path}`);
  // A watch's webhook headers hold values resolved from the environment: never printed.
  if (body !== undefined) for (const line of JSON.stringify(body, null, 2).split('\n')) out(redact(line));
  out('');
}

interface ApplyContext {
  request: EsRequest;
  dryRun: boolean;
  out: (line: string) => void;
  record: (a: SetupAction) => void;
}

/**
 * Makes each resource exist as described, in order. Reachability and credential problems stop the
 * step (every further request would fail alike); a refused resource is reported and the rest go on.
 * Exported so that the watches step (and tests) reuse the same read-compare-write loop.
 */
export async function applyResources(step: SetupStep, resources: EsResource[], ctx: ApplyContext): Promise<void> {
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i]!;
    if (ctx.dryRun) {
      ctx.out(`# ${step}: ${KIND_LABEL[r.kind]} ${r.name}${r.current ? '' : ' (only when absent)'}`);
      printRequest(ctx.out, r.put.method, r.put.path, r.put.body);
      ctx.record({ step, kind: r.kind, name: r.name, result: 'planned' });
      continue;
    }
    try {
      const got = await ctx.request(r.get.method, r.get.path);
      if (got.status === 401 || got.status === 403) {
        const fix = got.status === 401
          ? 'check output.elasticsearch username/password or api_key'
          : 'the user needs the manage_ilm, manage_index_templates and manage privileges (cluster) and manage on driftbeat-* indices';
        ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: `${esErrorDetail(got.status, got.body)}: ${fix}` });
        skipRest(step, resources, i + 1, ctx, 'not attempted after the failure above');
        return;
      }
      if (r.whenAbsent && apiAbsent(got.status, got.body)) {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'skipped', detail: r.whenAbsent });
        continue;
      }
      let existed = got.status >= 200 && got.status < 300;
      if (got.status !== 404 && !existed) {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: `reading it: ${esErrorDetail(got.status, got.body)}` });
        continue;
      }
      let current: unknown;
      if (existed && r.current) {
        current = r.current(got.body);
        if (current === undefined) existed = false;
      }
      if (existed && (!r.current || containsLoose(current, r.put.body))) {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'unchanged' });
        continue;
      }
      const query = existed && r.updateQuery ? new URLSearchParams(Object.entries(r.updateQuery(got.body)).map(([k, v]): [string, string] => [k, String(v)])).toString() : '';
      const put = await ctx.request(r.put.method, query ? `${r.put.path}?${query}` : r.put.path, r.put.body);
      const alreadyThere = JSON.stringify(put.body ?? '').includes('already_exists_exception');
      if (put.status >= 200 && put.status < 300) {
        ctx.record({ step, kind: r.kind, name: r.name, result: existed ? 'updated' : 'created' });
      } else if (!r.current && alreadyThere) {
        // Created meanwhile (the agent's first document auto-creates indices and data streams).
        ctx.record({ step, kind: r.kind, name: r.name, result: 'unchanged' });
      } else {
        ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: esErrorDetail(put.status, put.body) });
      }
    } catch (err) {
      ctx.record({ step, kind: r.kind, name: r.name, result: 'failed', detail: `cannot reach Elasticsearch: ${connectionDetail(err)}` });
      skipRest(step, resources, i + 1, ctx, 'not attempted: the cluster is unreachable');
      return;
    }
  }
}

function skipRest(step: SetupStep, resources: EsResource[], from: number, ctx: ApplyContext, detail: string): void {
  for (const r of resources.slice(from)) ctx.record({ step, kind: r.kind, name: r.name, result: 'skipped', detail });
}

export function connectionDetail(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
    return `${err.name}${code ? ` ${code}` : ''}: ${err.message}`.slice(0, 300);
  }
  return String(err).slice(0, 300);
}

