/**
 * Crash after a rename rotation, with the agent's own node process SIGKILLed: the agent ships a
 * growing pred.jsonl (the glob matches only that name), the file is renamed to pred.jsonl.1 and a
 * new pred.jsonl begins, the agent is killed a second later and restarted. The rest of
 * pred.jsonl.1 must still be delivered (the registry knows its dev+inode+fingerprint), nothing twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';
import { compareIds, embeddedIds } from './support/delivered.ts';

function acked(dir: string): number {
  try {
    const reg = JSON.parse(readFileSync(join(dir, 'data', 'registry', 'filestream.json'), 'utf8')) as { entries: { offset: number }[] };
    return reg.entries.reduce((a, e) => a + e.offset, 0);
  } catch {
    return 0;
  }
}

test('crash after rename: the renamed file is finished after a SIGKILL, nothing lost, nothing twice', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-rename-crash-'));
  mkdirSync(join(dir, 'logs'));
  const db = join(dir, 'store.duckdb');
  const cfg = join(dir, 'driftbeat.yml');
  writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/pred.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
    scan_frequency: 200ms
output:
  embedded: { path: "${db}", batch_max_docs: 500, flush_interval: 100ms }
path: { data: "${dir}/data" }
queue: { max_bytes: 1MiB }
http: { enabled: false }
logging: { level: info }
`);
  const live = join(dir, 'logs', 'pred.jsonl');
  const log = new LogWriter(live);
  let agent = startAgent(['run', '-c', cfg]);
  try {
    // A growing file: the writer is ahead of the agent when the rotation comes.
    log.write(40_000, 500);
    await waitFor('first offsets acknowledged', () => acked(dir) > 0, 60_000);
    log.write(10_000, 500);
    const size = statSync(live).size;
    renameSync(live, `${live}.1`);
    log.write(5_000, 500);
    await new Promise((r) => setTimeout(r, 1000));
    const behind = size - acked(dir);
    agent.kill('SIGKILL');
    assert.equal(await agent.exited, 'SIGKILL');
    assert.ok(behind > 0, `the agent was still behind in pred.jsonl.1 when it was killed (acked ${acked(dir)} of ${size})`);
    log.write(5_000, 500);

    agent = startAgent(['run', '-c', cfg, '--once']);
    assert.equal(await agent.exited, 0, agent.output());
    const ids = await embeddedIds(db);
    const expected = Array.from({ length: log.next }, (_, i) => `req-${i}`);
    const { missing, duplicated, unexpected } = compareIds(expected, ids);
    assert.deepEqual({ missing: missing.length, duplicated: duplicated.length, unexpected: unexpected.length }, { missing: 0, duplicated: 0, unexpected: 0 },
      `of ${log.next} lines: first missing ${missing.slice(0, 3)}; first duplicated ${duplicated.slice(0, 3)}`);
    assert.equal(ids.length, log.next);
    assert.match(agent.output(), /resuming .*pred\.jsonl\.1/, 'the restart says which renamed file it finishes');
  } finally {
    if (agent.child.exitCode === null && agent.child.signalCode === null) agent.kill('SIGKILL');
    await agent.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
