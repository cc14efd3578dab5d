/**
 * What `driftbeat alerts list` and `driftbeat alerts silence RULE --for 2h` do (the CLI wires them),
 * and opening the state store and lease for a config.
 */
import type { Config } from '../config/schema.ts';
import { formatDuration, parseDuration } from '../config/units.ts';
import { ConfigError } from '../errors.ts';
import { openOutputs, type Outputs } from '../outputs.ts';
import { formatThreshold, type Threshold } from '../rules/threshold.ts';
import { formatNumber } from '../notify/render.ts';
import type { AlertStatus } from './lifecycle.ts';
import { activeSilences, type Silence, type StateStore } from './state.ts';

export interface AlertListRow {
  rule: string;
  field: string;
  segment: string;
  status: AlertStatus;
  since: string;
  statistic?: string;
  value?: number | null;
  /** A number in state saved before thresholds were objects. */
  threshold?: Threshold | number | null;
  severity?: string;
  /** ISO end of an active silence of the rule. */
  silencedUntil?: string;
}

/** Alerts that are firing or pending (all of them with `all`), firing first, then by rule. */
export async function alertsList(store: StateStore, options: { all?: boolean; now?: Date } = {}): Promise<AlertListRow[]> {
  const now = options.now ?? new Date();
  const silences = activeSilences(await store.loadSilences(), now);
  const order: Record<AlertStatus, number> = { firing: 0, pending: 1, recovered: 2, ok: 3 };
  return (await store.loadAlerts())
    .filter((a) => options.all || a.status === 'firing' || a.status === 'pending')
    .sort((x, y) => order[x.status] - order[y.status] || x.rule.localeCompare(y.rule) || x.field.localeCompare(y.field) || x.segment.localeCompare(y.segment))
    .map((a) => ({
      rule: a.rule,
      field: a.field,
      segment: a.segment,
      status: a.status,
      since: a.since,
      ...(a.lastBreach ? { statistic: a.lastBreach.statistic, value: a.lastBreach.value, threshold: a.lastBreach.threshold, severity: a.lastBreach.severity } : {}),
      ...(silences.has(a.rule) ? { silencedUntil: silences.get(a.rule)! } : {}),
    }));
}

/** A plain table for the terminal. */
export function formatAlertList(rows: AlertListRow[], silences: Silence[] = [], now = new Date()): string {
  const lines: string[] = [];
  if (rows.length === 0) lines.push('No firing or pending alerts.');
  else {
    const table = [['STATUS', 'RULE', 'FIELD', 'SEGMENT', 'SINCE', 'LAST BREACH', 'SILENCED UNTIL']];
    for (const r of rows) {
      const breach = r.statistic ? `${r.statistic}=${typeof r.value === 'number' ? formatNumber(r.value) : 'n/a'}${r.threshold !== null && r.threshold !== undefined ? ` (${formatThreshold(r.threshold)})` : ''}` : '';
      table.push([r.status, r.rule, r.field, r.segment || '-', r.since, breach, r.silencedUntil ?? '']);
    }
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) lines.push(row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  }
  const active = [...activeSilences(silences, now)];
  if (active.length) lines.push('', 'Active silences:', ...active.map(([rule, until]) => `  ${rule} until ${until}`));
  return lines.join('\n') + '\n';
}

/**
 * Silences every alert of `rule` for `forMs` (or a duration such as `2h`): state changes are still
 * recorded, messages are not sent. A new silence replaces the rule's previous one; `0` ends it.
 */
export async function alertsSilence(store: StateStore, rule: string, forMs: number | string, options: { now?: Date; comment?: string } = {}): Promise<Silence> {
  const ms = typeof forMs === 'number' ? forMs : parseDuration(forMs);
  if (!rule.trim()) throw new ConfigError([{ key: 'rule', message: 'expected a rule name, received an empty string' }], 'ERR_ALERT_SILENCE');
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new ConfigError([{ key: '--for', message: `expected a duration such as 2h or 30m, received ${JSON.stringify(forMs)}` }], 'ERR_ALERT_SILENCE');
  }
  const now = options.now ?? new Date();
  const silence: Silence = { rule, until: new Date(now.getTime() + ms).toISOString(), created_at: now.toISOString(), ...(options.comment ? { comment: options.comment } : {}) };
  await store.init();
  await store.saveSilence(silence);
  return silence;
}

export function describeSilence(s: Silence, now = new Date()): string {
  const left = Date.parse(s.until) - now.getTime();
  return left <= 0 ? `Silence of rule "${s.rule}" ended.` : `Rule "${s.rule}" silenced for ${formatDuration(Math.round(left / 60_000) * 60_000 || Math.round(left / 1000) * 1000)}, until ${s.until}.`;
}

export interface OpenedState {
  store: StateStore;
  close(): Promise<void>;
}

/** The state store of the configured output, for one command; close() releases the connection or file. */
export async function openStateStore(config: Pick<Config, 'output'>, outputs?: Outputs): Promise<OpenedState> {
  const out = outputs ?? openOutputs(config, { name: 'alerts' });
  try {
    return { store: await out.stateStore(), close: async () => { if (!outputs) await out.close(); } };
  } catch (err) {
    if (!outputs) await out.close().catch(() => undefined);
    throw err;
  }
}
