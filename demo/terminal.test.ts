import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuleResult } from '../agent/rules/result.ts';
import { threshold as th } from '../agent/rules/threshold.ts';
import { alertLine, clock, collapseQuiet, fmtNum, styleFor, summarize, summaryTable } from './terminal.ts';

const DAY = Date.UTC(2024, 5, 3);
const H = 3_600_000;
const iso = (h: number) => new Date(DAY + h * H).toISOString();

function result(rule: string, field: string, h: number, value: number, drifted: boolean, extra: Partial<RuleResult> = {}): RuleResult {
  return {
    rule, type: 'unseen_categories', model: 'fraud', field, segment: '', window: { from: iso(h), to: iso(h + 1) },
    status: drifted ? 'drifted' : 'ok', statistic: 'unseen_share', value, threshold: th(0.01, 'above', 'share'), drifted,
    reference_count: 100, current_count: 100, severity: 'warning', details: {}, reference: 'profile:fraud@1.4.2',
    evaluated_at: iso(h + 1), ...extra,
  };
}

test('terminal: colour only on a TTY without NO_COLOR', () => {
  assert.equal(styleFor({ write: () => true, isTTY: false }, {}).red('x'), 'x');
  assert.equal(styleFor({ write: () => true, isTTY: true }, { NO_COLOR: '1' }).red('x'), 'x');
  assert.equal(styleFor({ write: () => true, isTTY: true }, { TERM: 'dumb' }).tty, false);
  assert.equal(styleFor({ write: () => true, isTTY: true }, {}).red('x'), '\x1b[31mx\x1b[0m');
});

test('terminal: an alert line says when, what, the value against the threshold and what to act on', () => {
  const style = styleFor({ write: () => true, isTTY: false }, {});
  const r = result('demo-unseen-categories', 'features.merchant', 3, 0.1455, true, { details: { unseen_values: [{ value: 'crypto', count: 291 }] } });
  assert.equal(alertLine('firing', r, DAY, style), '04:00  FIRING    demo-unseen-categories on merchant: unseen_share 0.1455 (threshold > 0.01) - unseen: crypto (291)');
  const oov = { ...r, rule: 'demo-note-oov', field: 'text.customer_note', statistic: 'oov_share', value: 0.16, threshold: th(0.05, 'above', 'share'), details: { top_oov_words: [{ word: 'refund', documents: 249 }, { word: 'urgent', documents: 228 }] } };
  assert.equal(alertLine('firing', oov, DAY, style), '04:00  FIRING    demo-note-oov on text.customer_note: oov_share 0.16 (threshold > 0.05) - new words: refund (249), urgent (228)');
  const ok = result('demo-missing-spike', 'features.dist_km', 9, 0, false, { statistic: 'missing_share', threshold: th(0, 'above', 'share'), details: { missing_count: 0, documents: 2000 } });
  assert.equal(alertLine('recovered', ok, DAY, style), '10:00  RECOVERED demo-missing-spike on dist_km: missing_share 0 (threshold > 0)');
});

test('terminal: numbers and clock', () => {
  assert.equal(fmtNum(0.123456), '0.1235');
  assert.equal(fmtNum(2000), '2000');
  assert.equal(fmtNum(1e-12), '0');
  assert.equal(fmtNum(null), '-');
  assert.equal(clock(DAY + 24 * H, DAY), '24:00');
  assert.equal(clock(DAY + 90 * 60_000, DAY), '01:30');
});

test('terminal: the summary folds a run into one row per alert key, with its firing episode', () => {
  const results: RuleResult[] = [];
  for (let h = 0; h < 8; h++) {
    const drifted = h >= 3 && h < 6;
    results.push(result('u', 'features.merchant', h, drifted ? 0.15 + h / 100 : 0, drifted));
    for (const f of ['country', 'channel', 'card']) results.push(result('u', `features.${f}`, h, f === 'card' ? 0.001 : 0, false));
  }
  const events = [
    { kind: 'firing' as const, result: results.find((r) => r.drifted)! },
    { kind: 'recovered' as const, result: results.find((r) => r.field === 'features.merchant' && r.window.from === iso(6))! },
  ];
  const rows = summarize(results, events, DAY);
  assert.equal(rows.length, 4);
  assert.deepEqual({ ...rows[0] }, { rule: 'u', field: 'features.merchant', segment: '', statistic: 'unseen_share', value: 0.2, threshold: th(0.01, 'above', 'share'), state: 'recovered (fired 03:00-06:00)', fired: true });
  const folded = collapseQuiet(rows);
  assert.deepEqual(folded.map((r) => [r.field, r.state]), [['features.merchant', 'recovered (fired 03:00-06:00)'], ['other 3 fields', 'ok (highest: card)']]);
  const table = summaryTable(folded, styleFor({ write: () => true }, {})).split('\n');
  assert.deepEqual(table, [
    'rule  field           statistic     value  threshold  state',
    '----  --------------  ------------  -----  ---------  -----------------------------',
    'u     merchant        unseen_share    0.2     > 0.01  recovered (fired 03:00-06:00)',
    'u     other 3 fields  unseen_share  0.001     > 0.01  ok (highest: card)',
  ]);
});
