/**
 * What the sink's retry decision needs from a failed engine request (agent/engine/connection.ts
 * builds and sends them; this reduces its errors for retry.ts).
 */
import { EngineResponseError } from '../../engine/connection.ts';
import type { RequestFailure } from './retry.ts';

/**
 * Reduces an error of the engine connection to what the retry decision needs. Only the status,
 * the error class and the engine's `error.type`/`reason` are kept: never a header in a log line.
 */
export function describeRequestError(err: unknown): RequestFailure {
  if (err instanceof EngineResponseError) {
    const body = err.body as { error?: { type?: string; reason?: string | null } | string } | string | undefined;
    const f: RequestFailure = { status: err.statusCode };
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

/** True when the error is the connection reporting our own AbortSignal. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}
