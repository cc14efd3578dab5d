/**
 * Where alert state lives between evaluations and across restarts: alert states, rule cursors
 * (end of the last evaluated window per rule), silences, and the history of transitions (the
 * `driftbeat-alerts` index, so Kibana shows it). Implementations: Elasticsearch (state-es.ts),
 * embedded DuckDB (state-embedded.ts) and memory (tests).
 */
import { createHash } from 'node:crypto';
import type { Threshold } from '../rules/threshold.ts';
import { summarize, type AlertState, type Transition } from './lifecycle.ts';

/**
 * A silence of a rule's alerts, all of them or those of one field and/or one segment (an alert is
 * keyed rule + field + segment). A new silence of the same scope replaces the old one; a silence
 * whose `until` has passed (unsilence sets it to now) no longer applies.
 */
export interface Silence {
  rule: string;
  /** Only the alerts of this field (`features.country`); absent: every field. */
  field?: string;
  /** Only the alerts of this segment (`model.version=1.4.2`); absent: every segment. */
  segment?: string;
  /** ISO instant the silence ends. */
  until: string;
  created_at: string;
  comment?: string;
}

/** One transition as stored in `<prefix>-alerts` (ECS-style names, flat enough for Kibana). */
export interface AlertEvent {
  '@timestamp': string;
  event: { kind: 'alert'; action: string; id: string };
  alert: { key: string; from: string; to: string; message?: string; silenced?: boolean; reason?: string };
  rule: { name: string; type: string };
  model: { name: string; version?: string };
  field: string;
  segment: string;
  severity: string;
  statistic: string;
  value: number | null;
  threshold: Threshold | null;
  window: { from: string; to: string };
  current_count: number;
  reference_count: number | null;
  details: Record<string, unknown>;
}

export interface StateStore {
  readonly kind: 'memory' | 'embedded' | 'elasticsearch';
  /** Creates indices/tables when missing. Idempotent. */
  init(): Promise<void>;
  loadAlerts(): Promise<AlertState[]>;
  saveAlerts(states: AlertState[]): Promise<void>;
  loadCursors(): Promise<Record<string, string>>;
  saveCursor(rule: string, windowEnd: string): Promise<void>;
  loadSilences(): Promise<Silence[]>;
  saveSilence(silence: Silence): Promise<void>;
  /** Appends to the history; an event already stored (same id) is not stored twice. */
  recordEvents(events: AlertEvent[]): Promise<void>;
  /** Newest first. */
  history(limit: number): Promise<AlertEvent[]>;
  close(): Promise<void>;
}

export function eventId(t: Pick<Transition, 'key' | 'to'>, windowTo: string): string {
  return createHash('sha256').update(`${t.key}\u0000${t.to}\u0000${windowTo}`).digest('hex').slice(0, 24);
}

export function toEvent(t: Transition): AlertEvent {
  const r = t.result;
  return {
    '@timestamp': t.at,
    event: { kind: 'alert', action: t.from === t.to ? (t.message ?? t.to) : t.to, id: eventId(t, r.window.to) },
    alert: {
      key: t.key,
      from: t.from,
      to: t.to,
      ...(t.message ? { message: t.message } : {}),
      ...(t.silenced ? { silenced: true } : {}),
      ...(t.reason ? { reason: t.reason } : {}),
    },
    rule: { name: t.rule, type: r.type },
    model: { name: r.model, ...(r.version !== undefined ? { version: r.version } : {}) },
    field: t.field,
    segment: t.segment,
    ...summarize(r),
    details: r.details,
  };
}

/** The scope of a silence as one id: the rule alone (as stores before scopes wrote it), or rule|field|segment. */
export function silenceId(s: Pick<Silence, 'rule' | 'field' | 'segment'>): string {
  return s.field === undefined && s.segment === undefined ? s.rule : `${s.rule}|${s.field ?? '*'}|${s.segment ?? '*'}`;
}

/** Whether a silence covers an alert of rule + field + segment. */
export function silenceCovers(s: Pick<Silence, 'rule' | 'field' | 'segment'>, a: { rule: string; field: string; segment: string }): boolean {
  return s.rule === a.rule && (s.field === undefined || s.field === a.field) && (s.segment === undefined || s.segment === a.segment);
}

/** Silences still in force at `now`, by rule then scope. */
export function activeSilences(silences: readonly Silence[], now: Date): Silence[] {
  return silences.filter((s) => Date.parse(s.until) > now.getTime()).sort((a, b) => silenceId(a).localeCompare(silenceId(b)));
}

/** The latest end of the silences in force that cover the alert, or undefined. */
export function silencedUntil(silences: readonly Silence[], alert: { rule: string; field: string; segment: string }, now: Date): string | undefined {
  let until: string | undefined;
  for (const s of activeSilences(silences, now)) {
    if (silenceCovers(s, alert) && (!until || Date.parse(s.until) > Date.parse(until))) until = s.until;
  }
  return until;
}

/** `rule`, `rule field features.country`, `rule segment model.version=1.4.2`: what a silence covers, for people. */
export function describeScope(s: Pick<Silence, 'rule' | 'field' | 'segment'>): string {
  return `rule "${s.rule}"${s.field !== undefined ? ` field ${s.field}` : ''}${s.segment !== undefined ? ` segment ${s.segment}` : ''}`;
}

/** In memory: for tests and for `rules test`, where nothing should persist. */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly alerts = new Map<string, AlertState>();
  readonly cursors: Record<string, string> = {};
  readonly silences = new Map<string, Silence>();
  readonly events = new Map<string, AlertEvent>();

  async init(): Promise<void> {}
  async loadAlerts(): Promise<AlertState[]> { return [...this.alerts.values()].map((a) => structuredClone(a)); }
  async saveAlerts(states: AlertState[]): Promise<void> { for (const s of states) this.alerts.set(s.key, structuredClone(s)); }
  async loadCursors(): Promise<Record<string, string>> { return { ...this.cursors }; }
  async saveCursor(rule: string, windowEnd: string): Promise<void> { this.cursors[rule] = windowEnd; }
  async loadSilences(): Promise<Silence[]> { return [...this.silences.values()]; }
  async saveSilence(s: Silence): Promise<void> { this.silences.set(silenceId(s), { ...s }); }
  async recordEvents(events: AlertEvent[]): Promise<void> { for (const e of events) if (!this.events.has(e.event.id)) this.events.set(e.event.id, structuredClone(e)); }
  async history(limit: number): Promise<AlertEvent[]> {
    return [...this.events.values()].sort((a, b) => b['@timestamp'].localeCompare(a['@timestamp'])).slice(0, limit);
  }
  async close(): Promise<void> {}
}
