/**
 * The one HTTP connection to the search engine (Elasticsearch 8.x/9.x or OpenSearch 2.x), on
 * undici: a keep-alive pool per host, round-robin across hosts, TLS with a CA file or the CA's
 * SHA-256 fingerprint, API key or basic auth.
 *
 * Why not the official clients: `@elastic/elasticsearch` refuses every server that does not send
 * `x-elastic-product: Elasticsearch` and sends `compatible-with=8` media types that OpenSearch
 * rejects; `@opensearch-project/opensearch` is the mirror image. Both engines speak the same REST
 * API for what driftbeat uses (bulk, msearch, search, documents, templates), so one lean transport
 * serves both, and costs ~30 MiB less RSS than the official client (bench/RESULTS.md).
 *
 * No retries here: the callers own their retry loops (the sink's backoff, setup's read-compare-
 * write, the lease's renew timer). A failure is one of the error classes below.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Pool, buildConnector, errors as undiciErrors } from 'undici';
import type { ElasticsearchOutputConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import { backoffDelay } from '../lib/backoff.ts';
import { registerSecret } from '../telemetry/redact.ts';

// ---------------------------------------------------------------------------------------------
// errors (names as elastic-transport's, which the retry decision and the logs already know)

/** The engine answered with an HTTP error status. `body` is its parsed JSON error when it sent one. */
export class EngineResponseError extends Error {
  readonly statusCode: number;
  readonly body: unknown;
  constructor(statusCode: number, body: unknown, method: string, path: string) {
    super(`${method} ${path}: HTTP ${statusCode}${describeErrorBody(body)}`);
    this.name = 'ResponseError';
    this.statusCode = statusCode;
    this.body = body;
  }
  /** `error.type` of the body (e.g. resource_already_exists_exception). */
  get type(): string | undefined {
    const e = (this.body as { error?: { type?: string } | string } | undefined)?.error;
    return typeof e === 'string' ? e : e?.type;
  }
}

/** No answer: refused, reset, DNS, TLS. `code` is the system or undici code (ECONNREFUSED...). */
export class EngineConnectionError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, cause: unknown) {
    super(message, { cause });
    this.name = 'ConnectionError';
    this.code = code;
  }
}

export class EngineTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** The caller's AbortSignal fired. */
export class EngineAbortError extends Error {
  constructor(message = 'request aborted') {
    super(message);
    this.name = 'AbortError';
  }
}

function describeErrorBody(body: unknown): string {
  const e = (body as { error?: { type?: string; reason?: string | null } | string } | undefined)?.error;
  if (!e) return '';
  if (typeof e === 'string') return ` ${e}`;
  return ` ${[e.type, e.reason].filter(Boolean).join(': ')}`.slice(0, 500);
}

// ---------------------------------------------------------------------------------------------
// requests

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface EngineRequest {
  method: HttpMethod;
  /** Absolute path, e.g. `/_bulk` (the host's own path prefix, if any, is added). */
  path: string;
  querystring?: Record<string, string | number | boolean | undefined>;
  /** A JSON body, encoded here. */
  body?: unknown;
  /** An NDJSON body (bulk, msearch), sent as it is. */
  bulkBody?: string | Buffer;
}

export interface EngineRequestOptions {
  signal?: AbortSignal;
  /** Per request; default the config's timeout. */
  timeoutMs?: number;
  /** Statuses answered as a result instead of thrown (e.g. [404] to test existence). */
  ignore?: readonly number[];
}

export interface EngineResponse<T = unknown> {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

interface Host {
  pool: Pool;
  origin: string;
  basePath: string;
  /** Epoch ms until which this host is skipped after a connection failure. */
  deadUntil: number;
  failures: number;
}

export interface ConnectionOptions {
  /** Shown in the user-agent, e.g. `driftbeat-setup`. */
  name?: string;
  /** Keep-alive sockets per host (default: max_in_flight + 2). */
  connections?: number;
}

const VERSION = '0.1.0';

/**
 * One pool of keep-alive sockets per host. Built once per process (agent/outputs.ts) and shared by
 * every component that talks to the engine.
 */
export class EngineConnection {
  readonly hosts: readonly string[];
  private readonly pools: Host[];
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private next = 0;
  private closed = false;

  constructor(config: ElasticsearchOutputConfig, options: ConnectionOptions = {}) {
    this.hosts = config.hosts;
    this.timeoutMs = config.timeout;
    this.headers = {
      'user-agent': `driftbeat/${VERSION} (${options.name ?? 'agent'}; Node.js ${process.version})`,
      accept: 'application/json',
      ...authHeader(config),
    };
    const connect = connector(config);
    const connections = options.connections ?? config.maxInFlight + 2;
    this.pools = config.hosts.map((h) => {
      const u = new URL(h);
      return {
        pool: new Pool(u.origin, {
          connections,
          pipelining: 1,
          keepAliveTimeout: 30_000,
          // Bodies are bounded by bulk_max_bytes; responses by filter_path. No per-pool timeouts:
          // each request sets its own below.
          ...(connect ? { connect } : {}),
        }),
        origin: u.origin,
        basePath: u.pathname.replace(/\/+$/, ''),
        deadUntil: 0,
        failures: 0,
      };
    });
  }

  /** Round-robin over hosts, skipping those that failed recently (all dead: the least recently failed). */
  private pick(): Host {
    const now = Date.now();
    for (let i = 0; i < this.pools.length; i++) {
      const h = this.pools[(this.next + i) % this.pools.length]!;
      if (h.deadUntil <= now) {
        this.next = (this.next + i + 1) % this.pools.length;
        return h;
      }
    }
    return this.pools.reduce((a, b) => (a.deadUntil <= b.deadUntil ? a : b));
  }

