/**
 * The outbox message for an alert transition: what notify renders and delivers (agent/notify/).
 * Built here, beside the state machine that decides it, so notify never imports alerts.
 */
import { kibanaLink, messageId, type AlertMessage } from '../notify/render.ts';
import type { AlertState, Transition } from './lifecycle.ts';

export function buildMessage(t: Transition, state: AlertState, kibanaUrl?: string): AlertMessage {
  const kind = t.message!;
  const r = t.result;
  return {
    id: messageId(t, kind, r.window.to),
    kind,
    at: t.at,
    alert: {
      key: state.key,
      rule: state.rule,
      field: state.field,
      segment: state.segment,
      model: r.model,
      ...(r.version !== undefined ? { version: r.version } : {}),
      status: state.status,
      ...(state.firingSince ? { firing_since: state.firingSince } : {}),
    },
    result: r,
    ...(kind === 'recovered' && state.lastBreach ? { breach: state.lastBreach } : {}),
    ...(t.reason ? { reason: t.reason } : {}),
    ...(kibanaUrl ? { link: kibanaLink(kibanaUrl, r) } : {}),
  };
}
