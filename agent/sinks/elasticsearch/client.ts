/**
 * Builds the `@elastic/elasticsearch` client from `output.elasticsearch` (shared by the sink,
 * `driftbeat setup`, the Elasticsearch rule backend and the alert state store).
 *
 * The client's own retries are off (`maxRetries: 0`): the retry loop is ours (sink.ts), because
 * the client's would re-send without backoff and its bulk helper drops documents on failure.
 */
import { readFileSync } from 'node:fs';
import { Client, errors, type ClientOptions } from '@elastic/elasticsearch';
import type { ElasticsearchOutputConfig } from '../../config/schema.ts';
import { ConfigError } from '../../errors.ts';
import { registerSecret } from '../../telemetry/redact.ts';
import type { RequestFailure } from './retry.ts';

export type { Client };

export interface ClientBuildOptions {
  /** Client name in the transport's diagnostics. */
  name?: string;
}

/** The client options for a config (exported for tests and for components that need a variant). */
export function clientOptions(config: ElasticsearchOutputConfig, opts: ClientBuildOptions = {}): ClientOptions {
  const o: ClientOptions = {
    nodes: config.hosts,
    maxRetries: 0,
    requestTimeout: config.timeout,
    compression: false,
    name: opts.name ?? 'driftbeat',
  };
  if (config.apiKey) {
    registerSecret(config.apiKey);
    o.auth = { apiKey: config.apiKey };
  } else if (config.username && config.password) {
    registerSecret(config.password);
    o.auth = { username: config.username, password: config.password };
  }
  const tls: NonNullable<ClientOptions['tls']> = {};
  let hasTls = false;
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
    hasTls = true;
  }
  if (!config.tlsVerify) {
    tls.rejectUnauthorized = false;
    hasTls = true;
  }
  if (hasTls) o.tls = tls;
  // The client refuses a CA fingerprint when a node is plain http; only https nodes use it.
  if (config.caFingerprint && config.hosts.some((h) => h.startsWith('https:'))) {
    o.caFingerprint = config.caFingerprint;
  }
  return o;
}

export function createElasticsearchClient(config: ElasticsearchOutputConfig, opts: ClientBuildOptions = {}): Client {
  return new Client(clientOptions(config, opts));
}

/**
 * Reduces an error thrown by the client to what the retry decision needs. Only the status,
 * the error class and Elasticsearch's `error.type`/`reason` are kept: the transport's own messages
 * can carry request details, and we never want a header in a log line.
 */
export function describeRequestError(err: unknown): RequestFailure {
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? err.meta?.statusCode;
    const body = err.body as { error?: { type?: string; reason?: string | null } | string } | string | undefined;
    const f: RequestFailure = {};
    if (typeof status === 'number') f.status = status;
    if (body && typeof body === 'object' && body.error) {
      if (typeof body.error === 'string') f.type = body.error;
      else {
        if (body.error.type) f.type = body.error.type;
        const reason = body.error.reason ?? undefined;
        f.detail = [body.error.type, reason].filter(Boolean).join(': ');
      }
    }
    return f;
  }
  if (err instanceof Error) {
    return { type: err.name, detail: `${err.name}: ${err.message}`.slice(0, 300) };
  }
  return { type: 'Error', detail: String(err).slice(0, 300) };
}

/** True when the error is the client reporting our own AbortSignal. */
export function isAbortError(err: unknown): boolean {
  return err instanceof errors.RequestAbortedError || (err instanceof Error && err.name === 'AbortError');
}