  async request<T = unknown>(req: EngineRequest, opts: EngineRequestOptions = {}): Promise<EngineResponse<T>> {
    if (this.closed) throw new EngineConnectionError('connection closed', 'ERR_CLOSED', undefined);
    const host = this.pick();
    const timeout = opts.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { ...this.headers };
    let body: string | Buffer | undefined;
    if (req.bulkBody !== undefined) {
      body = req.bulkBody;
      headers['content-type'] = 'application/x-ndjson';
    } else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    const path = host.basePath + req.path + queryString(req.querystring);
    let res;
    try {
      res = await host.pool.request({
        method: req.method,
        path,
        headers,
        body: body ?? null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      throw this.failure(err, host, req, opts.signal);
    }
    let text: string;
    try {
      text = req.method === 'HEAD' ? '' : await res.body.text();
    } catch (err) {
      throw this.failure(err, host, req, opts.signal);
    }
    host.failures = 0;
    host.deadUntil = 0;
    let parsed: unknown = text;
    if (text.length > 0 && String(res.headers['content-type'] ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // A proxy's HTML error page with a JSON content type: keep the text for the message.
      }
    } else if (text.length === 0) {
      parsed = undefined;
    }
    if (res.statusCode >= 400 && !(opts.ignore ?? []).includes(res.statusCode)) {
      throw new EngineResponseError(res.statusCode, parsed, req.method, req.path);
    }
    return { statusCode: res.statusCode, headers: res.headers as EngineResponse['headers'], body: parsed as T };
  }

  private failure(err: unknown, host: Host, req: EngineRequest, signal?: AbortSignal): Error {
    if (signal?.aborted) return new EngineAbortError(`${req.method} ${req.path}: aborted`);
    const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code;
    if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
      return new EngineTimeoutError(`${req.method} ${req.path}: no answer from ${host.origin} within the timeout`);
    }
    // A dead host is skipped for a while (1 s, 2 s, ... up to 30 s) when there is another to try.
    host.failures++;
    host.deadUntil = Date.now() + backoffDelay(host.failures - 1, { initial: 1000, max: 30_000, jitter: 0 });
    if (err instanceof undiciErrors.ConnectTimeoutError) {
      return new EngineTimeoutError(`${req.method} ${req.path}: connecting to ${host.origin} timed out`);
    }
    const why = e.cause?.message ?? e.message ?? String(err);
    return new EngineConnectionError(`${req.method} ${req.path}: cannot reach ${host.origin}: ${code ? `${code} ` : ''}${why}`.slice(0, 400), code, err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.pools.map((h) => h.pool.close().catch(() => undefined)));
  }
}

function queryString(q: EngineRequest['querystring']): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) if (v !== undefined) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

function authHeader(config: ElasticsearchOutputConfig): Record<string, string> {
  if (config.apiKey) {
    registerSecret(config.apiKey);
    return { authorization: `ApiKey ${config.apiKey}` };
  }
  if (config.username && config.password) {
    registerSecret(config.password);
    const basic = Buffer.from(`${config.username}:${config.password}`).toString('base64');
    registerSecret(basic);
    return { authorization: `Basic ${basic}` };
  }
  return {};
}

/** `AA:BB:...` or `aabb...`, as Elasticsearch prints it at first start: upper-case hex without colons. */
export function normalizeFingerprint(f: string): string {
  return f.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/**
 * TLS for https hosts. With `ca_fingerprint` (and no `ca`), the server's chain is trusted when one
 * of its certificates has that SHA-256 fingerprint, as Beats' `ca_trusted_fingerprint` and the
 * official client's `caFingerprint` do; Node's own chain check is then replaced by that check.
 */
function connector(config: ElasticsearchOutputConfig): ReturnType<typeof buildConnector> | undefined {
  if (!config.hosts.some((h) => h.startsWith('https:'))) return undefined;
  const tls: { ca?: Buffer; rejectUnauthorized?: boolean } = {};
  if (config.ca) {
    try {
      tls.ca = readFileSync(config.ca);
    } catch (err) {
      throw new ConfigError([
        {
          key: 'output.elasticsearch.ca',
          message: `cannot read the CA certificate file "${config.ca}" (${(err as NodeJS.ErrnoException).code ?? String(err)}); give the path of a PEM file or use ca_fingerprint`,
        },
      ], 'ERR_CONFIG_CA');
    }
  }
  const fingerprint = config.caFingerprint && !config.ca ? normalizeFingerprint(config.caFingerprint) : undefined;
  if (!config.tlsVerify || fingerprint) tls.rejectUnauthorized = false;
  const base = buildConnector(tls);
  if (!fingerprint || !config.tlsVerify) return base;
  return (opts, callback) =>
    base(opts, (err, socket) => {
      if (err || !socket) return callback(err, null as never);
      if (!chainHasFingerprint(socket as TLSSocket, fingerprint)) {
        socket.destroy();
        return callback(new Error(`the server's certificate chain has no certificate with the SHA-256 fingerprint of output.elasticsearch.ca_fingerprint`), null as never);
      }
      callback(null, socket);
    });
}

function chainHasFingerprint(socket: TLSSocket, fingerprint: string): boolean {
  let cert = socket.getPeerCertificate(true) as (ReturnType<TLSSocket['getPeerCertificate']> & { issuerCertificate?: unknown }) | undefined;
  const seen = new Set<unknown>();
  while (cert && cert.raw && !seen.has(cert)) {
    seen.add(cert);
    if (normalizeFingerprint(new X509Certificate(cert.raw).fingerprint256) === fingerprint) return true;
    cert = cert.issuerCertificate as typeof cert;
  }
  return false;
}
