import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderHtml, renderSlack, renderText, subject, SLACK_LIMITS, templateContext } from './render.ts';
import { messages } from '../../test/support/alert-results.ts';
import { evaluatePlan } from '../rules/evaluate.ts';
import { planRule, queryId, type Answers, type Payload } from '../rules/plan.ts';
import { RuleSchema, type Rule } from '../rules/schema.ts';

const W = { from: '2024-05-01T00:00:00.000Z', to: '2024-05-01T01:00:00.000Z' };

test('the text names rule, severity, model, field, statistic against threshold, window, samples and details', () => {
  const { firing } = messages(0, {}, 'http://kibana.local:5601/');
  const text = renderText(firing);
  assert.match(text, /^FIRING critical: fraud-country on features\.country \(fraud 1\.4\.2\)/);
  assert.match(text, /Statistic: unseen_share = 0\.125 \(threshold > 0\.05\)/);
  assert.match(text, /Window: 2024-05-01T00:00:00\.000Z to 2024-05-01T01:00:00\.000Z/);
  assert.match(text, /Samples: current 1200, reference 50000/);
  assert.match(text, /Unseen values: XK \(120\), ZZ \(30\)/);
  assert.match(text, /Na share: 0\.02/);
  assert.match(text, /Kibana: http:\/\/kibana\.local:5601\/app\/dashboards#\/view\/driftbeat-model-overview\?_g=.*2024-05-01T00%3A00%3A00\.000Z/);
  assert.equal(subject(firing), '[driftbeat] FIRING critical: fraud-country on features.country (fraud 1.4.2)');
});

test('the recovery says what it was and what it is now', () => {
  const { recovered } = messages();
  const text = renderText(recovered);
  assert.match(text, /^RECOVERED critical/);
  assert.match(text, /Now: unseen_share = 0\.001/);
  assert.match(text, /Was: unseen_share = 0\.125/);
});

test('HTML carries the same content, escaped', () => {
  const { firing } = messages(0, { field: 'features.<b>x</b>' });
  const html = renderHtml(firing);
  assert.ok(html.includes('features.&lt;b&gt;x&lt;/b&gt;'));
  assert.ok(!html.includes('<b>x</b>'));
  for (const line of renderText(firing).split('\n').filter((l) => l.includes(': ') && !l.startsWith('FIRING'))) {
    const value = line.slice(line.indexOf(': ') + 2).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
    assert.ok(html.includes(value), `html lacks ${value}`);
  }
});

test('Slack blocks stay within Block Kit limits even with huge details', () => {
  const details: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++) details[`detail_${i}`] = Array.from({ length: 50 }, (_, j) => ({ value: `v${j}-${'x'.repeat(100)}`, count: j }));
  const { firing } = messages(0, { details, rule: 'r'.repeat(400) }, 'http://kibana:5601');
  const p = renderSlack(firing, { channel: '#ml' });
  assert.ok(p.blocks.length <= SLACK_LIMITS.blocks);
  assert.ok(p.text.length <= SLACK_LIMITS.text);
  assert.equal(p.channel, '#ml');
  const header = p.blocks[0] as { type: string; text: { text: string } };
  assert.equal(header.type, 'header');
  assert.ok(header.text.text.length <= SLACK_LIMITS.headerText);
  for (const b of p.blocks as Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }> }>) {
    if (b.type === 'section' && b.text) assert.ok(b.text.text.length <= SLACK_LIMITS.sectionText);
    if (b.fields) {
      assert.ok(b.fields.length <= SLACK_LIMITS.fields);
      for (const f of b.fields) assert.ok(f.text.length <= SLACK_LIMITS.fieldText);
    }
  }
  assert.equal((p.blocks.at(-1) as { type: string }).type, 'context');
});

test('Slack mrkdwn escapes <, > and & from data', () => {
  const { firing } = messages(0, { details: { unseen_values: ['<!channel>', 'a&b'] } });
  const s = JSON.stringify(renderSlack(firing).blocks);
  assert.ok(s.includes('&lt;!channel&gt;'));
  assert.ok(s.includes('a&amp;b'));
});

test('the template context speaks PagerDuty trigger/resolve with a dedup key', () => {
  const { firing, recovered } = messages();
  const f = templateContext(firing).alert as Record<string, unknown>;
  const r = templateContext(recovered).alert as Record<string, unknown>;
  assert.equal(f.event_action, 'trigger');
  assert.equal(r.event_action, 'resolve');
  assert.equal(f.dedup_key, r.dedup_key);
  assert.equal(f.value, 0.125);
});

test('a prediction_stats breach says the bound it broke, not a bare number', () => {
  const p = planRule({ ...RuleSchema.parse({ type: 'prediction_stats', model: 'fraud', fields: ['prediction.score'], window: '1h', schedule: '0 * * * *', min_samples: 1, stats: { mean: { max: 0.5 } } }), name: 'score', source: { file: 's.yml', line: 1, col: 1 } } as Rule, W, undefined, 0);
  const a: Answers = new Map([
    [queryId(p, 'cur', 'count'), new Map([['', { kind: 'count', count: 10 } as Payload]])],
    [queryId(p, 'cur', 'stats', 'prediction.score'), new Map([['', { kind: 'stats', count: 10, min: 0.1, max: 0.9, sum: 7.13, sumOfSquares: 6 } as Payload]])],
  ]);
  const r = evaluatePlan(p, a)[0]!;
  assert.equal(r.drifted, true);
  const { firing } = messages(0, { rule: r.rule, type: r.type, field: r.field, statistic: r.statistic, value: r.value, threshold: r.threshold, details: r.details });
  const text = renderText(firing);
  assert.match(text, /Statistic: mean = 0\.713 \(threshold > 0\.5\)/);
  assert.match(text, /Violations: mean 0\.713 > max 0\.5/);
});
