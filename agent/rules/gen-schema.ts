/**
 * Writes rules/schema.json, the JSON Schema of rule files for editors (yaml-language-server) and
 * other tools, from the zod schema in schema.ts (the one source of truth).
 * Run: node --import tsx agent/rules/gen-schema.ts   (a test fails while the file is out of date)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RuleSchema } from './schema.ts';

export const SCHEMA_PATH = fileURLToPath(new URL('../../rules/schema.json', import.meta.url));

/** The text of rules/schema.json. Input side: what a person writes, snake_case, durations as text. */
export function ruleJsonSchemaText(): string {
  const generated = z.toJSONSchema(RuleSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const doc = {
    $schema,
    $id: 'https://github.com/driftbeat/driftbeat/rules/schema.json',
    $comment: 'Generated from agent/rules/schema.ts by agent/rules/gen-schema.ts; do not edit by hand. Regenerate: node --import tsx agent/rules/gen-schema.ts',
    ...rest,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_PATH, ruleJsonSchemaText());
  console.log(`wrote ${SCHEMA_PATH}`);
}
