/** Slack incoming webhook: one Block Kit message per alert message. */
import type { NotifierConfig } from '../config/schema.ts';
import { deliverHttp, type Notifier } from './notifier.ts';
import { renderSlack, type AlertMessage } from './render.ts';

type SlackConfig = Extract<NotifierConfig, { type: 'slack' }>;

export function createSlackNotifier(name: string, config: SlackConfig, options: { timeoutMs?: number } = {}): Notifier {
  return {
    name,
    type: 'slack',
    async send(msg: AlertMessage, signal?: AbortSignal) {
      const payload = renderSlack(msg, {
        ...(config.channel ? { channel: config.channel } : {}),
        ...(config.username ? { username: config.username } : {}),
      });
      await deliverHttp(name, {
        url: config.webhookUrl,
        body: JSON.stringify(payload),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(signal ? { signal } : {}),
      });
    },
  };
}
