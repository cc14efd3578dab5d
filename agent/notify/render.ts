/**
 * What an alert message says, built once (`describe`) and rendered three ways: plain text (log,
 * email), HTML (email) and Slack Block Kit. All three carry the same content.
 */
import type { RuleResult } from '../rules/result.ts';
import { formatThreshold, type Threshold } from '../rules/threshold.ts';
import { createHash } from 'node:crypto';

/** The saved-object id of the model overview dashboard shipped in kibana/. */
export const KIBANA_DASHBOARD_ID = 'driftbeat-model-overview';

/**
 * The message vocabulary. The alert state machine (agent/alerts/lifecycle.ts) uses these types and
 * builds messages (agent/alerts/message.ts); notify only renders and delivers them, so it imports
 * nothing of alerts.
 */
export type AlertStatus = 'ok' | 'pending' | 'firing' | 'recovered';
export type MessageKind = 'firing' | 'realert' | 'recovered';

/** The part of a result kept in the alert state, so a recovery message can quote the breach. */
export type ResultSummary = Pick<RuleResult, 'statistic' | 'value' | 'threshold' | 'window' | 'current_count' | 'reference_count' | 'severity'>;

/** One message in the outbox: plain JSON, self-contained (renderable after a restart). */
export interface AlertMessage {
  /** Deterministic: the same transition always gets the same id (outbox de-duplication). */
  id: string;
  kind: MessageKind;
  at: string;
  alert: {
    key: string;
    rule: string;
    field: string;
    segment: string;
    model: string;
    version?: string;
    status: AlertStatus;
    firing_since?: string;
  };
  result: RuleResult;
  /** For a recovery: the last breaching result of the episode. */
  breach?: ResultSummary;
  /** Kibana dashboard link for the window, when a Kibana URL is configured. */
  link?: string;
  /** Why the alert ended other than by a clean window: "rule removed". */
  reason?: string;
}

export function messageId(t: { key: string }, kind: MessageKind, windowTo: string): string {
  return createHash('sha256').update(`${t.key}\u0000${kind}\u0000${windowTo}`).digest('hex').slice(0, 24);
}

export function kibanaLink(kibanaUrl: string, r: Pick<RuleResult, 'window' | 'model'>): string {
  const base = kibanaUrl.replace(/\/+$/, '');
  const rison = (s: string) => `'${s.replace(/!/g, '!!').replace(/'/g, "!'")}'`;
  const g = `(time:(from:${rison(r.window.from)},to:${rison(r.window.to)}))`;
  const a = `(query:(language:kuery,query:${rison(`model.name:"${r.model}"`)}))`;
  return `${base}/app/dashboards#/view/${KIBANA_DASHBOARD_ID}?_g=${encodeURIComponent(g)}&_a=${encodeURIComponent(a)}`;
}

// ---------------------------------------------------------------------------------------------
// content

export interface Content {
  /** One line: FIRING/RECOVERED, severity, rule, field, model. */
  title: string;
  rows: Array<[label: string, value: string]>;
  /** From the result's details: unseen values, OOV words, NA shares... */
  details: Array<[label: string, value: string]>;
  link?: string;
}

const MAX_ITEMS = 10;

export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 0.001 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

