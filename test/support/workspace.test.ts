import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { workspace } from './workspace.ts';

const fileLevel = workspace('ws-file');

test('a test workspace is fresh, under the temp dir, and gone (with its content) after the test', async () => {
  let dir = '';
  await test('inner', (t) => {
    dir = workspace('ws', t);
    assert.ok(dir.startsWith(tmpdir()) && existsSync(dir));
    mkdirSync(`${dir}/a/b`, { recursive: true });
    writeFileSync(`${dir}/a/b/c.txt`, 'x');
    assert.notEqual(workspace('ws', t), dir, 'two calls give two folders');
  });
  assert.ok(!existsSync(dir), `${dir} was left behind`);
});

test('a file-level workspace lasts until every test of the file has run', () => {
  assert.ok(existsSync(fileLevel));
});
