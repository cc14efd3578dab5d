/** RuleResult builders for alert and notifier tests. */
import type { RuleResult } from '../../agent/rules/result.ts';

const HOUR = 3_600_000;
export const T0 = Date.parse('2024-05-01T00:00:00.000Z');

/** The result of window number `n` (hourly windows from T0). */
export function result(n: number, drifted: boolean, over: Partial<RuleResult> = {}): RuleResult {
  const from = new Date(T0 + n * HOUR).toISOString();
  const to = new Date(T0 + (n + 1) * HOUR).toISOString();
  return {
    rule: 'fraud-country',
    type: 'unseen_categories',
    model: 'fraud',
    version: '1.4.2',
    field: 'features.country',
    segment: '',
    window: { from, to },
    status: drifted ? 'drifted' : 'ok',
    statistic: 'unseen_share',
    value: drifted ? 0.125 : 0.001,
    threshold: { value: 0.05, direction: 'above', unit: 'share' },
    drifted,
    reference_count: 50000,
    current_count: 1200,
    severity: 'critical',
    details: drifted ? { unseen_values: [{ value: 'XK', count: 120 }, { value: 'ZZ', count: 30 }], na_share: 0.02 } : {},
    reference: 'profile:fraud@1.4.2',
    evaluated_at: to,
    ...over,
  };
}

/** `now` for window n: just after its end. */
export function at(n: number): Date {
  return new Date(T0 + (n + 1) * HOUR + 60_000);
}

import { step } from '../../agent/alerts/lifecycle.ts';
import type { AlertMessage } from '../../agent/notify/render.ts';
import { buildMessage } from '../../agent/alerts/message.ts';

/** A firing message (window n) and the recovery message that follows it (window n+1). */
export function messages(n = 0, over: Partial<RuleResult> = {}, kibanaUrl?: string): { firing: AlertMessage; recovered: AlertMessage } {
  const f = step(undefined, result(n, true, over), at(n));
  const r = step(f.state, result(n + 1, false, over), at(n + 1));
  return { firing: buildMessage(f.transitions[0]!, f.state, kibanaUrl), recovered: buildMessage(r.transitions[0]!, r.state, kibanaUrl) };
}
