/**
 * Alert state in the embedded DuckDB store (component `alerts`, versioned with migrate()).
 *
 *   alert_state(key PK, rule, status, state JSON, updated_at)   one row per alert (rule|field|segment)
 *   rule_cursor(rule PK, window_end)                             end of the last evaluated window
 *   alert_silences(id PK, rule, field, segment, until, created_at, comment)   id: state.ts silenceId
 *   alert_events(id PK, ts, rule, key, action, model, field, segment, severity, doc JSON)
 *                                                                history of transitions (= driftbeat-alerts)
 */
import { migrate } from '../sinks/embedded/schema.ts';
import { openStore, type EmbeddedStore } from '../sinks/embedded/store.ts';
import type { AlertState } from './lifecycle.ts';
import { silenceId, type AlertEvent, type Silence, type StateStore } from './state.ts';

export const ALERTS_COMPONENT = 'alerts';

export const ALERT_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS alert_state (
    key VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    state JSON NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );
  CREATE TABLE IF NOT EXISTS rule_cursor (
    rule VARCHAR PRIMARY KEY,
    window_end TIMESTAMPTZ NOT NULL
  );
  CREATE TABLE IF NOT EXISTS alert_silence (
    rule VARCHAR PRIMARY KEY,
    until TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    comment VARCHAR
  );
  CREATE TABLE IF NOT EXISTS alert_events (
    id VARCHAR PRIMARY KEY,
    ts TIMESTAMPTZ NOT NULL,
    rule VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    model VARCHAR,
    field VARCHAR,
    segment VARCHAR,
    severity VARCHAR,
    doc JSON NOT NULL
  );
  `,
  // Silences per rule, field or segment (state.ts silenceId); the rule-only ones keep the rule as id.
  `
  CREATE TABLE IF NOT EXISTS alert_silences (
    id VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    field VARCHAR,
    segment VARCHAR,
    until TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    comment VARCHAR
  );
  INSERT INTO alert_silences SELECT rule, rule, NULL, NULL, until, created_at, comment FROM alert_silence;
  DROP TABLE alert_silence;
  `,
];

/** JSON columns come back parsed or as text depending on the DuckDB client version; accept both. */
function json<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

export class EmbeddedStateStore implements StateStore {
  readonly kind = 'embedded' as const;
  private readonly db: EmbeddedStore;
  private readonly owned: boolean;
  private ready?: Promise<unknown>;

  /** `owned`: close() closes the store handle too. */
  constructor(db: EmbeddedStore, options: { owned?: boolean } = {}) {
    this.db = db;
    this.owned = options.owned ?? false;
  }

  init(): Promise<void> {
    this.ready ??= migrate(this.db, ALERTS_COMPONENT, ALERT_MIGRATIONS);
    return this.ready.then(() => undefined);
  }

  async loadAlerts(): Promise<AlertState[]> {
    await this.init();
    const rows = await this.db.all<{ state: unknown }>('SELECT state FROM alert_state ORDER BY key');
    return rows.map((r) => json<AlertState>(r.state));
  }

  async saveAlerts(states: AlertState[]): Promise<void> {
    if (states.length === 0) return;
    await this.init();
    await this.db.transaction(async (tx) => {
      for (const s of states) {
        await tx.run('INSERT OR REPLACE INTO alert_state VALUES ($1, $2, $3, $4, $5)', [s.key, s.rule, s.status, JSON.stringify(s), new Date(s.updatedAt)]);
      }
    });
  }

  async loadCursors(): Promise<Record<string, string>> {
    await this.init();
    const rows = await this.db.all<{ rule: string; window_end: string }>('SELECT rule, window_end FROM rule_cursor');
    return Object.fromEntries(rows.map((r) => [r.rule, r.window_end]));
  }

  async saveCursor(rule: string, windowEnd: string): Promise<void> {
    await this.init();
    await this.db.run('INSERT OR REPLACE INTO rule_cursor VALUES ($1, $2)', [rule, new Date(windowEnd)]);
  }

  async loadSilences(): Promise<Silence[]> {
    await this.init();
    const rows = await this.db.all<{ rule: string; field: string | null; segment: string | null; until: string; created_at: string; comment: string | null }>('SELECT rule, field, segment, until, created_at, comment FROM alert_silences ORDER BY id');
    return rows.map((r) => ({
      rule: r.rule, ...(r.field !== null ? { field: r.field } : {}), ...(r.segment !== null ? { segment: r.segment } : {}),
      until: r.until, created_at: r.created_at, ...(r.comment ? { comment: r.comment } : {}),
    }));
  }

  async saveSilence(s: Silence): Promise<void> {
    await this.init();
    await this.db.run('INSERT OR REPLACE INTO alert_silences VALUES ($1, $2, $3, $4, $5, $6, $7)', [silenceId(s), s.rule, s.field ?? null, s.segment ?? null, new Date(s.until), new Date(s.created_at), s.comment ?? null]);
  }

  async recordEvents(events: AlertEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.init();
    await this.db.transaction(async (tx) => {
      for (const e of events) {
        await tx.run('INSERT INTO alert_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING', [
          e.event.id, new Date(e['@timestamp']), e.rule.name, e.alert.key, e.event.action, e.model.name, e.field, e.segment, e.severity, JSON.stringify(e),
        ]);
      }
    });
  }

  async history(limit: number): Promise<AlertEvent[]> {
    await this.init();
    const rows = await this.db.all<{ doc: unknown }>('SELECT doc FROM alert_events ORDER BY ts DESC, id LIMIT $1', [limit]);
    return rows.map((r) => json<AlertEvent>(r.doc));
  }

  async close(): Promise<void> {
    if (this.owned) await this.db.close();
  }
}

/** Opens the embedded store at `path` (output.embedded.path) for alert state. */
export async function openEmbeddedStateStore(path: string): Promise<EmbeddedStateStore> {
  const db = await openStore(path);
  const s = new EmbeddedStateStore(db, { owned: true });
  try {
    await s.init();
  } catch (err) {
    await db.close();
    throw err;
  }
  return s;
}
