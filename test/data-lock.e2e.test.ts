/**
 * One agent per path.data, through the real command: a second agent on the same folder exits 2
 * naming the holder's pid; after the holder is SIGKILLed, its stale lock is taken over with a warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

test('path.data lock: a second agent exits 2 naming the holder; a stale lock is taken over', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-lock-'));
  mkdirSync(join(dir, 'logs'));
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id }
output:
  embedded: { path: "${dir}/store.duckdb", flush_interval: 100ms }
path: { data: "${dir}/data" }
http: { enabled: false }
logging: { level: warn }
`);
  new LogWriter(join(dir, 'logs', 'p.jsonl')).write(10);
  const lockFile = join(dir, 'data', 'driftbeat.lock');
  const first = startAgent(['run', '-c', cfg]);
  try {
    await waitFor('the first agent holds the lock', () => existsSync(lockFile) && readFileSync(lockFile, 'utf8').includes(`"pid":${first.child.pid}`), 30_000);

    const second = startAgent(['run', '-c', cfg, '--once']);
    assert.equal(await second.exited, 2, second.output());
    assert.match(second.output(), new RegExp(`path\\.data: .* is in use by another driftbeat \\(pid ${first.child.pid}\\b`));

    first.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    assert.ok(existsSync(lockFile), 'SIGKILL leaves the lock file behind');
    const third = startAgent(['run', '-c', cfg, '--once']);
    assert.equal(await third.exited, 0, third.output());
    assert.match(third.output(), new RegExp(`taking over the stale lock .* of pid ${first.child.pid} `));
    assert.ok(!existsSync(lockFile), 'a clean stop removes the lock');
  } finally {
    if (first.child.exitCode === null && first.child.signalCode === null) first.kill('SIGKILL');
    await first.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
