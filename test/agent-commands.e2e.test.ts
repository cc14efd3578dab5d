/**
 * With the embedded store, DuckDB lets one process open the file; the running agent holds it. The
 * CLI commands that use the store then run in the agent through its loopback HTTP endpoint, with
 * the same output as when the agent is stopped (issue 12): rules test, rules explain, alerts list,
 * alerts silence, reference build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRecorder } from './support/http-recorder.ts';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

/** stdout, stderr and exit code of one CLI run, with times and durations blanked (they differ run to run). */
async function cli(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = startAgent(args);
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  p.child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await p.exited;
  const blank = (s: string) => s.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, '<time>').replace(/in \d+\.\d+ s/g, 'in <n> s').replace(/\b(for|in) \d+h ?\d*m?\b/g, '$1 <d>');
  return { code, stdout: blank(stdout), stderr: blank(stderr) };
}

test('rules test, rules explain, alerts list, alerts silence and reference build work while the agent runs, as when it is stopped', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-agent-commands-'));
  const hook = await startRecorder();
  try {
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'rules'));
    new LogWriter(join(dir, 'logs', 'preds.jsonl')).write(60);
    const rule = join(dir, 'rules', 'volume.yml');
    writeFileSync(rule, `
type: volume
name: fraud-volume-cmd
model: fraud
window: 1h
schedule: '*/10 * * * *'
min_count: 1000000
notify: [pipeline]
`);
    writeFileSync(join(dir, 'train.csv'), 'amount,country\n1.5,US\n2.5,FR\n3.5,DE\n');
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
output:
  embedded: { path: "${dir}/db.duckdb" }
path: { data: "${dir}/data" }
http: { port: 0 }
rules: { path: "${dir}/rules" }
notifiers:
  pipeline: { type: webhook, url: "${hook.url}/hook", retry: { initial_backoff: 10ms } }
`);
    // Lines of 2026-11-01: a fixed window, the same numbers whenever the test runs.
    const window = ['--from', '2026-11-01T00:00:00Z', '--to', '2026-11-01T01:00:00Z'];
    const commands: Record<string, string[]> = {
      test: ['rules', 'test', rule, '-c', cfg, ...window, '--json'],
      explain: ['rules', 'explain', rule, '-c', cfg, ...window],
      list: ['alerts', 'list', '-c', cfg, '--all'],
      reference: ['reference', 'build', '-c', cfg, '--model', 'fraud', '--version', '1.0', join(dir, 'train.csv')],
      silence: ['alerts', 'silence', 'fraud-volume-cmd', '--for', '2h', '-c', cfg],
    };

    const agent = startAgent(['run', '-c', cfg]);
    const running: Record<string, Awaited<ReturnType<typeof cli>>> = {};
    try {
      await hook.waitFor(1, 60_000);
      await waitFor('the HTTP endpoint', () => /metrics on (http:\/\/[\d.:]+)\/metrics/.test(agent.output()), 30_000);
      const base = /metrics on (http:\/\/[\d.:]+)\/metrics/.exec(agent.output())![1]!;
      await waitFor('the 60 lines stored', async () => (await (await fetch(`${base}/healthz`)).json() as { pipeline?: { indexed: number } }).pipeline?.indexed === 60, 30_000);
      // Without the token of <path.data>/http-token, no command runs.
      const anonymous = await fetch(`${base}/api/v1/commands`, { method: 'POST', body: '{}' });
      assert.equal(anonymous.status, 401);
      assert.match(readFileSync(join(dir, 'data', 'http-token'), 'utf8'), /"token":"[0-9a-f]{48}"/);

      for (const name of ['test', 'explain', 'list', 'reference', 'silence']) running[name] = await cli(commands[name]!);
      running.listAfter = await cli(commands.list!);
      for (const c of ['rules test', 'rules explain', 'alerts list', 'reference build', 'alerts silence']) {
        assert.match(agent.output(), new RegExp(`running \\\\"driftbeat ${c}\\\\" for the CLI`), `"${c}" ran in the agent`);
      }
    } finally {
      agent.kill('SIGTERM');
      assert.equal(await agent.exited, 0, agent.output());
    }

    const stopped: Record<string, Awaited<ReturnType<typeof cli>>> = {};
    stopped.list = await cli(commands.list!);
    for (const name of ['test', 'explain', 'reference', 'silence']) stopped[name] = await cli(commands[name]!);

    assert.equal(running.test!.code, 0, running.test!.stderr);
    assert.match(running.test!.stdout, /"rule": ?"fraud-volume-cmd"/);
    assert.match(running.explain!.stdout, /SELECT/i);
    assert.match(running.list!.stdout, /fraud-volume-cmd/);
    assert.match(running.reference!.stdout, /^reference fraud@1\.0: 2 fields .* saved to embedded store/m);
    assert.match(running.silence!.stdout, /fraud-volume-cmd/);
    assert.match(running.listAfter!.stdout, /silenced|silence/i);
    for (const name of ['test', 'explain', 'reference', 'silence']) {
      assert.deepEqual(running[name], stopped[name], `"${name}": the same output with the agent running and stopped`);
    }
    assert.deepEqual(running.listAfter, stopped.list, '"alerts list": the same output with the agent running and stopped');
  } finally {
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
