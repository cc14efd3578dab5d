/**
 * The cluster is not there yet when the agent starts (a DaemonSet scheduled before Elasticsearch):
 * `driftbeat run` with rules.path must not exit (it did: "alert state store ... ECONNREFUSED",
 * exit 1). It keeps running on a closed loopback port, and once the real engine answers on that
 * port it ships the lines and runs the rules (issue 12, item 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEngine } from './support/engine.ts';
import { startRecorder } from './support/http-recorder.ts';
import { LogWriter, startAgent, waitFor } from './support/agent-process.ts';

/** A loopback port nobody listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The engine "appears" on `port`: a plain TCP forwarder to the real engine. */
async function forward(port: number, target: URL): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const up = connect(Number(target.port), target.hostname);
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(up).pipe(client);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

test('run with rules starts while the engine is unreachable, then ships and runs rules when it appears', { timeout: 120_000 }, async (t) => {
  const engine = await testEngine();
  const prefix = engine.prefix(t);
  const dir = mkdtempSync(join(tmpdir(), 'driftbeat-engine-late-'));
  const hook = await startRecorder();
  const port = await closedPort();
  let proxy: { close(): Promise<void> } | undefined;
  try {
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'rules'));
    new LogWriter(join(dir, 'logs', 'preds.jsonl')).write(40);
    writeFileSync(join(dir, 'rules', 'volume.yml'), `
type: volume
name: fraud-volume-late
model: fraud
window: 1h
schedule: '*/10 * * * *'
min_count: 1000000
notify: [pipeline]
`);
    const cfg = join(dir, 'driftbeat.yml');
    writeFileSync(cfg, `
inputs:
  - paths: ["${dir}/logs/*.jsonl"]
    model: { name: fraud, version_field: model_version }
    fields: { id: request_id }
output:
  elasticsearch: { hosts: ["http://127.0.0.1:${port}"], index_prefix: ${prefix}, backoff: { initial: 50ms, max: 500ms } }
path: { data: "${dir}/data" }
http: { enabled: false }
rules: { path: "${dir}/rules" }
notifiers:
  pipeline: { type: webhook, url: "${hook.url}/hook", retry: { initial_backoff: 10ms } }
`);
    const agent = startAgent(['run', '-c', cfg]);
    try {
      await waitFor(`the agent to say the state store is unreachable (output: ${agent.output()})`, () => /alert state store not reachable/.test(agent.output()), 30_000);
      // Still running after having failed to connect.
      assert.equal(agent.child.exitCode, null, agent.output());
      proxy = await forward(port, new URL(engine.url));
      await hook.waitFor(1, 60_000).catch((err: Error) => { throw new Error(`${err.message}; agent log:\n${agent.output().slice(-4000)}`); });
      assert.match(hook.requests[0]!.body, /fraud-volume-late/);
      await waitFor('the 40 lines in the engine', async () => {
        await engine.refresh(prefix);
        const r = await engine.request<{ count?: number }>('GET', `/${prefix}-predictions-fraud/_count`);
        return r.body?.count === 40;
      }, 60_000, 250);
      await engine.refresh(prefix);
      const results = await engine.request<{ hits: { hits: { _source: { rule: string; status: string } }[] } }>('GET', `/${prefix}-results/_search?q=rule:fraud-volume-late`);
      assert.ok(results.body.hits.hits.some((h) => h._source.status === 'drifted'), JSON.stringify(results.body));
    } finally {
      agent.kill('SIGTERM');
      assert.equal(await agent.exited, 0, agent.output());
    }
  } finally {
    await proxy?.close();
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
