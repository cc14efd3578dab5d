/**
 * `driftbeat/stats` is public API (package.json exports): a plain Node program, without tsx,
 * imports it by package name and gets the statistics (from dist/, which `npm ci` builds; built
 * from the current sources first, test/support/agent-process.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ensureBuilt, REPO_ROOT } from './support/agent-process.ts';

ensureBuilt();

test('driftbeat/stats imports by package name in plain Node, with the documented functions', () => {
  const code = `import('driftbeat/stats').then((s) => {
    const names = ['ks', 'wasserstein', 'wassersteinNormed', 'psi', 'klDivergence', 'jensenShannon', 'hellinger', 'chiSquare', 'zTest', 'lInfinity', 'driftTest'];
    const missing = names.filter((n) => typeof s[n] !== 'function');
    const r = s.ks([1, 2, 3, 4], [3, 4, 5, 6]);
    const d = s.driftTest(['a', 'a', 'b'], ['a', 'b', 'b'], { type: 'cat' });
    console.log(JSON.stringify({ missing, r, method: d.method }));
  })`;
  // No --import tsx: what a user of the package runs.
  const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const got = JSON.parse(out.stdout) as { missing: string[]; r: { statistic: number; pValue: number }; method: string };
  assert.deepEqual(got.missing, []);
  // scipy.stats.ks_2samp([1,2,3,4], [3,4,5,6], method='auto') -> statistic 0.5, pvalue 0.7714285714285716
  assert.equal(got.r.statistic, 0.5);
  assert.ok(Math.abs(got.r.pValue - 0.7714285714285714) < 1e-12);
  assert.equal(got.method, 'z');
});
