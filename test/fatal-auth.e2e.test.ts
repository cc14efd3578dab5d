/**
 * 401/403 is fatal: retrying cannot help. The agent says what to check (never the secret),
 * exits 1, and leaves every offset where it was, so nothing is lost once credentials are fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEsServer } from './support/es-server.ts';
import { LogWriter, startAgent } from './support/agent-process.ts';

test('wrong credentials: clear fatal error, exit 1, secret not shown, offsets untouched; fixed credentials deliver everything', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-auth-'));
  mkdirSync(join(dir, 'logs'));
  const es = await startEsServer({ auth: { username: 'driftbeat', password: 'right-password' } });
  try {
    const log = new LogWriter(join(dir, 'logs', 'preds.jsonl'));
    log.write(1000);
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud }
    fields: { id: request_id }
output:
  elasticsearch: { hosts: ["${es.url}"], username: driftbeat, password: "\${ES_PASSWORD}", backoff: { initial: 10ms, max: 50ms } }
path: { data: "${dir}/data" }
http: { enabled: false }
`);
    const bad = startAgent(['run', '-c', cfg, '--once'], { ES_PASSWORD: 'wrong-password-123' });
    assert.equal(await bad.exited, 1, bad.output());
    assert.match(bad.output(), /401|credentials|authentication/i);
    assert.ok(!bad.output().includes('wrong-password-123'), 'the password never reaches the output');
    const registry = join(dir, 'data', 'registry', 'filestream.json');
    const acked = existsSync(registry)
      ? (JSON.parse(readFileSync(registry, 'utf8')) as { entries: { offset: number }[] }).entries.reduce((a, e) => a + e.offset, 0)
      : 0;
    assert.equal(acked, 0, 'no offset moved');
    assert.equal(es.count('driftbeat-predictions-fraud'), 0);

    const good = startAgent(['run', '-c', cfg, '--once'], { ES_PASSWORD: 'right-password' });
    assert.equal(await good.exited, 0, good.output());
    assert.equal(es.count('driftbeat-predictions-fraud'), 1000);
  } finally {
    await es.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
