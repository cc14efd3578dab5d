import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { globToRegExp } from '../../lib/glob.ts';
import { Discovery, globBase, PathMatcher } from './discovery.ts';
import { workspace } from '../../../test/support/workspace.ts';

test('glob: * and ? stay within one folder, ** crosses folders', () => {
  const m = (g: string, p: string) => globToRegExp(g).test(p);
  assert.ok(m('/l/*.jsonl', '/l/a.jsonl'));
  assert.ok(m('/l/*.jsonl', '/l/.hidden.jsonl'));
  assert.ok(!m('/l/*.jsonl', '/l/x/a.jsonl'));
  assert.ok(!m('/l/*.jsonl', '/l/a.jsonl.1'));
  assert.ok(m('/l/p-?.log', '/l/p-1.log'));
  assert.ok(!m('/l/p-?.log', '/l/p-12.log'));
  assert.ok(m('/l/**/*.jsonl', '/l/a.jsonl'));
  assert.ok(m('/l/**/*.jsonl', '/l/x/y/a.jsonl'));
  assert.ok(!m('/l/**/*.jsonl', '/m/a.jsonl'));
  assert.ok(m('/l/**', '/l/x/y'));
  assert.ok(m('/l/{a,b}.log', '/l/b.log'));
  assert.ok(!m('/l/{a,b}.log', '/l/c.log'));
  assert.ok(m('/l/[0-9].log', '/l/7.log'));
  assert.ok(m('/l/[!0-9].log', '/l/x.log'));
  assert.ok(!m('/l/[!0-9].log', '/l/7.log'));
  assert.ok(m('/l/a+b(1).log', '/l/a+b(1).log'), 'regexp characters are literal');
});

test('glob: the base folder is the part without wildcards', () => {
  assert.deepEqual(globBase('/var/log/models/*/p-*.jsonl'), { base: '/var/log/models', rest: ['*', 'p-*.jsonl'] });
  assert.deepEqual(globBase('/var/log/p.jsonl'), { base: '/var/log', rest: ['p.jsonl'] });
  assert.deepEqual(globBase('/*.log'), { base: '/', rest: ['*.log'] });
});

test('discovery: scan finds regular files by glob, minus excludes, through folders and ** ', async (t) => {
  const dir = workspace('disc', t);
  for (const d of ['a', 'b/c', 'b/c/d']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of ['a/1.jsonl', 'a/2.jsonl.gz', 'b/c/3.jsonl', 'b/c/d/4.jsonl', 'top.jsonl']) writeFileSync(join(dir, f), 'x\n');
  mkdirSync(join(dir, 'a', 'dir.jsonl'));
  symlinkSync(join(dir, 'a', '1.jsonl'), join(dir, 'b', 'link.jsonl'));
  const rel = (m: Map<string, unknown>) => [...m.keys()].map((p) => p.slice(dir.length + 1)).sort();

  assert.deepEqual(rel(await new PathMatcher([join(dir, '*/*.jsonl*')], ['*.gz']).scan()), ['a/1.jsonl', 'b/link.jsonl']);
  assert.deepEqual(rel(await new PathMatcher([join(dir, '**/*.jsonl')]).scan()), ['a/1.jsonl', 'b/c/3.jsonl', 'b/c/d/4.jsonl', 'b/link.jsonl', 'top.jsonl']);
  assert.deepEqual(rel(await new PathMatcher([join(dir, '**/*.jsonl')], [join(dir, 'b/c/**')]).scan()), ['a/1.jsonl', 'b/link.jsonl', 'top.jsonl']);
  assert.deepEqual(rel(await new PathMatcher([join(dir, 'missing/*.jsonl')]).scan()), []);
});

test('discovery: relative patterns are resolved against the working directory', () => {
  const m = new PathMatcher(['logs/*.jsonl'], [], '/srv/model');
  assert.ok(m.matches('/srv/model/logs/a.jsonl'));
  assert.deepEqual(m.watchRoots(), [{ dir: '/srv/model/logs', depth: 0 }]);
});

test('discovery: a folder created after start is watched and its files found without waiting for a scan', async (t) => {
  const dir = workspace('disc', t);
  const scans: string[][] = [];
  const d = new Discovery({
    paths: [join(dir, '*', '*.jsonl')],
    exclude: [],
    scanFrequency: 60_000,
    onScan: (files) => void scans.push([...files.keys()]),
  });
  t.after(() => d.stop());
  await d.start();
  assert.deepEqual(scans, [[]]);
  mkdirSync(join(dir, 'model-a'));
  writeFileSync(join(dir, 'model-a', 'p.jsonl'), 'x\n');
  const deadline = Date.now() + 5000;
  while (!scans.some((s) => s.length === 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(scans.at(-1), [join(dir, 'model-a', 'p.jsonl')]);
});

test('discovery: a base folder that does not exist yet is watched from its parent', async (t) => {
  const dir = workspace('disc', t);
  const scans: string[][] = [];
  const d = new Discovery({
    paths: [join(dir, 'logs', '*.jsonl')],
    exclude: [],
    scanFrequency: 60_000,
    onScan: (files) => void scans.push([...files.keys()]),
  });
  t.after(() => d.stop());
  await d.start();
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs', 'p.jsonl'), 'x\n');
  const deadline = Date.now() + 5000;
  while (!scans.some((s) => s.length === 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(scans.at(-1), [join(dir, 'logs', 'p.jsonl')]);
});