function label(key: string): string {
  const s = key.replace(/[_.]+/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const ITEM_NAME = ['value', 'key', 'word', 'token', 'name', 'category', 'field', 'bin'];
const ITEM_COUNT = ['count', 'doc_count', 'share', 'value_share', 'rate', 'current', 'frequency'];

function scalar(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

/** Renders one detail value as a short line: `a (12), b (3) and 4 more`. */
export function detailText(v: unknown): string {
  if (Array.isArray(v)) {
    const items = v.slice(0, MAX_ITEMS).map((item) => {
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        const o = item as Record<string, unknown>;
        // A bound that was broken (prediction_stats violations): the value against the bound.
        if (typeof o.statistic === 'string' && typeof o.value === 'number' && (typeof o.max === 'number' || typeof o.min === 'number')) {
          const over = typeof o.max === 'number' && o.value > o.max;
          return `${o.statistic} ${formatNumber(o.value)} ${over ? `> max ${formatNumber(o.max as number)}` : `< min ${formatNumber(o.min as number)}`}`;
        }
        const name = ITEM_NAME.find((k) => k in o);
        const count = ITEM_COUNT.find((k) => k in o && k !== name);
        if (name !== undefined) return count !== undefined ? `${scalar(o[name])} (${scalar(o[count])})` : scalar(o[name]);
      }
      return scalar(item);
    });
    const more = v.length > MAX_ITEMS ? ` and ${v.length - MAX_ITEMS} more` : '';
    return items.join(', ') + more;
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    const items = entries.slice(0, MAX_ITEMS).map(([k, x]) => `${k}: ${x && typeof x === 'object' ? JSON.stringify(x) : scalar(x)}`);
    const more = entries.length > MAX_ITEMS ? ` and ${entries.length - MAX_ITEMS} more` : '';
    return items.join(', ') + more;
  }
  return scalar(v);
}

function modelText(m: { model: string; version?: string }): string {
  return m.version ? `${m.model} ${m.version}` : m.model;
}

export function describe(msg: AlertMessage): Content {
  const r = msg.result;
  const shown: ResultSummary = msg.kind === 'recovered' ? (msg.breach ?? r) : r;
  const verb = msg.kind === 'recovered' ? 'RECOVERED' : msg.kind === 'realert' ? 'STILL FIRING' : 'FIRING';
  const where = msg.alert.segment ? ` [${msg.alert.segment}]` : '';
  const title = `${verb}${msg.reason ? ` (${msg.reason})` : ''} ${r.severity}: ${msg.alert.rule} on ${msg.alert.field}${where} (${modelText(r)})`;
  const cmp = (s: { statistic: string; value: number | null; threshold: Threshold | number | null }) =>
    `${s.statistic} = ${formatNumber(s.value)}${s.threshold !== null ? ` (threshold ${formatThreshold(s.threshold)})` : ''}`;
  const rows: Array<[string, string]> = [
    ['Rule', `${r.rule} (${r.type})`],
    ['Severity', r.severity],
    ['Model', modelText(r)],
    ['Field', msg.alert.field + where],
  ];
  if (msg.reason) {
    rows.push(['Reason', msg.reason]);
    if (msg.breach) rows.push(['Was', cmp(msg.breach)]);
  } else if (msg.kind === 'recovered') {
    rows.push(['Now', cmp(r)]);
    if (msg.breach) rows.push(['Was', cmp(msg.breach)]);
  } else {
    rows.push(['Statistic', cmp(shown)]);
  }
  rows.push(['Window', `${r.window.from} to ${r.window.to}`]);
  rows.push(['Samples', `current ${r.current_count}${r.reference_count !== null ? `, reference ${r.reference_count}` : ''}`]);
  rows.push(['Reference', r.reference]);
  if (msg.alert.firing_since && msg.kind !== 'firing') rows.push(['Firing since', msg.alert.firing_since]);
  const details: Array<[string, string]> = msg.kind === 'recovered'
    ? []
    : Object.entries(r.details ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [label(k), detailText(v)]);
  return { title, rows, details, ...(msg.link ? { link: msg.link } : {}) };
}

// ---------------------------------------------------------------------------------------------
// plain text and HTML (email, log)

export function subject(msg: AlertMessage, prefix = '[driftbeat]'): string {
  const s = describe(msg).title;
  return truncate(prefix ? `${prefix} ${s}` : s, 250);
}

export function renderText(msg: AlertMessage): string {
  const c = describe(msg);
  const lines = [c.title, '', ...c.rows.map(([k, v]) => `${k}: ${v}`)];
  if (c.details.length) lines.push('', ...c.details.map(([k, v]) => `${k}: ${v}`));
  if (c.link) lines.push('', `Kibana: ${c.link}`);
  return lines.join('\n') + '\n';
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function renderHtml(msg: AlertMessage): string {
  const c = describe(msg);
  const color = msg.kind === 'recovered' ? '#2e7d32' : msg.result.severity === 'critical' ? '#c62828' : '#ef6c00';
  const row = ([k, v]: [string, string]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  const parts = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2 style="color:${color}">${escapeHtml(c.title)}</h2>`,
    `<table>${c.rows.map(row).join('')}</table>`,
  ];
  if (c.details.length) parts.push(`<h3>Details</h3><table>${c.details.map(row).join('')}</table>`);
  if (c.link) parts.push(`<p><a href="${escapeHtml(c.link)}">Open in Kibana</a></p>`);
  parts.push('</body></html>');
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Slack Block Kit

/** Slack's limits (api.slack.com/reference/block-kit): blocks per message, header, section text, fields. */
export const SLACK_LIMITS = { blocks: 50, headerText: 150, sectionText: 3000, fields: 10, fieldText: 2000, text: 4000, url: 3000 };

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Slack mrkdwn needs only &, < and > escaped. */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface SlackPayload {
  text: string;
  blocks: Array<Record<string, unknown>>;
  channel?: string;
  username?: string;
}

export function renderSlack(msg: AlertMessage, options: { channel?: string; username?: string } = {}): SlackPayload {
  const c = describe(msg);
  const emoji = msg.kind === 'recovered' ? ':white_check_mark:' : msg.result.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: truncate(c.title, SLACK_LIMITS.headerText), emoji: true } },
    {
      type: 'section',
      fields: c.rows.slice(0, SLACK_LIMITS.fields).map(([k, v]) => ({
        type: 'mrkdwn',
        text: truncate(`*${escapeSlack(k)}*\n${escapeSlack(v)}`, SLACK_LIMITS.fieldText),
      })),
    },
  ];
  const extraRows = c.rows.slice(SLACK_LIMITS.fields);
  const detailLines = [...extraRows, ...c.details].map(([k, v]) => `*${escapeSlack(k)}*: ${escapeSlack(v)}`);
  // Details are grouped into as few sections as the per-section text limit allows.
  let buf = '';
  const flush = () => {
    if (buf) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(buf, SLACK_LIMITS.sectionText) } });
    buf = '';
  };
  for (const line of detailLines) {
    if (buf && buf.length + 1 + line.length > SLACK_LIMITS.sectionText) flush();
    buf = buf ? `${buf}\n${line}` : line;
  }
  flush();
  if (c.link && c.link.length <= SLACK_LIMITS.url) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Kibana' }, url: c.link }],
    });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`${emoji} driftbeat · ${escapeSlack(msg.alert.key)} · ${msg.at}`, SLACK_LIMITS.fieldText) }] });
  const capped = blocks.length > SLACK_LIMITS.blocks ? [...blocks.slice(0, SLACK_LIMITS.blocks - 1), blocks[blocks.length - 1]!] : blocks;
  const text = truncate(`${c.title}\n${c.rows.map(([k, v]) => `${k}: ${v}`).join('\n')}`, SLACK_LIMITS.text);
  return {
    text,
    blocks: capped,
    ...(options.channel ? { channel: options.channel } : {}),
    ...(options.username ? { username: options.username } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// webhook template context

/** The fields a webhook body template can use as `{{alert.<name>}}` (and the whole result as `{{result}}`). */
export function templateContext(msg: AlertMessage): Record<string, unknown> {
  const r = msg.result;
  return {
    alert: {
      id: msg.id,
      kind: msg.kind,
      at: msg.at,
      key: msg.alert.key,
      rule: msg.alert.rule,
      type: r.type,
      field: msg.alert.field,
      segment: msg.alert.segment,
      model: r.model,
      version: r.version ?? null,
      severity: r.severity,
      status: msg.alert.status,
      statistic: r.statistic,
      value: r.value,
      threshold: r.threshold,
      drifted: r.drifted,
      window_from: r.window.from,
      window_to: r.window.to,
      current_count: r.current_count,
      reference_count: r.reference_count,
      reference: r.reference,
      details: r.details,
      firing_since: msg.alert.firing_since ?? null,
      title: describe(msg).title,
      text: renderText(msg),
      link: msg.link ?? null,
      // PagerDuty Events v2 and Opsgenie speak trigger/resolve with a dedup key.
      event_action: msg.kind === 'recovered' ? 'resolve' : 'trigger',
      dedup_key: msg.alert.key,
      pagerduty_severity: r.severity === 'critical' ? 'critical' : r.severity === 'warning' ? 'warning' : 'info',
    },
    result: r,
    breach: msg.breach ?? null,
    reason: msg.reason ?? null,
  };
}
