import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate, placeholders } from './template.ts';

const ctx = { alert: { rule: 'fraud', value: 0.25, tags: ['a', 'b'], details: { x: 1 }, missing: null } };

test('a whole-string placeholder keeps the type of the value', () => {
  assert.deepEqual(renderTemplate({ v: '{{alert.value}}', d: '{{ alert.details }}', t: '{{alert.tags[1]}}' }, ctx), { v: 0.25, d: { x: 1 }, t: 'b' });
});

test('placeholders inside text are substituted as text', () => {
  assert.equal(renderTemplate('rule {{alert.rule}} = {{alert.value}} {{alert.details}}', ctx), 'rule fraud = 0.25 {"x":1}');
});

test('unknown paths give null or empty text, or the default', () => {
  assert.deepEqual(renderTemplate(['{{alert.nope}}', 'x{{alert.nope}}y', '{{alert.missing | default none}}', 'a {{alert.nope|default -}} b'], ctx), [null, 'xy', 'none', 'a - b']);
});

test('no code runs and no prototype is reachable', () => {
  const out = renderTemplate({ a: '{{alert.constructor}}', b: '{{alert.__proto__}}', c: '{{ process.exit(1) }}', d: '{{alert.rule.length}}', e: '${alert.rule}' }, ctx);
  assert.deepEqual(out, { a: null, b: null, c: '{{ process.exit(1) }}', d: null, e: '${alert.rule}' });
});

test('keys, nested arrays and non-strings pass through', () => {
  assert.deepEqual(renderTemplate({ '{{alert.rule}}_key': [1, true, null, { n: '{{alert.tags}}' }] }, ctx), { fraud_key: [1, true, null, { n: ['a', 'b'] }] });
  assert.deepEqual(placeholders({ a: ['{{alert.rule}}', 'x {{alert.value}}'] }), ['alert.rule', 'alert.value']);
});
