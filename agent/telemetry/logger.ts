/**
 * Structured JSON logs with ECS field names (pino): `@timestamp`, `log.level`, `message`,
 * `error.message`, `service.name`. Every string is passed through redact() first.
 */
import { hostname } from 'node:os';
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import { redact, redactObject } from './redact.ts';

export type { Logger };

function ecsError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      message: redact(err.message),
      type: err.name,
      ...(code !== undefined ? { code } : {}),
      ...(err.stack ? { stack_trace: redact(err.stack) } : {}),
    };
  }
  return { message: redact(String(err)) };
}

export function createLogger(options: { level?: LevelWithSilent; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      messageKey: 'message',
      errorKey: 'error',
      base: { 'service.name': 'driftbeat', 'host.name': hostname(), 'ecs.version': '8.11.0' },
      timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
      formatters: {
        level: (label) => ({ 'log.level': label }),
        log: (obj) => redactObject(obj),
      },
      serializers: { error: ecsError, err: ecsError },
      hooks: {
        logMethod(args, method) {
          // Redact interpolated message strings too, not only objects.
          const cleaned = args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>;
          method.apply(this, cleaned);
        },
      },
    },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that discards everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });
