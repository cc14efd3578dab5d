/**
 * The alert state machine, pure: previous state + one RuleResult + now + the rule's policy ->
 * next state + the transitions to record and the messages to send. No I/O, no clock.
 *
 *   ok ──breach──▶ pending (until `for` consecutive breaches) ──▶ firing ──ok──▶ recovered ──ok──▶ ok
 *
 * - `no_data`, `no_reference` and `error` results leave the state alone: a silent model or a failing query is not
 *   a recovery (the volume rule is the one that reports a silent model).
 * - A result for a window at or before the last one applied is ignored, so replaying a window after
 *   a restart never repeats a message.
 * - A silenced alert still changes state and is recorded, but sends nothing; if it is still
 *   firing when the silence ends, the firing message goes out then. A recovery is announced only
 *   when its firing was.
 */
import { alertKey, type RuleResult } from '../rules/result.ts';
import type { AlertStatus, MessageKind, ResultSummary } from '../notify/render.ts';

/** The message vocabulary is notify's (what a message announces); re-exported for the state's users. */
export type { AlertStatus, MessageKind, ResultSummary };

export interface AlertState {
  /** rule|field|segment (alertKey). */
  key: string;
  rule: string;
  field: string;
  segment: string;
  model: string;
  version?: string;
  status: AlertStatus;
  /** When the current status began (ISO). */
  since: string;
  /** Consecutive breaching results. */
  breaches: number;
  /** When the current firing episode began (ISO). */
  firingSince?: string;
  /** Whether the firing of the current episode was announced (false while silenced). */
  notified: boolean;
  /** Last firing or realert message of the current episode (ISO). */
  lastNotifiedAt?: string;
  /** End of the last window applied (ISO); older results are ignored. */
  lastWindowTo?: string;
  /** The last breaching result, for messages. */
  lastBreach?: ResultSummary;
  /** The rule's type and notifiers when last applied: an alert of a rule since removed still says what it was and where to tell. */
  type?: RuleResult['type'];
  notify?: string[];
  /** Why the alert ended other than by a clean window, e.g. "rule removed". */
  reason?: string;
  updatedAt: string;
}

export interface AlertPolicy {
  /** Consecutive breaches before firing; default 1. */
  for?: number;
  /** Re-send while still firing, every this many ms; 0 or absent: never. */
  realertMs?: number;
  /** The alert sends nothing until this instant (ISO). */
  silencedUntil?: string;
}

export interface Transition {
  key: string;
  rule: string;
  field: string;
  segment: string;
  from: AlertStatus;
  to: AlertStatus;
  at: string;
  /** Set when a message must be sent for this transition. */
  message?: MessageKind;
  /** True when a message would have been sent but the alert is silenced. */
  silenced?: boolean;
  /** Why, when not a result's verdict: "rule removed". */
  reason?: string;
  result: RuleResult;
}

export interface StepOutcome {
  state: AlertState;
  transitions: Transition[];
}

export function summarize(r: RuleResult): ResultSummary {
  return {
    statistic: r.statistic,
    value: r.value,
    threshold: r.threshold,
    window: { from: r.window.from, to: r.window.to },
    current_count: r.current_count,
    reference_count: r.reference_count,
    severity: r.severity,
  };
}

export function initialState(r: RuleResult, now: Date): AlertState {
  return {
    key: alertKey(r),
    rule: r.rule,
    field: r.field,
    segment: r.segment,
    model: r.model,
    ...(r.version !== undefined ? { version: r.version } : {}),
    status: 'ok',
    since: now.toISOString(),
    breaches: 0,
    notified: false,
    updatedAt: now.toISOString(),
  };
}

function isSilenced(policy: AlertPolicy, now: Date): boolean {
  return policy.silencedUntil !== undefined && Date.parse(policy.silencedUntil) > now.getTime();
}

