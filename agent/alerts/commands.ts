/**
 * What `driftbeat alerts list`, `alerts silence RULE [--field F] [--segment S] --for 2h` and
 * `alerts unsilence RULE [--field F] [--segment S]` do (the CLI wires them),
 * and opening the state store and lease for a config.
 */
import type { Config } from '../config/schema.ts';
import { formatDuration, parseDuration } from '../config/units.ts';
import { ConfigError } from '../errors.ts';
import { openOutputs, type Outputs } from '../outputs.ts';
import { formatThreshold, type Threshold } from '../rules/threshold.ts';
import { formatNumber } from '../notify/render.ts';
import type { AlertStatus } from './lifecycle.ts';
import { activeSilences, describeScope, silencedUntil, silenceId, type Silence, type StateStore } from './state.ts';
import { basename, extname } from 'node:path';
import { resolvePath } from '../config/load.ts';
import { loadRulesDetailed } from '../rules/load.ts';
import { normalizeField } from '../rules/schema.ts';

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
  /** ISO end of the silence in force that covers this alert. */
  silencedUntil?: string;
}

/** Alerts that are firing or pending (all of them with `all`), firing first, then by rule. */
export async function alertsList(store: StateStore, options: { all?: boolean; now?: Date } = {}): Promise<AlertListRow[]> {
  const now = options.now ?? new Date();
  const silences = await store.loadSilences();
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
      ...((until) => (until ? { silencedUntil: until } : {}))(silencedUntil(silences, a, now)),
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
  if (active.length) lines.push('', 'Active silences:', ...active.map((x) => `  ${describeScope(x)} until ${x.until}`));
  return lines.join('\n') + '\n';
}

/** What a silence covers: a rule, optionally one field and/or one segment of it. */
export interface SilenceScope {
  rule: string;
  field?: string;
  segment?: string;
}

/**
 * Checks a scope against the rules that exist: those of the config's rules.path and those with
 * alerts in the store. An unknown rule name is refused with the known ones (a typo would silence
 * nothing, silently). A bare field name means a feature, as in rule files.
 */
export function checkScope(scope: SilenceScope, knownRules: readonly string[]): SilenceScope {
  if (!scope.rule.trim()) throw new ConfigError([{ key: 'rule', message: 'expected a rule name, received an empty string' }], 'ERR_ALERT_SILENCE');
  if (!knownRules.includes(scope.rule)) {
    const list = knownRules.length ? `known rules: ${[...knownRules].sort().join(', ')}` : 'no rules are known (rules.path is not set and the state store has no alerts)';
    throw new ConfigError([{ key: 'rule', message: `unknown rule "${scope.rule}"; ${list}` }], 'ERR_ALERT_UNKNOWN_RULE');
  }
  if (scope.segment !== undefined && !/^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$/.test(scope.segment)) {
    throw new ConfigError([{ key: '--segment', message: `expected a segment such as model.version=1.4.2, received ${JSON.stringify(scope.segment)}` }], 'ERR_ALERT_SILENCE');
  }
  return {
    rule: scope.rule,
    ...(scope.field !== undefined ? { field: scope.field === '*' || scope.field.includes('.') ? scope.field : normalizeField(scope.field) } : {}),
    ...(scope.segment !== undefined ? { segment: scope.segment } : {}),
  };
}

/**
 * Silences the alerts of a scope (a rule, or one field and/or segment of it) for `forMs` (or a
 * duration such as `2h`): state changes are still recorded, messages are not sent. A new silence
 * replaces the previous one of the same scope. Check the scope with checkScope first.
 */
export async function alertsSilence(store: StateStore, scope: SilenceScope | string, forMs: number | string, options: { now?: Date; comment?: string } = {}): Promise<Silence> {
  const sc = typeof scope === 'string' ? { rule: scope } : scope;
  const ms = typeof forMs === 'number' ? forMs : parseDuration(forMs);
  if (!sc.rule.trim()) throw new ConfigError([{ key: 'rule', message: 'expected a rule name, received an empty string' }], 'ERR_ALERT_SILENCE');
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new ConfigError([{ key: '--for', message: `expected a duration such as 2h or 30m, received ${JSON.stringify(forMs)}` }], 'ERR_ALERT_SILENCE');
  }
  const now = options.now ?? new Date();
  const silence: Silence = { ...sc, until: new Date(now.getTime() + ms).toISOString(), created_at: now.toISOString(), ...(options.comment ? { comment: options.comment } : {}) };
  await store.init();
  await store.saveSilence(silence);
  return silence;
}

/**
 * Lifts the silences in force within a scope: the rule's silences of every scope when only the
 * rule is given, else those of exactly that field/segment. Returns the silences ended (empty when
 * none was in force).
 */
export async function alertsUnsilence(store: StateStore, scope: SilenceScope, options: { now?: Date } = {}): Promise<Silence[]> {
  const now = options.now ?? new Date();
  await store.init();
  const whole = scope.field === undefined && scope.segment === undefined;
  const ended = activeSilences(await store.loadSilences(), now)
    .filter((s) => s.rule === scope.rule && (whole || silenceId(s) === silenceId(scope)))
    .map((s) => ({ ...s, until: now.toISOString() }));
  for (const s of ended) await store.saveSilence(s);
  return ended;
}

export function describeSilence(s: Silence, now = new Date()): string {
  const left = Date.parse(s.until) - now.getTime();
  const what = describeScope(s);
  return left <= 0 ? `Silence of ${what} ended.` : `${what.charAt(0).toUpperCase()}${what.slice(1)} silenced for ${formatDuration(Math.round(left / 60_000) * 60_000 || Math.round(left / 1000) * 1000)}, until ${s.until}.`;
}

/** Rule names a silence may name: the config's rules (rules.path) and the rules with stored alerts. */
export async function knownRuleNames(config: Pick<Config, 'rules'>, store: StateStore): Promise<string[]> {
  const names = new Set<string>();
  if (config.rules.path) for (const r of loadRulesDetailed([resolvePath(config.rules.path)]).perFile) names.add(r.rule?.name ?? basename(r.file, extname(r.file)));
  await store.init();
  for (const a of await store.loadAlerts()) names.add(a.rule);
  return [...names];
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
