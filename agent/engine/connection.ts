/**
 * The one HTTP connection to the search engine (Elasticsearch 8.x/9.x or OpenSearch 2.x), on
 * Node's http and https modules: a keep-alive pool per host, round-robin across hosts, TLS with a
 * CA file or the CA's SHA-256 fingerprint, API key or basic auth.
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
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions, type TLSSocket } from 'node:tls';
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

/** No answer: refused, reset, DNS, TLS. `code` is the system code (ECONNREFUSED, ECONNRESET...). */
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
  agent: HttpAgent;
  /** http.request or https.request, by the host's scheme. */
  request: typeof httpRequest;
  hostname: string;
  port: number;
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
/** An idle keep-alive socket is closed after this long (the engine may close it first: then it is dropped). */
const IDLE_SOCKET_MS = 30_000;

/** A free socket times out after IDLE_SOCKET_MS and the agent destroys it; a request sets its own timeout when it takes one. */
function closeWhenIdle(socket: Duplex): void {
  (socket as Duplex & { setTimeout(ms: number): void }).setTimeout(IDLE_SOCKET_MS);
}

class IdleClosingAgent extends HttpAgent {
  override keepSocketAlive(socket: Duplex): boolean {
    super.keepSocketAlive(socket);
    closeWhenIdle(socket);
    return true;
  }
}

/** Why a request was given up on, attached to the error that destroys it. */
const TIMED_OUT = Symbol('driftbeat.timedOut');
type Timeout = 'connect' | 'answer';

/**
 * One pool of keep-alive sockets per host (Node's own http.Agent: its parser is native, where
 * undici's is WebAssembly compiled in the process, ~10 MiB of the ship path's peak RSS:
 * bench/RESULTS.md). Built once per process (agent/outputs.ts) and shared by every component
 * that talks to the engine.
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
    const tls = tlsOptions(config);
    const connections = options.connections ?? config.maxInFlight + 2;
    this.pools = config.hosts.map((h) => {
      const u = new URL(h);
      const https = u.protocol === 'https:';
      // No agent-wide `timeout`: it would override each request's own (see exchange).
      const agentOptions = { keepAlive: true, maxSockets: connections, maxFreeSockets: connections, scheduling: 'lifo' as const };
      return {
        agent: https ? new TlsAgent({ ...agentOptions, ...tls }) : new IdleClosingAgent(agentOptions),
        request: https ? httpsRequest : httpRequest,
        hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: u.port ? Number(u.port) : https ? 443 : 80,
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
    const headers: Record<string, string | number> = { ...this.headers };
    let body: string | Buffer | undefined;
    if (req.bulkBody !== undefined) {
      body = req.bulkBody;
      headers['content-type'] = 'application/x-ndjson';
    } else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const path = host.basePath + req.path + queryString(req.querystring);
    let res: { statusCode: number; headers: IncomingHttpHeaders; text: string };
    try {
      res = await exchange(host, req.method, path, headers, body, opts.timeoutMs ?? this.timeoutMs, opts.signal);
    } catch (err) {
      throw this.failure(err, host, req, opts.signal);
    }
    host.failures = 0;
    host.deadUntil = 0;
    const text = res.text;
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
    const timedOut = (err as { [TIMED_OUT]?: Timeout } | undefined)?.[TIMED_OUT];
    if (timedOut === 'answer') return new EngineTimeoutError(`${req.method} ${req.path}: no answer from ${host.origin} within the timeout`);
    // A dead host is skipped for a while (1 s, 2 s, ... up to 30 s) when there is another to try.
    host.failures++;
    host.deadUntil = Date.now() + backoffDelay(host.failures - 1, { initial: 1000, max: 30_000, jitter: 0 });
    if (timedOut === 'connect') return new EngineTimeoutError(`${req.method} ${req.path}: connecting to ${host.origin} timed out`);
    const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code;
    const why = e.cause?.message ?? e.message ?? String(err);
    return new EngineConnectionError(`${req.method} ${req.path}: cannot reach ${host.origin}: ${code ? `${code} ` : ''}${why}`.slice(0, 400), code, err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.pools) h.agent.destroy();
  }
}

/**
 * One request and its whole answer. `timeoutMs` bounds every wait (connecting, the answer's
 * head, each pause in its body), as the socket's idle timeout.
 */
function exchange(
  host: Host, method: HttpMethod, path: string, headers: Record<string, string | number>,
  body: string | Buffer | undefined, timeoutMs: number, signal: AbortSignal | undefined,
): Promise<{ statusCode: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = host.request({
      agent: host.agent, hostname: host.hostname, port: host.port, method, path, headers, timeout: timeoutMs,
      ...(signal ? { signal } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(Object.assign(new Error('the engine closed the connection in the middle of its answer'), { code: 'ECONNRESET' }));
      });
    });
    request.on('timeout', () => {
      // An https socket is handed over connected (TlsAgent); an http one may still be connecting.
      const connecting = !request.socket || request.socket.connecting;
      request.destroy(Object.assign(new Error('timed out'), { [TIMED_OUT]: (connecting ? 'connect' : 'answer') as Timeout }));
    });
    request.on('error', reject);
    request.end(body);
  });
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
 * official client's `caFingerprint` do; Node's own chain check is then replaced by that check,
 * made before the socket carries a request (so no credentials reach a server that fails it).
 */
function tlsOptions(config: ElasticsearchOutputConfig): TlsAgentOptions {
  if (!config.hosts.some((h) => h.startsWith('https:'))) return {};
  const tls: TlsAgentOptions = {};
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
  if (fingerprint && config.tlsVerify) tls.caFingerprint = fingerprint;
  return tls;
}

interface TlsAgentOptions extends HttpsAgentOptions {
  caFingerprint?: string;
}

/**
 * An https.Agent whose sockets are handed to a request only after the TLS handshake (and the
 * fingerprint check, when there is one), so a hung handshake times out as a connect and no request
 * is written to a server that fails the check.
 */
class TlsAgent extends HttpsAgent {
  private readonly caFingerprint: string | undefined;
  constructor(options: TlsAgentOptions) {
    const { caFingerprint, ...rest } = options;
    super(rest);
    this.caFingerprint = caFingerprint;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    super.keepSocketAlive(socket);
    closeWhenIdle(socket);
    return true;
  }

  override createConnection(options: TlsConnectionOptions, callback: (err: Error | null, socket?: Duplex) => void): undefined {
    const name = options.servername || options.host || '';
    const socket = tlsConnect({ ...options, servername: isIP(name) ? '' : name });
    if (options.timeout) socket.setTimeout(options.timeout);
    const fingerprint = this.caFingerprint;
    const settle = (err: Error | null) => {
      socket.off('error', settle);
      socket.off('timeout', onTimeout);
      socket.off('secureConnect', onSecure);
      if (err) socket.destroy();
      callback(err, err ? undefined : socket);
    };
    const onTimeout = () => settle(Object.assign(new Error('TLS handshake timed out'), { [TIMED_OUT]: 'connect' as Timeout }));
    const onSecure = () => {
      if (!fingerprint || chainHasFingerprint(socket, fingerprint)) return settle(null);
      settle(Object.assign(new Error(`the server's certificate chain has no certificate with the SHA-256 fingerprint of output.elasticsearch.ca_fingerprint`), { code: 'ERR_TLS_CA_FINGERPRINT' }));
    };
    socket.on('error', settle);
    socket.on('timeout', onTimeout);
    socket.on('secureConnect', onSecure);
    return undefined;
  }
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
