import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE } from './errors-catalogue.ts';
import { withErrorCodes } from './errors-docs.ts';

const AGENT = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(AGENT, '..');
const CATALOGUE_FILES = new Set(['errors-catalogue.ts', 'errors-docs.ts']);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'testdata' && name !== 'node_modules') sources(p, out); }
    else if (/\.(ts|mjs|js)$/.test(name) && !name.endsWith('.test.ts') && !CATALOGUE_FILES.has(relative(AGENT, p))) out.push(p);
  }
  return out;
}

/** Every quoted ERR_ code in agent/ with its first file:line; comparisons (`=== 'ERR_X'`) only read a code. */
function raisedCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sources(AGENT)) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/(===|!==)?\s*['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
        if (m[1] || found.has(m[2]!)) continue;
        found.set(m[2]!, `${relative(ROOT, file)}:${i + 1}`);
      }
    });
  }
  return found;
}

describe('error catalogue (agent/errors-catalogue.ts)', () => {
  const raised = raisedCodes();

  it('lists every code raised in agent/', () => {
    const missing = [...raised].filter(([code]) => !(code in ERROR_CATALOGUE)).map(([code, at]) => `${at}: ${code}`);
    assert.deepEqual(missing, [], `codes raised but not in agent/errors-catalogue.ts:\n${missing.join('\n')}`);
  });

  it('lists no code that nothing raises', () => {
    const stale = Object.keys(ERROR_CATALOGUE).filter((code) => !raised.has(code));
    assert.deepEqual(stale, [], `codes in agent/errors-catalogue.ts that no file of agent/ raises: ${stale.join(', ')}`);
  });

  it('says for every code what it means and what to do', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      assert.match(code, /^ERR_[A-Z0-9_]+$/);
      assert.ok(e.meaning.trim().length > 10 && e.action.trim().length > 5, `${code}: meaning and action must be written`);
    }
  });

  it('is what README.md shows under Troubleshooting (regenerate with node --import tsx agent/errors-docs.ts)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.equal(readme, withErrorCodes(readme));
  });
});
