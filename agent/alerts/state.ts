/**
 * Where alert state lives between evaluations and across restarts: alert states, rule cursors
 * (end of the last evaluated window per rule), silences, and the history of transitions (the
 * `driftbeat-alerts` index, so Kibana shows it). Implementations: Elasticsearch (state-es.ts),
 * embedded DuckDB (state-embedded.ts) and memory (tests).
 */
import { createHash } from 'node:crypto';
import type { Threshold } from '../rules/threshold.ts';
import { summarize, type AlertState, type Transition } from './lifecycle.ts';

export interface Silence {
  rule: string;
  /** ISO instant the silence ends. */
  until: string;
  created_at: string;
  comment?: string;
}

/** One transition as stored in `<prefix>-alerts` (ECS-style names, flat enough for Kibana). */
export interface AlertEvent {
  '@timestamp': string;
  event: { kind: 'alert'; action: string; id: string };
  alert: { key: string; from: string; to: string; message?: string; silenced?: boolean };
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
    },
    rule: { name: t.rule, type: r.type },
    model: { name: r.model, ...(r.version !== undefined ? { version: r.version } : {}) },
    field: t.field,
    segment: t.segment,
    ...summarize(r),
    details: r.details,
  };
}

/** Active silences by rule (latest `until` wins). */
export function activeSilences(silences: Silence[], now: Date): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of silences) {
    if (Date.parse(s.until) <= now.getTime()) continue;
    const prev = out.get(s.rule);
    if (!prev || Date.parse(prev) < Date.parse(s.until)) out.set(s.rule, s.until);
  }
  return out;
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
  async saveSilence(s: Silence): Promise<void> { this.silences.set(s.rule, { ...s }); }
  async recordEvents(events: AlertEvent[]): Promise<void> { for (const e of events) if (!this.events.has(e.event.id)) this.events.set(e.event.id, structuredClone(e)); }
  async history(limit: number): Promise<AlertEvent[]> {
    return [...this.events.values()].sort((a, b) => b['@timestamp'].localeCompare(a['@timestamp'])).slice(0, limit);
  }
  async close(): Promise<void> {}
}
