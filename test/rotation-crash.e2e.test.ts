/**
 * Crash after a rename rotation, with the agent's own node process SIGKILLed: the agent ships a
 * growing pred.jsonl (the glob matches only that name), the file is renamed to pred.jsonl.1 and a
 * new pred.jsonl begins, the agent is killed a second later and restarted. The rest of
 * pred.jsonl.1 must still be delivered (the registry knows its dev+inode+fingerprint), nothing
 * twice. The second case also compresses pred.jsonl.1 while the agent is down (logrotate's
 * `compress`): the rest is read from pred.jsonl.1.gz. Lines are counted by a number inside them,
 * not by event id (no fields.id), so a line read twice under two identities would show.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startAgent, waitFor } from './support/agent-process.ts';
import { embeddedSeqs, seqLine, tally } from './support/delivered.ts';

function acked(dir: string): number {
  try {
    const reg = JSON.parse(readFileSync(join(dir, 'data', 'registry', 'filestream.json'), 'utf8')) as { entries: { offset: number }[] };
    return reg.entries.reduce((a, e) => a + e.offset, 0);
  } catch {
    return 0;
  }
}

for (const compress of [false, true]) {
  const name = compress
    ? 'crash after rename, then compressed while down: the rest is read from the .gz, nothing lost, nothing twice'
    : 'crash after rename: the renamed file is finished after a SIGKILL, nothing lost, nothing twice';
  test(name, { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'driftbeat-rename-crash-'));
    mkdirSync(join(dir, 'logs'));
    const db = join(dir, 'store.duckdb');
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/pred.jsonl"]
    model: { name: fraud }
    scan_frequency: 200ms
output:
  embedded: { path: "${db}", batch_max_docs: 500, flush_interval: 100ms }
path: { data: "${dir}/data" }
queue: { max_bytes: 1MiB }
http: { enabled: false }
logging: { level: info }
`);
    const live = join(dir, 'logs', 'pred.jsonl');
    let seq = 0;
    const write = (n: number) => {
      for (let k = 0; k < n; k += 500) {
        let text = '';
        for (let j = 0; j < Math.min(500, n - k); j++) text += seqLine(seq++) + '\n';
        appendFileSync(live, text);
      }
    };
    let agent = startAgent(['run', '-c', cfg]);
    try {
      // A growing file: the writer is ahead of the agent when the rotation comes.
      write(40_000);
      await waitFor('first offsets acknowledged', () => acked(dir) > 0, 60_000);
      write(10_000);
      const size = statSync(live).size;
      renameSync(live, `${live}.1`);
      write(5_000);
      await new Promise((r) => setTimeout(r, 1000));
      agent.kill('SIGKILL');
      assert.equal(await agent.exited, 'SIGKILL');
      const ackedAtKill = acked(dir);
      assert.ok(ackedAtKill < size, `the agent was still behind in pred.jsonl.1 when it was killed (acked ${ackedAtKill} of ${size})`);
      if (compress) {
        writeFileSync(`${live}.1.gz`, gzipSync(readFileSync(`${live}.1`)));
        unlinkSync(`${live}.1`);
      }
      write(5_000);

      agent = startAgent(['run', '-c', cfg, '--once']);
      assert.equal(await agent.exited, 0, agent.output());
      const { missing, twice, strangers } = tally(Array.from({ length: seq }, (_, i) => i), seq, await embeddedSeqs(db));
      assert.deepEqual({ missing: missing.length, twice: twice.length, strangers: strangers.length }, { missing: 0, twice: 0, strangers: 0 },
        `of ${seq} lines: first missing ${missing.slice(0, 3)}; first delivered twice ${twice.slice(0, 3)}`);
      assert.match(agent.output(), compress ? /resuming .*pred\.jsonl\.1\.gz \(the compressed copy of / : /resuming .*pred\.jsonl\.1 \(renamed from /, 'the restart says which file it finishes');
    } finally {
      if (agent.child.exitCode === null && agent.child.signalCode === null) agent.kill('SIGKILL');
      await agent.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
