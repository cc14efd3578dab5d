/** Builds the named notifiers of the config (`notifiers:`). */
import type { NotifierConfig } from '../config/schema.ts';
import type { Logger } from '../telemetry/logger.ts';
import { createEmailNotifier } from './email.ts';
import { createLogNotifier } from './log.ts';
import type { Notifier } from './notifier.ts';
import { createSlackNotifier } from './slack.ts';
import { createWebhookNotifier } from './webhook.ts';

export interface NotifierDeps {
  logger: Logger;
  timeoutMs?: number;
  /** Console output of the log notifier (default stdout). */
  write?: (text: string) => void;
}

export function createNotifier(name: string, config: NotifierConfig, deps: NotifierDeps): Notifier {
  const opts = deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {};
  switch (config.type) {
    case 'slack': return createSlackNotifier(name, config, opts);
    case 'email': return createEmailNotifier(name, config, opts);
    case 'webhook': return createWebhookNotifier(name, config, opts);
    case 'log': return createLogNotifier(name, { logger: deps.logger, ...(deps.write ? { write: deps.write } : {}) });
  }
}

export function createNotifiers(configs: Record<string, NotifierConfig>, deps: NotifierDeps): Map<string, Notifier> {
  return new Map(Object.entries(configs).map(([name, c]) => [name, createNotifier(name, c, deps)]));
}
