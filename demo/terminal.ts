/**
 * What the demo shows in the terminal: a live ingest line, a line per alert as it fires and
 * recovers, and a summary table. Plain text with colour only on a terminal: when stdout is not a
 * TTY (CI logs, a pipe) or NO_COLOR is set, there are no escape codes at all and the live line
 * becomes one line per simulated hour.
 */
import { formatThreshold, type Threshold } from '../agent/rules/threshold.ts';
import type { RuleResult } from '../agent/rules/result.ts';

export interface OutStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

type Paint = (s: string) => string;

export interface Style {
  tty: boolean;
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

const sgr = (code: string): Paint => (s) => `\x1b[${code}m${s}\x1b[0m`;
const plain: Paint = (s) => s;

export function styleFor(stream: OutStream, env: NodeJS.ProcessEnv = process.env): Style {
  const tty = stream.isTTY === true && env.TERM !== 'dumb';
  const color = tty && !env.NO_COLOR;
  return {
    tty,
    bold: color ? sgr('1') : plain,
    dim: color ? sgr('2') : plain,
    red: color ? sgr('31') : plain,
    green: color ? sgr('32') : plain,
    yellow: color ? sgr('33') : plain,
    cyan: color ? sgr('36') : plain,
  };
}

/** Simulated clock time as HH:MM (UTC), `24:00` for the end of the day. */
export function clock(ms: number, dayStartMs: number): string {
  const minutes = Math.round((ms - dayStartMs) / 60_000);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Short numbers for tables: 4 significant digits, no exponent for ordinary magnitudes. */
export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  const a = Math.abs(v);
  // Engines add a tolerance such as 1e-12 to a zero threshold; people read that as zero.
  if (a < 1e-9) return '0';
  if (a >= 1e6 || a < 1e-4) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** A field as people name it: `features.merchant` -> `merchant`; predictions and text keep their prefix. */
export function shortField(field: string): string {
  return field.startsWith('features.') ? field.slice('features.'.length) : field;
}

/** What a person needs to act, in one short clause: unseen values, new words, NA share. */
export function detailSummary(r: Pick<RuleResult, 'details' | 'type'>): string {
  const d = r.details ?? {};
  const list = (v: unknown, keyNames: string[]): string | undefined => {
    if (!Array.isArray(v) || v.length === 0) return undefined;
    const parts = v.slice(0, 4).map((x) => {
      if (x && typeof x === 'object') {
        const o = x as Record<string, unknown>;
        const key = keyNames.map((k) => o[k]).find((k) => k !== undefined);
        const count = o.count ?? o.documents ?? o.doc_count;
        return count === undefined ? String(key) : `${String(key)} (${String(count)})`;
      }
      return String(x);
    });
    return parts.join(', ') + (v.length > 4 ? ', ...' : '');
  };
  for (const k of ['unseen_values', 'unseen', 'top_unseen']) {
    const s = list(d[k], ['value', 'key', 'term']);
    if (s) return `unseen: ${s}`;
  }
  for (const k of ['top_oov_words', 'top_oov', 'oov_tokens', 'new_words']) {
    const s = list(d[k], ['word', 'token', 'key', 'value']);
    if (s) return `new words: ${s}`;
  }
  if (typeof d.missing_count === 'number' && typeof d.documents === 'number') {
    return `${fmtInt(d.missing_count)} of ${fmtInt(d.documents)} missing`;
  }
  return '';
}

export interface IngestStatus {
  simMs: number;
  dayStartMs: number;
  linesWritten: number;
  indexed: number;
  docsPerSec: number;
  changes: string[];
}

export function ingestLine(s: IngestStatus, style: Style): string {
  const now = s.changes.length ? style.yellow(s.changes.join('; ')) : style.dim('clean traffic');
  return `${style.cyan(clock(s.simMs, s.dayStartMs))}  ingest: ${fmtInt(s.linesWritten)} lines written, ${fmtInt(s.indexed)} indexed, ${fmtInt(s.docsPerSec)} docs/s  |  ${now}`;
}

export type AlertKind = 'firing' | 'recovered' | 'realert';

export function alertLine(kind: AlertKind, r: RuleResult, dayStartMs: number, style: Style): string {
  const when = clock(Date.parse(r.window.to), dayStartMs);
  const tag = kind === 'recovered' ? style.green('RECOVERED') : style.red(style.bold(kind === 'realert' ? 'STILL    ' : 'FIRING   '));
  const seg = r.segment ? ` [${r.segment}]` : '';
  const cmp = r.threshold === null ? '' : ` (threshold ${formatThreshold(r.threshold)})`;
  const detail = kind === 'recovered' ? '' : detailSummary(r);
  return `${style.cyan(when)}  ${tag} ${style.bold(r.rule)} on ${shortField(r.field)}${seg}: ${r.statistic} ${fmtNum(r.value)}${cmp}${detail ? ` - ${detail}` : ''}`;
}

/** One row of the summary: an alert key over the whole run. */
export interface SummaryRow {
  rule: string;
  field: string;
  segment: string;
  statistic: string;
  /** The most extreme breaching value while it fired, else the last value. */
  value: number | null;
  threshold: Threshold | null;
  state: string;
  fired: boolean;
}

/**
 * Folds every result of the run into one row per rule x field x segment, in the order of first
 * appearance. `transitions` are the alert events (firing/recovered) with their window ends.
 */
export function summarize(results: readonly RuleResult[], events: readonly { kind: AlertKind; result: RuleResult }[], dayStartMs: number): SummaryRow[] {
  const rows = new Map<string, SummaryRow & { peak?: number }>();
  const key = (r: Pick<RuleResult, 'rule' | 'field' | 'segment'>) => `${r.rule}|${r.field}|${r.segment}`;
  for (const r of results) {
    const k = key(r);
    let row = rows.get(k);
    if (!row) {
      row = { rule: r.rule, field: r.field, segment: r.segment, statistic: r.statistic, value: r.value, threshold: r.threshold, state: r.status === 'ok' ? 'ok' : r.status, fired: false };
      rows.set(k, row);
    }
    if (r.drifted && r.value !== null) {
      if (row.peak === undefined || Math.abs(r.value - (r.threshold?.value ?? 0)) > Math.abs(row.peak - (r.threshold?.value ?? 0))) {
        row.peak = r.value;
        row.value = r.value;
        row.threshold = r.threshold;
        row.statistic = r.statistic;
      }
    } else if (row.peak === undefined) {
      row.value = r.value;
      row.threshold = r.threshold;
      row.statistic = r.statistic;
      row.state = r.status === 'ok' ? 'ok' : r.status;
    }
  }
  const episodes = new Map<string, { from?: string; to?: string }[]>();
  for (const e of events) {
    const k = key(e.result);
    const list = episodes.get(k) ?? [];
    episodes.set(k, list);
    const at = clock(Date.parse(e.result.window.to), dayStartMs);
    const atFrom = clock(Date.parse(e.result.window.from), dayStartMs);
    if (e.kind === 'firing') list.push({ from: atFrom });
    else if (e.kind === 'recovered') {
      const last = list[list.length - 1];
      if (last && last.to === undefined) last.to = atFrom;
      else list.push({ to: at });
    }
  }
  for (const [k, list] of episodes) {
    const row = rows.get(k);
    if (!row || list.length === 0) continue;
    row.fired = true;
    const last = list[list.length - 1]!;
    const spans = list.map((e) => `${e.from ?? '?'}-${e.to ?? ''}`).join(', ');
    row.state = last.to === undefined ? `FIRING since ${last.from}` : `recovered (fired ${spans})`;
  }
  return [...rows.values()].map(({ peak: _peak, ...row }) => row);
}

/**
 * Folds the quiet fields of a rule into one row when there are `min` or more of them, so that the
 * table shows what fired and, per rule, that everything else stayed fine.
 */
export function collapseQuiet(rows: readonly SummaryRow[], min = 3): SummaryRow[] {
  const out: SummaryRow[] = [];
  const byRule = new Map<string, SummaryRow[]>();
  for (const r of rows) byRule.set(r.rule, [...(byRule.get(r.rule) ?? []), r]);
  for (const [rule, list] of byRule) {
    const quiet = list.filter((r) => !r.fired && r.state === 'ok');
    if (quiet.length < min) {
      out.push(...list);
      continue;
    }
    out.push(...list.filter((r) => !quiet.includes(r)));
    const worst = quiet.reduce((a, b) => ((b.value ?? -Infinity) > (a.value ?? -Infinity) ? b : a));
    const stats = [...new Set(quiet.map((r) => r.statistic))];
    const thresholds = [...new Map(quiet.map((r) => [JSON.stringify(r.threshold), r.threshold])).values()];
    out.push({
      rule,
      field: `${quiet.length === list.length ? 'all' : 'other'} ${quiet.length} fields`,
      segment: '',
      statistic: stats.length === 1 ? stats[0]! : stats.join('/'),
      value: worst.value,
      threshold: thresholds.length === 1 ? thresholds[0]! : null,
      state: new Set(quiet.map((r) => r.value)).size > 1 ? `ok (highest: ${shortField(worst.field)})` : 'ok',
      fired: false,
    });
  }
  return out;
}

export function summaryTable(rows: readonly SummaryRow[], style: Style): string {
  const head = ['rule', 'field', 'statistic', 'value', 'threshold', 'state'];
  const cells = rows.map((r) => [r.rule, shortField(r.field) + (r.segment ? ` [${r.segment}]` : ''), r.statistic, fmtNum(r.value), r.threshold === null ? '-' : formatThreshold(r.threshold), r.state]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 3 || i === 4 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [style.bold(line(head)), widths.map((w) => '-'.repeat(w)).join('  ')];
  rows.forEach((r, i) => {
    const text = line(cells[i]!);
    out.push(r.fired ? (r.state.startsWith('FIRING') ? style.red(text) : style.yellow(text)) : r.state.startsWith('ok') ? text : style.dim(text));
  });
  return out.join('\n');
}