/** Applies one result. `prev` undefined means the alert was never seen (state ok). */
export function step(prev: AlertState | undefined, result: RuleResult, now: Date, policy: AlertPolicy = {}): StepOutcome {
  const base = prev ?? initialState(result, now);
  if (base.lastWindowTo && Date.parse(result.window.to) <= Date.parse(base.lastWindowTo)) {
    return { state: base, transitions: [] };
  }
  if (result.status === 'no_data' || result.status === 'no_reference' || result.status === 'error') {
    return { state: { ...base, lastWindowTo: result.window.to, updatedAt: now.toISOString() }, transitions: [] };
  }

  const at = now.toISOString();
  const silenced = isSilenced(policy, now);
  const need = Math.max(1, Math.floor(policy.for ?? 1));
  const s: AlertState = { ...base, lastWindowTo: result.window.to, updatedAt: at, model: result.model };
  if (result.version !== undefined) s.version = result.version;
  const transitions: Transition[] = [];
  const move = (to: AlertStatus, message?: MessageKind) => {
    const t: Transition = { key: s.key, rule: s.rule, field: s.field, segment: s.segment, from: s.status, to, at, result };
    if (message && silenced) t.silenced = true;
    else if (message) t.message = message;
    transitions.push(t);
    s.status = to;
    s.since = at;
  };

  if (result.drifted || result.status === 'drifted') {
    s.breaches = base.breaches + 1;
    s.lastBreach = summarize(result);
    if (s.status === 'firing') {
      if (!s.notified && !silenced) {
        // The silence ended while the alert kept firing: announce it now.
        transitions.push({ key: s.key, rule: s.rule, field: s.field, segment: s.segment, from: 'firing', to: 'firing', at, result, message: 'firing' });
        s.notified = true;
        s.lastNotifiedAt = at;
      } else if (s.notified && !silenced && policy.realertMs && policy.realertMs > 0 && s.lastNotifiedAt
        && now.getTime() - Date.parse(s.lastNotifiedAt) >= policy.realertMs) {
        transitions.push({ key: s.key, rule: s.rule, field: s.field, segment: s.segment, from: 'firing', to: 'firing', at, result, message: 'realert' });
        s.lastNotifiedAt = at;
      }
    } else if (s.breaches >= need) {
      move('firing', 'firing');
      s.firingSince = at;
      s.notified = !silenced;
      if (silenced) delete s.lastNotifiedAt;
      else s.lastNotifiedAt = at;
    } else if (s.status !== 'pending') {
      move('pending');
    }
    return { state: s, transitions };
  }

  // A clean result.
  s.breaches = 0;
  if (s.status === 'firing') {
    const announce = s.notified;
    move('recovered', announce ? 'recovered' : undefined);
    s.notified = false;
    delete s.lastNotifiedAt;
  } else if (s.status === 'pending' || s.status === 'recovered') {
    move('ok');
  }
  return { state: s, transitions };
}

/**
 * Ends an alert whose rule no longer exists: firing becomes recovered (with a recovery message when
 * its firing was announced), pending becomes ok, both with `reason`; ok and recovered alerts are
 * left as they are (undefined). The result quoted is the last breach with no value.
 */
export function retire(state: AlertState, now: Date, reason: string): StepOutcome | undefined {
  if (state.status !== 'firing' && state.status !== 'pending') return undefined;
  const at = now.toISOString();
  const b = state.lastBreach;
  const window = b?.window ?? { from: at, to: at };
  const result: RuleResult = {
    rule: state.rule, type: state.type ?? 'volume', model: state.model, ...(state.version !== undefined ? { version: state.version } : {}),
    field: state.field, segment: state.segment, window, status: 'ok', statistic: b?.statistic ?? '', value: null,
    threshold: b?.threshold ?? null, drifted: false, reference_count: null, current_count: 0, severity: b?.severity ?? 'warning',
    details: { reason }, reference: '', evaluated_at: at,
  };
  const to: AlertStatus = state.status === 'firing' ? 'recovered' : 'ok';
  const t: Transition = { key: state.key, rule: state.rule, field: state.field, segment: state.segment, from: state.status, to, at, reason, result };
  if (to === 'recovered' && state.notified) t.message = 'recovered';
  const next: AlertState = { ...state, status: to, since: at, breaches: 0, notified: false, reason, updatedAt: at };
  delete next.lastNotifiedAt;
  return { state: next, transitions: [t] };
}
