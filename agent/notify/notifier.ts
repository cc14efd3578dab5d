/**
 * The notifier contract: `send()` delivers one message or throws a DeliveryError that says whether
 * retrying can help and, for a 429, when to retry. Retries, backoff and persistence are the
 * outbox's job (outbox.ts), never the notifier's.
 */
import { NotifyError } from '../errors.ts';
import { redact } from '../telemetry/redact.ts';
import type { AlertMessage } from './render.ts';

export interface Notifier {
  readonly name: string;
  readonly type: 'slack' | 'email' | 'webhook' | 'log';
  send(msg: AlertMessage, signal?: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

export class DeliveryError extends NotifyError {
  readonly retryable: boolean;
  /** From a Retry-After header: wait at least this long before the next attempt. */
  readonly retryAfterMs?: number;
  readonly status?: number;
  constructor(code: string, message: string, options: { retryable: boolean; retryAfterMs?: number; status?: number; cause?: unknown }) {
    super(code, redact(message), options.cause === undefined ? {} : { cause: options.cause });
    this.retryable = options.retryable;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** 408, 429 and 5xx can succeed later; other 4xx mean the request itself is wrong. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One HTTP request; resolves on 2xx, throws a DeliveryError otherwise. */
export async function deliverHttp(notifier: string, req: HttpRequest): Promise<{ status: number; body: string }> {
  const timeout = AbortSignal.timeout(req.timeoutMs ?? 10_000);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(req.url, { method: req.method ?? 'POST', headers: { 'content-type': 'application/json', ...req.headers }, body: req.body, signal });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new DeliveryError('ERR_NOTIFY_UNREACHABLE', `notifier "${notifier}": request failed (${why}); will retry`, { retryable: true, cause: err });
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return { status: res.status, body: text };
  const retryable = isRetryableStatus(res.status);
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  const snippet = text.slice(0, 200).replace(/\s+/g, ' ');
  throw new DeliveryError(
    res.status === 429 ? 'ERR_NOTIFY_RATE_LIMITED' : retryable ? 'ERR_NOTIFY_SERVER' : 'ERR_NOTIFY_REJECTED',
    `notifier "${notifier}": HTTP ${res.status}${snippet ? ` ${snippet}` : ''}; ${retryable ? 'will retry' : 'the request was rejected, check the notifier config (URL, token, template)'}`,
    { retryable, status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
  );
}

/**
 * ECS error fields for a log line. Passed as plain fields rather than `{ error: err }` because the
 * logger's redaction copies objects before pino's error serializer sees them.
 */
export function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { message?: unknown; code?: unknown; name?: unknown };
  return {
    'error.message': redact(err instanceof Error ? err.message : String(e?.message ?? err)),
    ...(typeof e?.code === 'string' ? { 'error.code': e.code } : {}),
    ...(typeof e?.name === 'string' ? { 'error.type': e.name } : {}),
  };
}
