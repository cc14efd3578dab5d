/**
 * The one temp-folder helper of the tests: a fresh folder under the system temp dir, removed (with
 * everything in it) when the test ends, or, without a test context, when the file's tests end.
 *
 *   const dir = workspace('store', t);   // inside test('...', (t) => ...): removed after this test
 *   const dir = workspace('reference');  // at the top of a file: removed after all its tests
 *
 * Hooks registered on `t` after this one run after the removal; a test that must stop something
 * still writing into the folder stops it in the test itself, or takes the folder first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** What a test context offers that this needs (node:test's TestContext, SuiteContext...). */
export interface AfterHook {
  after(fn: () => void | Promise<void>): void;
}

export function workspace(name: string, t?: AfterHook): string {
  const dir = mkdtempSync(join(tmpdir(), `driftbeat-${name}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (t) t.after(remove);
  else after(remove);
  return dir;
}
