import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { README_PATH, ruleTypesTable, withRuleTypes } from './docs.ts';
import { RULE_TYPES } from './types.ts';
import { KEYS_BY_TYPE } from './schema.ts';
import { ruleJsonSchemaText } from './gen-schema.ts';

test('README.md lists every rule type as types.ts does (regenerate: node --import tsx agent/rules/docs.ts)', () => {
  const readme = readFileSync(README_PATH, 'utf8');
  assert.equal(readme, withRuleTypes(readme));
  for (const t of RULE_TYPES) assert.match(ruleTypesTable(), new RegExp(`^\\| \`${t}\` \\|`, 'm'));
});

test('the schema (rules/schema.json) accepts exactly the types of types.ts, in its order, each described', () => {
  const schema = JSON.parse(ruleJsonSchemaText()) as { oneOf: { properties: { type: { const: string; description?: string } } }[] };
  assert.deepEqual(schema.oneOf.map((o) => o.properties.type.const), [...RULE_TYPES]);
  for (const o of schema.oneOf) assert.ok(o.properties.type.description, o.properties.type.const);
  assert.deepEqual(Object.keys(KEYS_BY_TYPE), [...RULE_TYPES]);
  for (const t of RULE_TYPES) assert.ok(KEYS_BY_TYPE[t].includes('type') && KEYS_BY_TYPE[t].includes('model'), t);
});
