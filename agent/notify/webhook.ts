/**
 * Generic webhook (PagerDuty Events v2, Opsgenie, a retraining pipeline): a JSON body built from
 * the config's `body` template (template.ts, no code) or, without one, the alert fields as JSON.
 */
import type { NotifierConfig } from '../config/schema.ts';
import { deliverHttp, type Notifier } from './notifier.ts';
import { templateContext, type AlertMessage } from './render.ts';
import { renderTemplate } from './template.ts';

type WebhookConfig = Extract<NotifierConfig, { type: 'webhook' }>;

export function webhookBody(config: Pick<WebhookConfig, 'body'>, msg: AlertMessage): unknown {
  const ctx = templateContext(msg);
  if (config.body === undefined) {
    const { text: _text, ...alert } = ctx.alert as Record<string, unknown>;
    return alert;
  }
  return renderTemplate(config.body, ctx);
}

export function createWebhookNotifier(name: string, config: WebhookConfig, options: { timeoutMs?: number } = {}): Notifier {
  return {
    name,
    type: 'webhook',
    async send(msg: AlertMessage, signal?: AbortSignal) {
      await deliverHttp(name, {
        url: config.url,
        method: config.method,
        headers: config.headers,
        body: JSON.stringify(webhookBody(config, msg)),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(signal ? { signal } : {}),
      });
    },
  };
}
