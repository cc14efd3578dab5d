/**
 * Secrets never reach a log line or an error message. Every value interpolated from the
 * environment into a config or rule file is registered here, as are the known secret keys;
 * `redact()` replaces them wherever they appear (URLs included, e.g. Slack webhook paths).
 */
const secrets = new Set<string>();

export const REDACTED = '[REDACTED]';

/** Keys whose values are always secret, wherever they appear in an object. */
export const SECRET_KEYS = ['password', 'api_key', 'apiKey', 'webhook_url', 'webhookUrl', 'authorization', 'Authorization', 'token', 'pass'];

export function registerSecret(value: string): void {
  if (value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/** Deep copy with secret keys and registered secret values replaced. */
export function redactObject<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactObject(v)) as T;
  // Errors are left to the logger's error serializer, which redacts their message and stack.
  if (value instanceof Error) return value;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.includes(k) && v != null ? REDACTED : redactObject(v);
    return out as T;
  }
  return value;
}

/** For tests. */
export function clearSecrets(): void {
  secrets.clear();
}
