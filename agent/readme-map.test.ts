import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const map = readFileSync(join(ROOT, 'agent/README.md'), 'utf8');

test('agent/README.md names only paths that exist', () => {
  const named = [...map.matchAll(/`(agent\/[^`\s]+)`/g)].map((m) => m[1]!);
  assert.ok(named.length > 40, `agent/README.md names ${named.length} paths`);
  const missing = named.filter((p) => !existsSync(join(ROOT, p)));
  assert.deepEqual(missing, [], `agent/README.md names paths that do not exist: ${missing.join(', ')}`);
});

test('agent/README.md gives every folder of agent/ its job', () => {
  const folders = readdirSync(join(ROOT, 'agent'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const rows = new Set([...map.matchAll(/^\| `agent\/([a-z-]+)[`/]/gm)].map((m) => m[1]!));
  const undocumented = folders.filter((f) => !rows.has(f));
  assert.deepEqual(undocumented, [], `folders of agent/ without a row in agent/README.md: ${undocumented.join(', ')}`);
});
