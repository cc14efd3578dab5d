/**
 * `driftbeat run` before the model server has written its first file (a DaemonSet that starts
 * first, http.enabled: false, no rules): the agent says once that it waits, keeps running, and
 * ships the file when it appears, as Filebeat does. It used to exit silently with code 13.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

test('run with no matching file waits, says so once, then ships the file when it appears', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-run-waits-'));
  try {
    mkdirSync(join(dir, 'logs'));
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
    scan_frequency: 200ms
output:
  embedded: { path: "${dir}/db.duckdb" }
path: { data: "${dir}/data" }
http: { enabled: false }
`);
    const agent = startAgent(['run', '-c', cfg]);
    await waitFor('the agent to say it waits', () => /no file matches .*logs\/\*\.jsonl yet; waiting for one/.test(agent.output()), 30_000);
    const log = join(dir, 'logs', 'preds.jsonl');
    new LogWriter(log).write(3);
    const registry = join(dir, 'data', 'registry', 'filestream.json');
    const size = statSync(log).size;
    await waitFor(`the registry to acknowledge ${size} bytes (agent output: ${agent.output()})`, () =>
      existsSync(registry) && (JSON.parse(readFileSync(registry, 'utf8')) as { entries: { offset: number }[] }).entries.some((e) => e.offset === size), 30_000);
    agent.kill('SIGTERM');
    assert.equal(await agent.exited, 0, agent.output());
    const out = agent.output();
    assert.equal(out.match(/waiting for one/g)?.length, 1, 'said once');
    assert.match(out, /driftbeat stopped: 3 lines read, 3 indexed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
