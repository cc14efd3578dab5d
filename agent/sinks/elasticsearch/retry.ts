/**
 * Whole-request retry decisions (pure; after Vector's `retry.rs`). The wait between retries is
 * `agent/lib/backoff.ts`.
 *
 * - network errors, timeouts, 408, 429 and 5xx: retry with backoff (the cluster will come back);
 * - 401/403: fatal, retrying cannot fix credentials; the agent stops and keeps its offsets;
 * - 413: the request is larger than `http.max_content_length`: split the batch;
 * - other 4xx: fatal as well, since the same request would fail the same way (wrong URL,
 *   a proxy in the way, an incompatible cluster) and dead-lettering every batch would hide it.
 */

export type RequestAction = 'retry' | 'split' | 'fatal';

/** A failed request, reduced to what the decision needs. */
export interface RequestFailure {
  /** HTTP status, absent for network errors. */
  status?: number;
  /** Error name from the transport (ConnectionError, TimeoutError, ...) or `error.type` of the body. */
  type?: string;
  /** Short text for logs (never contains credentials). */
  detail?: string;
}

export interface RequestDecision {
  action: RequestAction;
  /** Low-cardinality label for metrics: network, timeout, http_429, http_5xx, http_401, ... */
  kind: string;
  /** Message for logs and errors. Names the output and what to check. */
  message: string;
}

export function decideRequest(f: RequestFailure, opts: { output?: string; prefix?: string } = {}): RequestDecision {
  const where = `output "${opts.output ?? 'elasticsearch'}"`;
  const prefix = opts.prefix ?? 'driftbeat';
  const detail = f.detail ? `: ${f.detail}` : '';
  const s = f.status;
  if (s === undefined || s === 0) {
    const timeout = f.type === 'TimeoutError';
    return {
      action: 'retry',
      kind: timeout ? 'timeout' : 'network',
      message: `${where}: ${timeout ? 'request timed out' : 'cannot reach the cluster'}${detail}; retrying`,
    };
  }
  if (s === 401) {
    return {
      action: 'fatal',
      kind: 'http_401',
      message: `${where}: Elasticsearch rejected the credentials (401)${detail}; check output.elasticsearch.api_key or username/password`,
    };
  }
  if (s === 403) {
    return {
      action: 'fatal',
      kind: 'http_403',
      message: `${where}: the credentials lack a privilege (403)${detail}; grant create_doc and auto_configure on ${prefix}-* (indices and data streams) to the user or API key`,
    };
  }
  if (s === 413) {
    return { action: 'split', kind: 'http_413', message: `${where}: request larger than the cluster's http.max_content_length (413); splitting the batch` };
  }
  if (s === 408 || s === 429 || s >= 500) {
    const kind = s >= 500 ? 'http_5xx' : `http_${s}`;
    return { action: 'retry', kind, message: `${where}: Elasticsearch answered ${s}${detail}; retrying` };
  }
  return {
    action: 'fatal',
    kind: 'http_4xx',
    message: `${where}: Elasticsearch rejected the request (${s})${detail}; check output.elasticsearch.hosts (a proxy in the way?) and that the cluster runs 8.x`,
  };
}
