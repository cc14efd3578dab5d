/**
 * 401/403 is fatal: retrying cannot help. The agent says what to check (never the secret),
 * exits 1, and leaves every offset where it was, so nothing is lost once credentials are fixed.
 * The real engine behind the fault proxy, which answers 401 as a secured cluster does (the test
 * engine has no security plugin) and forwards the requests that carry the right credentials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine } from './support/engine.ts';
import { installTemplates } from './support/engine-setup.ts';
import { startFaultProxy } from './support/fault-proxy.ts';
import { LogWriter, startAgent } from './support/agent-process.ts';

test('wrong credentials: clear fatal error, exit 1, secret not shown, offsets untouched; fixed credentials deliver everything', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-auth-'));
  mkdirSync(join(dir, 'logs'));
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  await installTemplates(engine.url, prefix);
  const es = await startFaultProxy(engine.url, { auth: { username: 'driftbeat', password: 'right-password' } });
  const count = async () => {
    await engine.refresh(prefix);
    return (await engine.request('GET', `/${prefix}-predictions-fraud/_count?ignore_unavailable=true`)).body.count ?? 0;
  };
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
  elasticsearch: { hosts: ["${es.url}"], username: driftbeat, password: "\${ES_PASSWORD}", index_prefix: ${prefix}, backoff: { initial: 10ms, max: 50ms } }
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
    assert.equal(await count(), 0);

    const good = startAgent(['run', '-c', cfg, '--once'], { ES_PASSWORD: 'right-password' });
    assert.equal(await good.exited, 0, good.output());
    assert.equal(await count(), 1000);
  } finally {
    await es.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
